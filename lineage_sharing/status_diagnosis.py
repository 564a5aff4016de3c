"""The pure core of `lineage-sharing status`: from what was read, each pair's state, its plain
cause and the fix.

States: `readable` (the consumer read the producer's lineage), `pending` (on its way and
expected to get there by itself: an invitation waiting for the acceptor, RAM's quota, RAM still
associating), `failing` (needs someone to act; the fix says what), `unknown` (an account could
not be checked). The live read decides `readable`; the RAM checks explain why it is not.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lineage_sharing.status_facts import (
    PENDING_INVITATION_QUOTA,
    ConsumerFacts,
    Invitation,
    ProducerFacts,
    ReadResult,
)

READABLE, PENDING, FAILING, UNKNOWN = "readable", "pending", "failing", "unknown"


@dataclass(frozen=True)
class PairStatus:
    producer: str  # "training (111111111111)"
    consumer: str
    region: str
    share_arn: str | None
    invitation: str  # the consumer's latest invitation status for the share, or "none"/"-"
    readable: bool
    detail: str  # what the read returned, or the error that stopped it ("-": no read)
    read_error: str = ""  # the read's error code, when it failed
    producer_account: str = ""
    consumer_account: str = ""
    state: str = UNKNOWN
    lineage_group_arn: str | None = None
    share_status: str = "-"
    group_association: str = "-"  # the lineage group's RESOURCE association status
    principal_association: str = "-"  # the consumer's PRINCIPAL association status
    invitation_expires: datetime | None = None
    policy_names_consumer: bool | None = None  # None: not known (no group, or not checked)
    cause: str = ""
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "producer": {"account": self.producer_account, "label": self.producer},
            "consumer": {"account": self.consumer_account, "label": self.consumer},
            "region": self.region,
            "state": self.state,
            "readable": self.readable,
            "lineage_group_arn": self.lineage_group_arn,
            "share_arn": self.share_arn,
            "share_status": self.share_status,
            "group_association": self.group_association,
            "principal_association": self.principal_association,
            "invitation": self.invitation,
            "invitation_expires": (
                self.invitation_expires.isoformat() if self.invitation_expires else None
            ),
            "policy_names_consumer": self.policy_names_consumer,
            "read": self.detail,
            "read_error": self.read_error,
            "cause": self.cause,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class PairContext:
    """Everything a diagnosis says about a pair besides what was read."""

    producer: str  # label
    consumer: str
    producer_account: str
    consumer_account: str
    region: str
    share_name: str
    producer_stack: str
    consumer_stack: str
    deploy_producer: str  # the pasteable `npx cdk deploy` of each stack
    deploy_consumer: str
    reconcile_minutes: int | None  # the producer's reconcile schedule, from its template
    sweep_minutes: int | None  # the consumer's acceptor schedule, from its template
    producer_bootstraps: bool = False  # the producer stack creates a marker context if needed
    # The share's principal that reaches the consumer: its account id (""), or in organization
    # mode the organization/OU ARN, which needs no invitation.
    principal: str = ""

    @property
    def principal_key(self) -> str:
        return self.principal or self.consumer_account

    @property
    def through_organization(self) -> bool:
        return self.principal_key != self.consumer_account


@dataclass(frozen=True)
class _Finding:
    state: str
    cause: str
    fix: str


def diagnose(
    pair: PairContext,
    producer: ProducerFacts | None,
    consumer: ConsumerFacts | None,
    read: ReadResult | None,
    *,
    producer_problem: str = "",
    consumer_problem: str = "",
) -> PairStatus:
    """One pair's status. A `*_problem` says that account could not be checked (and why)."""
    if producer_problem or consumer_problem or producer is None or consumer is None:
        who, problem = (
            (pair.producer, producer_problem)
            if producer_problem
            else (pair.consumer, consumer_problem)
        )
        cause = f"cannot check {who}: {problem or 'not checked'}"
        return _status(pair, producer, None, None, _Finding(UNKNOWN, cause, _ACCESS_FIX))
    invitation = consumer.latest_for(producer.share.arn) if producer.share else None
    finding = _ram_finding(pair, producer, invitation)
    if read is not None and read.ok:
        finding = _Finding(READABLE, "", "")
    elif finding is None:
        finding = _read_finding(pair, producer, read)
    return _status(pair, producer, invitation, read, finding)


