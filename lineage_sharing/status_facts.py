"""What the status checks read from AWS: the thin boto3 edge of `lineage-sharing status`.

Per producer (account, region): its own default lineage group, the share by name, the share's
RESOURCE association of the group and its PRINCIPAL associations, how many invitations the
account has pending (RAM's quota), which accounts the group's resource policy names, and one
lineage context to read. Per consumer: the invitations it received. Per pair: the consumer's
live read of the producer's context, as the status identity or as the consumer's query role.
Nothing here decides anything (status_diagnosis does); every call is a read, listed with its
IAM action in STATUS_READ_ACTIONS (and QUERY_ROLE_READ_ACTION).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

# RAM's default quota of pending invitations per sharing account (FACTS.md), and their lifetime.
PENDING_INVITATION_QUOTA = 20
INVITATION_LIFETIME = timedelta(hours=12)
_LONG_AGO = datetime.min.replace(tzinfo=UTC)  # sorts records without a timestamp first

# Every IAM action the status checks need, in each account (README: status on real accounts).
STATUS_READ_ACTIONS = (
    "ram:GetResourceShareAssociations",
    "ram:GetResourceShareInvitations",
    "ram:GetResourceShares",
    "sagemaker:DescribeContext",
    "sagemaker:GetLineageGroupPolicy",
    "sagemaker:ListContexts",
    "sagemaker:ListLineageGroups",
    "sagemaker:QueryLineage",
)
# With --read-as-query-role, in each consumer account that has one (README).
QUERY_ROLE_READ_ACTION = "sts:AssumeRole"
QUERY_SESSION_NAME = "lineage-sharing-status"
# (service, region, AssumeRole's Credentials) -> a client acting with them
CredentialClients = Callable[[str, str, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Association:
    """One RAM association (of a principal or a resource with the share)."""

    entity: str
    status: str
    message: str = ""
    updated: datetime | None = None


@dataclass(frozen=True)
class Share:
    arn: str
    status: str
    message: str = ""


@dataclass(frozen=True)
class ProducerFacts:
    lineage_group_arn: str | None
    share: Share | None
    group_association: Association | None  # the lineage group's RESOURCE association
    principals: Mapping[str, Association] = field(default_factory=dict)  # by account id
    pending_invitations: int = 0  # across the account's shares, for RAM's quota
    policy_accounts: frozenset[str] | None = None  # None: the group has no resource policy
    policy_org_wide: bool = False  # a statement for an organization path (Principal "*")
    probe_arn: str | None = None  # one of the producer's contexts, for the live read


@dataclass(frozen=True)
class Invitation:
    arn: str
    share_arn: str
    sender: str
    status: str
    sent: datetime

    @property
    def expires(self) -> datetime:
        return self.sent + INVITATION_LIFETIME


@dataclass(frozen=True)
class ConsumerFacts:
    invitations: tuple[Invitation, ...]

    def latest_for(self, share_arn: str) -> Invitation | None:
        found = [i for i in self.invitations if i.share_arn == share_arn]
        return max(found, key=lambda i: i.sent) if found else None


@dataclass(frozen=True)
class ReadResult:
    ok: bool
    detail: str  # what the read returned, or the error that stopped it
    error_code: str = ""
    # The consumer's query role the read went through (--read-as-query-role), if any.
    as_role: str = ""
    # The role could not be assumed: the read never started.
    assume_failed: bool = False


# ---------------------------------------------------------------------------- producer side
def read_producer(
    ram: Any, sagemaker: Any, *, account: str, share_name: str, now: datetime
) -> ProducerFacts:
    group = _own_lineage_group(sagemaker, account)
    share = _share_named(ram, share_name)
    group_association = None
    principals: dict[str, Association] = {}
    if share is not None:
        resources = _associations(ram, "RESOURCE", share_arns=[share.arn])
        group_association = _pick_group_association(resources, group)
        principals = _latest_by_entity(_associations(ram, "PRINCIPAL", share_arns=[share.arn]))
    policy_accounts, org_wide = (None, False)
    if group is not None:
        policy_accounts, org_wide = _policy_principals(sagemaker, group)
    return ProducerFacts(
        lineage_group_arn=group,
        share=share,
        group_association=group_association,
        principals=principals,
        pending_invitations=_pending_invitations(ram, now),
        policy_accounts=policy_accounts,
        policy_org_wide=org_wide,
        probe_arn=_probe_context(sagemaker),
    )


def _own_lineage_group(sagemaker: Any, account: str) -> str | None:
    """ListLineageGroups also lists groups shared *to* the account: pick by the ARN's account."""
    for page in sagemaker.get_paginator("list_lineage_groups").paginate():
        for group in page.get("LineageGroupSummaries", []):
            arn = group.get("LineageGroupArn", "")
            if arn.split(":")[4:5] == [account]:
                return arn
    return None


def _share_named(ram: Any, share_name: str) -> Share | None:
    """The account's share of that name: an ACTIVE one, else the most recently changed."""
    shares = [
        share
        for page in ram.get_paginator("get_resource_shares").paginate(
            resourceOwner="SELF", name=share_name
        )
        for share in page.get("resourceShares", [])
    ]
    if not shares:
        return None
    active = [s for s in shares if s.get("status") == "ACTIVE"]
    chosen = (active or sorted(shares, key=_last_updated))[-1]
    return Share(chosen["resourceShareArn"], chosen["status"], chosen.get("statusMessage", ""))