_ACCESS_FIX = (
    "give this command credentials for that account (--profile ACCOUNT=PROFILE, --profile-pattern "
    "or --role-name) that allow the read-only status actions (README: status on real accounts)"
)


def _ram_finding(
    pair: PairContext, facts: ProducerFacts, invitation: Invitation | None
) -> _Finding | None:
    """The first RAM-side reason the consumer cannot read; None when RAM grants access."""
    p = pair.producer
    if facts.lineage_group_arn is None:
        cause = (
            f"{p} has no SageMaker lineage group in {pair.region} yet: SageMaker creates it "
            "with the account's first lineage entity, so there is nothing to share"
        )
        if pair.producer_bootstraps:
            return _Finding(
                FAILING,
                f"{cause}; {pair.producer_stack} creates one when it is deployed, so it is not "
                "(or its deployment failed)",
                f"`{pair.deploy_producer}`",
            )
        return _Finding(
            FAILING,
            cause,
            "create any lineage entity there (run a pipeline, or create a context), or set "
            f"bootstrap_lineage_group: true and run `{pair.deploy_producer}`",
        )
    share = facts.share
    if share is None:
        return _Finding(
            FAILING,
            f"{p} has no resource share named {pair.share_name!r}: {pair.producer_stack} is "
            "not deployed, or its share was deleted",
            f"`{pair.deploy_producer}`",
        )
    if share.status == "PENDING":
        return _Finding(PENDING, f"{p}'s share is still being created (PENDING)", "wait a minute")
    if share.status != "ACTIVE":
        detail = f": {share.message}" if share.message else ""
        return _Finding(
            FAILING,
            f"{p}'s share {share.arn} is {share.status}{detail}; consumers have no access",
            "deploy the producer again with any changed property (e.g. add a tag): the update "
            f"creates a new share (`{pair.deploy_producer}`)",
        )
    group = facts.group_association
    if group is None or group.status != "ASSOCIATED":
        return _group_finding(pair, facts, group)
    return _principal_finding(pair, facts, invitation) or _policy_finding(pair, facts)


def _group_finding(pair: PairContext, facts: ProducerFacts, group: Any) -> _Finding:
    p = pair.producer
    if group is None:
        return _Finding(
            FAILING,
            f"{p}'s share does not contain its lineage group {facts.lineage_group_arn}",
            f"`{pair.deploy_producer}`",
        )
    if group.status == "ASSOCIATING":
        return _Finding(PENDING, f"RAM is still adding {p}'s lineage group to the share", "wait")
    detail = f": {group.message}" if group.message else ""
    return _Finding(
        FAILING,
        f"RAM could not add {p}'s lineage group to the share ({group.status}{detail}); the "
        "share is ACTIVE but shares nothing",
        "RAM attaches the group's resource policy with the share manager role's permissions: "
        "fix what the message names (a permission the role lacks, or a quota), then run "
        f"`{pair.deploy_producer}`",
    )


def _principal_finding(
    pair: PairContext, facts: ProducerFacts, invitation: Invitation | None
) -> _Finding | None:
    p, c = pair.producer, pair.consumer
    association = facts.principals.get(pair.principal_key)
    status = association.status if association else None
    if status == "ASSOCIATED":
        return None
    if pair.through_organization:
        detail = f": {association.message}" if association and association.message else ""
        return _Finding(
            FAILING if status not in ("ASSOCIATING",) else PENDING,
            f"{p}'s share reaches {c} through {pair.principal}, whose association is "
            f"{status or 'missing'}{detail} (no invitation is involved)",
            "RAM refuses organization and OU principals until the management account has "
            "enabled sharing with AWS Organizations: deploy its stack first (`lineage-sharing "
            f"plan` lists it), then `{pair.deploy_producer}`",
        )
    decided = invitation.status if invitation else None
    if decided == "REJECTED":
        return _Finding(
            FAILING,
            f"{c} rejected {p}'s invitation (sent {_when(invitation.sent)}); a rejected "
            "invitation cannot be accepted",
            f"the producer must share again: its reconcile schedule re-invites {c} "
            f"({_every(pair.reconcile_minutes)}); if the rejection was meant, remove the pair "
            "from the config and deploy both stacks",
        )
    if decided == "EXPIRED":
        return _Finding(
            FAILING,
            f"{p}'s invitation to {c} expired unanswered at {_when(invitation.expires)} "
            "(12 hours after it was sent)",
            f"{p}'s reconcile schedule sends a new one ({_every(pair.reconcile_minutes)}); make "
            f"sure {pair.consumer_stack} is deployed so its acceptor takes it "
            f"(`{pair.deploy_consumer}`)",
        )
    if status == "ASSOCIATING":
        return _invitation_finding(pair, invitation)
    if status in (None, "DISASSOCIATED"):
        if facts.pending_invitations >= PENDING_INVITATION_QUOTA:
            return _Finding(
                PENDING,
                f"held back by RAM's quota: {p} has {facts.pending_invitations} invitations "
                f"pending (RAM allows {PENDING_INVITATION_QUOTA} per sharing account), so {c} "
                "is not invited yet",
                f"none needed: {p}'s reconcile schedule invites {c} as consumers accept "
                f"({_every(pair.reconcile_minutes)}); deploy the consumers that have not "
                "accepted yet (`lineage-sharing plan` lists them)",
            )
        return _Finding(
            FAILING,
            f"{p}'s share does not include {c}: {pair.producer_stack} was deployed from a "
            "config without this pair, or the principal was removed",
            f"`{pair.deploy_producer}`",
        )
    detail = f": {association.message}" if association and association.message else ""
    return _Finding(
        FAILING,
        f"RAM's association of {c} with {p}'s share is {status}{detail}",
        f"{p}'s reconcile schedule associates {c} again ({_every(pair.reconcile_minutes)}); "
        "if it keeps failing, the message says why",
    )


def _invitation_finding(pair: PairContext, invitation: Invitation | None) -> _Finding:
    p, c = pair.producer, pair.consumer
    if invitation is None:
        return _Finding(
            FAILING,
            f"RAM lists {c} as invited (ASSOCIATING) but {c} has no invitation for the share",
            f"{p}'s reconcile schedule ({_every(pair.reconcile_minutes)}) sends a new "
            "invitation once 12 hours have passed since the association began",
        )
    if invitation.status == "ACCEPTED":
        return _Finding(PENDING, f"{c} accepted; RAM is finishing the association", "wait")
    return _Finding(
        PENDING,
        f"{p}'s invitation to {c} is pending since {_when(invitation.sent)} and expires at "
        f"{_when(invitation.expires)}: {c}'s acceptor takes it on its next run (RAM's event, "
        f"or its schedule {_every(pair.sweep_minutes)})",
        f"if it stays pending, deploy {pair.consumer_stack} (`{pair.deploy_consumer}`); its "
        f"acceptor's allow-list (its allowed-producer-accounts SSM parameters) must list "
        f"{pair.producer_account}",
    )


def _policy_finding(pair: PairContext, facts: ProducerFacts) -> _Finding | None:
    # An organization or OU principal: RAM writes Principal "*" with an organization condition.
    if (pair.through_organization and facts.policy_org_wide) or (
        facts.policy_accounts is not None and pair.consumer_account in facts.policy_accounts
    ):
        return None
    missing = (
        "has no resource policy"
        if facts.policy_accounts is None
        else f"has a resource policy that does not name {pair.consumer_account}"
    )
    share = facts.share.arn if facts.share else ""
    commands = "; then ".join(
        f"`{shlex.join(['aws', 'ram', verb, '--resource-share-arn', share])} "
        f"--principals {pair.consumer_account} --region {pair.region}`"
        for verb in ("disassociate-resource-share", "associate-resource-share")
    )
    return _Finding(
        FAILING,
        f"RAM reports {pair.consumer} associated, but {pair.producer}'s lineage group {missing}",
        f"associate {pair.consumer} again, with {pair.producer}'s credentials: {commands} "
        "(a new invitation follows; the acceptor takes it)",
    )