def _associations(ram: Any, association_type: str, **filters: Any) -> list[Association]:
    params: dict[str, Any] = {"associationType": association_type}
    if "share_arns" in filters:
        params["resourceShareArns"] = filters["share_arns"]
    if "status" in filters:
        params["associationStatus"] = filters["status"]
    return [
        Association(
            entity=row["associatedEntity"],
            status=row["status"],
            message=row.get("statusMessage", ""),
            updated=row.get("lastUpdatedTime") or row.get("creationTime"),
        )
        for page in ram.get_paginator("get_resource_share_associations").paginate(**params)
        for row in page.get("resourceShareAssociations", [])
    ]


def _pick_group_association(
    resources: list[Association], group_arn: str | None
) -> Association | None:
    lineage = [a for a in resources if ":lineage-group/" in a.entity]
    own = [a for a in lineage if a.entity == group_arn] or lineage
    return max(own, key=lambda a: a.updated or _LONG_AGO) if own else None


def _latest_by_entity(associations: Iterable[Association]) -> dict[str, Association]:
    latest: dict[str, Association] = {}
    for association in associations:
        current = latest.get(association.entity)
        if current is None or (association.updated or _LONG_AGO) >= (current.updated or _LONG_AGO):
            latest[association.entity] = association
    return latest


def _pending_invitations(ram: Any, now: datetime) -> int:
    """Account principals still ASSOCIATING with an invitation younger than 12 h, over all of
    the account's shares: what counts against RAM's pending-invitation quota."""
    return sum(
        1
        for a in _associations(ram, "PRINCIPAL", status="ASSOCIATING")
        if a.entity.isdigit() and (a.updated is None or now < a.updated + INVITATION_LIFETIME)
    )


def _policy_principals(sagemaker: Any, group_arn: str) -> tuple[frozenset[str] | None, bool]:
    """Accounts the group's resource policy (written by RAM) names; None when it has none."""
    try:
        policy = sagemaker.get_lineage_group_policy(LineageGroupName=group_arn)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code", "").startswith("ResourceNotFound"):
            return None, False
        raise
    document = json.loads(policy.get("ResourcePolicy") or "{}")
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    accounts: set[str] = set()
    org_wide = False
    for statement in statements:
        if statement.get("Effect", "Allow") != "Allow":
            continue
        principal = statement.get("Principal", {})
        values = principal.get("AWS", []) if isinstance(principal, dict) else principal
        for value in [values] if isinstance(values, str) else values:
            if value == "*":
                org_wide = True
            elif value.isdigit():
                accounts.add(value)
            elif value.startswith("arn:") and len(value.split(":")) > 4:
                accounts.add(value.split(":")[4])  # arn:aws:iam::123456789012:root
    return frozenset(accounts), org_wide


def _probe_context(sagemaker: Any) -> str | None:
    """One of the producer's own contexts (ListContexts lists only the caller's account)."""
    page = sagemaker.list_contexts(SortBy="CreationTime", SortOrder="Ascending", MaxResults=1)
    contexts = page.get("ContextSummaries", [])
    return contexts[0]["ContextArn"] if contexts else None


def _last_updated(share: Mapping[str, Any]) -> datetime:
    return share.get("lastUpdatedTime") or share.get("creationTime") or _LONG_AGO


# ---------------------------------------------------------------------------- consumer side
def read_consumer(ram: Any) -> ConsumerFacts:
    """Every invitation the consumer received here (RAM lists only received ones)."""
    return ConsumerFacts(
        tuple(
            Invitation(
                arn=row["resourceShareInvitationArn"],
                share_arn=row.get("resourceShareArn", ""),
                sender=row.get("senderAccountId", ""),
                status=row["status"],
                sent=row["invitationTimestamp"],
            )
            for page in ram.get_paginator("get_resource_share_invitations").paginate()
            for row in page.get("resourceShareInvitations", [])
        )
    )


def read_lineage_as(
    sts: Any, role_arn: str, clients: CredentialClients, region: str, context_arn: str
) -> ReadResult:
    """The same read, as the consumer's query role: proves what its people can read."""
    try:
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=QUERY_SESSION_NAME)[
            "Credentials"
        ]
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        return ReadResult(
            False,
            f"cannot assume {role_arn} ({code}: {details.get('Message', '')})",
            code,
            as_role=role_arn,
            assume_failed=True,
        )
    read = read_lineage(clients("sagemaker", region, credentials), context_arn)
    return replace(read, detail=f"as {role_arn.rsplit('/', 1)[1]}: {read.detail}", as_role=role_arn)


def read_lineage(sagemaker: Any, context_arn: str) -> ReadResult:
    """The seed notebook's proof: DescribeContext by full ARN, then one hop of QueryLineage."""
    try:
        context = sagemaker.describe_context(ContextName=context_arn)
        lineage = sagemaker.query_lineage(
            StartArns=[context_arn], Direction="Both", IncludeEdges=True, MaxDepth=1
        )
    except ClientError as error:
        details = error.response.get("Error", {})
        code = details.get("Code", "")
        return ReadResult(False, f"{code} on {context_arn}: {details.get('Message', '')}", code)
    vertices = len(lineage.get("Vertices", []))
    return ReadResult(
        True, f"DescribeContext {context['ContextName']}; QueryLineage {vertices} vertices"
    )