def _read_finding(pair: PairContext, facts: ProducerFacts, read: ReadResult | None) -> _Finding:
    if read is None:
        return _Finding(
            FAILING,
            f"RAM grants access, but {pair.producer} has no lineage context to read, so the "
            "read cannot be proven",
            "create one (a pipeline run creates contexts), or set bootstrap_lineage_group: true "
            f"and run `{pair.deploy_producer}` (it creates a marker context)",
        )
    if read.assume_failed:
        return _Finding(
            FAILING,
            f"RAM grants access, but the check {read.detail}",
            f"let the identity this check runs as in {pair.consumer} assume it: name it (or "
            f"its account) in the consumer's query_role.assumable_by and run "
            f"`{pair.deploy_consumer}`, and allow it sts:AssumeRole on the role; or check "
            "without --read-as-query-role",
        )
    if "AccessDenied" in read.error_code and read.as_role:
        return _Finding(
            FAILING,
            f"RAM grants access, but the query role was denied: {read.detail}",
            f"the query role holds the read for the configured producers only: check that "
            f"{pair.producer} is one of {pair.consumer}'s producers in the config and run "
            f"`{pair.deploy_consumer}`; nothing outside the stack may deny it (SCP, boundary)",
        )
    if "AccessDenied" in read.error_code and pair.through_organization:
        return _Finding(
            FAILING,
            f"RAM shares {pair.producer}'s lineage with {pair.principal}, but the read was "
            f"denied: {read.detail}",
            f"check that {pair.consumer} is in {pair.principal} (an account that left the OU "
            "or organization loses access), or mark it outside_organization in the config; "
            f"the identity this check runs as in {pair.consumer} also needs "
            "sagemaker:DescribeContext and sagemaker:QueryLineage on the producer's ARNs",
        )
    if "AccessDenied" in read.error_code:
        return _Finding(
            FAILING,
            f"RAM grants access, but the read was denied: {read.detail}",
            f"RAM grants only the resource side: the identity this check runs as in "
            f"{pair.consumer} needs sagemaker:DescribeContext and sagemaker:QueryLineage on "
            f"{pair.producer_account}'s lineage ARNs",
        )
    return _Finding(FAILING, f"RAM grants access, but the read failed: {read.detail}", "retry")


def _status(
    pair: PairContext,
    facts: ProducerFacts | None,
    invitation: Invitation | None,
    read: ReadResult | None,
    finding: _Finding,
) -> PairStatus:
    share = facts.share if facts else None
    principal = facts.principals.get(pair.principal_key) if facts else None
    policy = None
    if facts is not None and facts.lineage_group_arn is not None:
        policy = (pair.through_organization and facts.policy_org_wide) or (
            pair.consumer_account in (facts.policy_accounts or ())
        )
    return PairStatus(
        producer=pair.producer,
        consumer=pair.consumer,
        region=pair.region,
        share_arn=share.arn if share else None,
        invitation=invitation.status if invitation else ("none" if facts else "-"),
        readable=finding.state == READABLE,
        detail=read.detail if read else "-",
        read_error=read.error_code if read else "",
        producer_account=pair.producer_account,
        consumer_account=pair.consumer_account,
        state=finding.state,
        lineage_group_arn=facts.lineage_group_arn if facts else None,
        share_status=share.status if share else "-",
        group_association=(
            facts.group_association.status if facts and facts.group_association else "-"
        ),
        principal_association=principal.status if principal else "-",
        invitation_expires=(
            invitation.expires if invitation and invitation.status == "PENDING" else None
        ),
        policy_names_consumer=policy,
        cause=finding.cause,
        fix=finding.fix,
    )


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _every(minutes: int | None) -> str:
    return f"every {minutes} minutes" if minutes else "on its schedule"
