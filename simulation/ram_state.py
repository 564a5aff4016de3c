"""AWS RAM's records and what they imply, for the operations in simulation.ram_fake.

Top down: the records a share is made of (ResourceShare, Association, Invitation) with their
lifetimes (a Lifecycle reads the statuses RAM moves on by itself, e.g. DISASSOCIATING, from the
clock); ShareRecords, the store of them that answers who gets which resource, which record
a caller may act on (with RAM's not-found and state errors) and how a principal would join a
share; the RAM resource types of ARNs; then the pure helpers that turn
requests and records into API shapes (filters, tags, views, tokens).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulation.fake_service import Arn, Caller, Params, Response, ServiceError, tag_context
from simulation.organizations import Organization, Organizations

INVITATION_LIFETIME = timedelta(hours=12)
DELETED_SHARE_VISIBILITY = timedelta(hours=2)
PENDING_INVITATIONS_PER_SENDER = 20
LINEAGE_GROUP_RESOURCE_TYPE = "sagemaker:LineageGroup"
# The owning service's permission-only actions RAM needs of the caller to attach, change and
# remove a lineage group's resource policy (IAM Service Authorization Reference; RAM's
# troubleshooting guide: "you need resourceOwningService:PutPolicyAction").
CREATE_LINEAGE_GROUP_POLICY = "sagemaker:CreateLineageGroupPolicy"
PUT_LINEAGE_GROUP_POLICY = "sagemaker:PutLineageGroupPolicy"
DELETE_LINEAGE_GROUP_POLICY = "sagemaker:DeleteLineageGroupPolicy"
LINEAGE_GROUP_POLICY_ACTIONS = (
    CREATE_LINEAGE_GROUP_POLICY,
    PUT_LINEAGE_GROUP_POLICY,
    DELETE_LINEAGE_GROUP_POLICY,
)
# RAM operations that change who a shared lineage group's resource policy names: RAM needs one
# of the three actions above of their caller (which one depends on the change).
LINEAGE_GROUP_POLICY_CHANGING_OPERATIONS = frozenset(
    {
        "CreateResourceShare",
        "AssociateResourceShare",
        "DisassociateResourceShare",
        "DeleteResourceShare",
    }
)
# Principal association statuses that the group's RAM-made policy names (see
# ShareRecords.lineage_policy_principals).
POLICY_PRINCIPAL_STATUSES = frozenset({"ASSOCIATING", "ASSOCIATED"})
# Principal associations an AssociateResourceShare starts afresh (see plan_principals).
RESTARTABLE_PRINCIPAL_STATUSES = frozenset({"FAILED", "SUSPENDED"})
# (service, ARN resource type) -> RAM resource type, for resources other than lineage groups
# that scenarios share (a mistake or an attack: never what the acceptor should accept).
OTHER_RESOURCE_TYPES = {("ec2", "subnet"): "ec2:Subnet", ("glue", "database"): "glue:Database"}


# ============================================================================ records
@dataclass(frozen=True)
class Lifecycle:
    """A record's status as the last call set it, at `since`.

    A transitional status (DISASSOCIATING, DELETING) settles by itself into `settles_into` at
    `settles_at`; it is read from the clock when asked for, so nothing runs in the background.
    """

    status: str
    since: datetime
    left: str = ""  # the status before this one, e.g. whether DISASSOCIATING left ASSOCIATED
    settles_into: str = ""
    settles_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        return self.settles_into if self._settled(now) else self.status

    def updated_at(self, now: datetime) -> datetime:
        return self.settles_at if self._settled(now) and self.settles_at else self.since

    def in_transition(self, now: datetime) -> bool:
        return self.settles_at is not None and not self._settled(now)

    def changed(self, status: str, now: datetime) -> Lifecycle:
        return Lifecycle(status, now, left=self.status_at(now))

    def changing(self, status: str, into: str, now: datetime, delay: timedelta) -> Lifecycle:
        """Into `status` now, and by itself into `into` once `delay` has passed (0: at once)."""
        return Lifecycle(
            status, now, left=self.status_at(now), settles_into=into, settles_at=now + delay
        )

    def _settled(self, now: datetime) -> bool:
        return self.settles_at is not None and now >= self.settles_at


@dataclass
class ResourceShare:
    arn: str
    name: str
    owner: str
    region: str
    allow_external_principals: bool
    tags: dict[str, str]
    created: datetime
    updated: datetime  # the last change of name, flag or tags; the status has its own time
    lifecycle: Lifecycle
    status_message: str = ""

    def status(self, now: datetime) -> str:
        return self.lifecycle.status_at(now)

    def last_updated(self, now: datetime) -> datetime:
        return max(self.updated, self.lifecycle.updated_at(now))

    def visible_to_owner(self, account: str, region: str, now: datetime) -> bool:
        """Owned by the account here, and not deleted long enough ago to drop from listings."""
        if self.owner != account or self.region != region:
            return False
        if self.status(now) != "DELETED":
            return True
        return now < self.lifecycle.updated_at(now) + DELETED_SHARE_VISIBILITY


@dataclass
class Association:
    share_arn: str
    entity: str  # a principal (account id, organization or OU ARN) or a resource ARN
    type: str  # PRINCIPAL | RESOURCE
    external: bool
    created: datetime
    lifecycle: Lifecycle
    status_message: str = ""

    def status(self, now: datetime) -> str:
        return self.lifecycle.status_at(now)

    def last_updated(self, now: datetime) -> datetime:
        return self.lifecycle.updated_at(now)

    def is_live(self, now: datetime) -> bool:
        return self.status(now) != "DISASSOCIATED"

    def holds_access(self, now: datetime) -> bool:
        """ASSOCIATED, or DISASSOCIATING away from ASSOCIATED.

        Inference: RAM documents DISASSOCIATING as in progress, not when access ends; the fake
        keeps the principal's (or resource's) access until RAM reports DISASSOCIATED, so code
        under test cannot assume access ends when DisassociateResourceShare returns.
        """
        status = self.status(now)
        return status == "ASSOCIATED" or (
            status == "DISASSOCIATING" and self.lifecycle.left == "ASSOCIATED"
        )


@dataclass
class Invitation:
    arn: str
    share_arn: str
    sender: str
    receiver: str
    region: str
    created: datetime
    decision: str = "PENDING"  # PENDING | ACCEPTED | REJECTED
    # The owner disassociated the principal or deleted the share before an answer.
    withdrawn: bool = False

    def status(self, now: datetime) -> str:
        if self.decision == "PENDING" and now >= self.created + INVITATION_LIFETIME:
            return "EXPIRED"
        return self.decision


@dataclass
class PrincipalPlan:
    """How a principal joins a share: its association status, and whether it is invited."""

    principal: str
    status: str
    external: bool
    needs_invitation: bool
    accounts: frozenset[str] = field(default_factory=frozenset)


# ============================================================================ the store
@dataclass
class ShareRecords:
    """Every share, association and invitation of a world, and the answers they give."""

    organizations: Organizations
    shares: dict[str, ResourceShare] = field(default_factory=dict)
    associations: list[Association] = field(default_factory=list)
    invitations: dict[str, Invitation] = field(default_factory=dict)

    # ------------------------------------------------------------------ who gets what
    def grants_access(self, resource_arn: str, account: str, now: datetime) -> bool:
        return any(
            account in self.accounts_with_access(share, now)
            for share in self.active_shares_of_resource(resource_arn, now)
        )

    def principals_granted(self, resource_arn: str, now: datetime) -> list[str]:
        principals = {
            association.entity
            for share in self.active_shares_of_resource(resource_arn, now)
            for association in self.principal_associations(share)
            if association.holds_access(now)
        }
        return sorted(principals)

    def resources_shared_with(self, account: str, region: str, now: datetime) -> list[str]:
        arns = {
            association.entity
            for share in self.shares.values()
            if share.status(now) == "ACTIVE" and share.region == region and share.owner != account
            if account in self.accounts_with_access(share, now)
            for association in self.resource_associations(share)
            if association.holds_access(now)
        }
        return sorted(arns)

    def accounts_of_principal(self, share: ResourceShare, principal: str) -> frozenset[str]:
        if principal.isdigit():
            return frozenset({principal})
        organization = self.organizations.of_account(share.owner)
        return organization.accounts_of(principal) if organization else frozenset()

    def accounts_with_access(self, share: ResourceShare, now: datetime) -> frozenset[str]:
        organization: Organization | None = self.organizations.of_account(share.owner)
        accounts: set[str] = set()
        for association in self.principal_associations(share):
            if not association.holds_access(now):
                continue
            if association.entity.isdigit():
                accounts.add(association.entity)
            elif organization is not None and organization.ram_sharing_enabled:
                accounts |= organization.accounts_of(association.entity)
        return frozenset(accounts)

    def active_shares_of_resource(
        self, resource_arn: str, now: datetime
    ) -> Iterable[ResourceShare]:
        # Inference: deleting a share revokes its access at once (DELETING), unlike
        # disassociating one principal: a deletion is meant to stop all sharing.
        for share in self.shares.values():
            if share.status(now) == "ACTIVE" and any(
                a.entity == resource_arn and a.holds_access(now)
                for a in self.resource_associations(share)
            ):
                yield share

    def lineage_policy_principals(
        self,
        group_arn: str,
        now: datetime,
        changed: Mapping[str, frozenset[str]] | None = None,
    ) -> frozenset[str]:
        """The principals the lineage group's RAM-made resource policy names.

        Inference: RAM keeps one policy per group naming the principals of every ACTIVE share
        that holds the group, from the moment a principal is associated (ASSOCIATING) until it
        is disassociated; SageMaker still lets a principal in only once RAM reports it
        ASSOCIATED. `changed` gives the principal sets some shares would have after a call
        (a share being created is not in the store yet).
        """
        changed = dict(changed or {})
        principals: set[str] = set()
        for share in self.shares.values():
            if share.arn in changed:
                principals |= changed.pop(share.arn)
            elif share.status(now) == "ACTIVE" and self.holds_resource(share, group_arn, now):
                principals |= self.policy_principals_of(share, now)
        for remaining in changed.values():
            principals |= remaining
        return frozenset(principals)

    def policy_principals_of(self, share: ResourceShare, now: datetime) -> frozenset[str]:
        return frozenset(
            a.entity
            for a in self.principal_associations(share)
            if a.status(now) in POLICY_PRINCIPAL_STATUSES
        )

    def holds_resource(self, share: ResourceShare, resource_arn: str, now: datetime) -> bool:
        return any(
            a.entity == resource_arn and a.status(now) in ("ASSOCIATING", "ASSOCIATED")
            for a in self.resource_associations(share)
        )

    def lineage_groups_of(self, share: ResourceShare, now: datetime) -> list[str]:
        return [
            a.entity
            for a in self.resource_associations(share)
            if resource_type(a.entity) == LINEAGE_GROUP_RESOURCE_TYPE and a.is_live(now)
        ]

    # ------------------------------------------------------------------ what a caller acts on
    def owned_share(self, caller: Caller, arn: str, now: datetime) -> ResourceShare:
        require_arn(arn)
        share = self.shares.get(arn)
        # Inference: a deleted share (still listed) is as unknown to changes as a missing one.
        if (
            share is None
            or share.owner != caller.account
            or share.region != caller.region
            or share.status(now) == "DELETED"
        ):
            raise ServiceError(
                "UnknownResourceException", f"ResourceShare {arn} could not be found."
            )
        return share

    def share_to_disassociate(self, caller: Caller, arn: str, now: datetime) -> ResourceShare:
        share = self.shares.get(arn)
        is_receiver = (
            share is not None
            and share.owner != caller.account
            and share.region == caller.region
            and caller.account in self.accounts_with_access(share, now)
        )
        if share is not None and is_receiver:
            # FACTS: a consumer cannot leave a lineage-group share itself.
            raise ServiceError(
                "OperationNotPermittedException",
                f"You cannot leave resource share {share.arn}: it contains resources of a type that can't be left.",
            )
        return self.owned_share(caller, arn, now)

    def shares_received_by(self, caller: Caller, now: datetime) -> list[ResourceShare]:
        # Inference: shares from other accounts are listed while the caller has access.
        return [
            s
            for s in self.shares.values()
            if s.status(now) == "ACTIVE"
            and s.region == caller.region
            and s.owner != caller.account
            and caller.account in self.accounts_with_access(s, now)
        ]

    def association_visible(
        self, caller: Caller, share: ResourceShare, association: Association, now: datetime
    ) -> bool:
        if share.region != caller.region:
            return False
        if share.owner == caller.account:
            return share.visible_to_owner(caller.account, caller.region, now)
        # Inference: a receiver sees its own principal association.
        return association.entity == caller.account

    def answerable_invitation(self, caller: Caller, arn: str, now: datetime) -> Invitation:
        invitation = self.received_invitation(caller, arn)
        status = invitation.status(now)
        if status == "ACCEPTED":
            raise ServiceError(
                "ResourceShareInvitationAlreadyAcceptedException",
                f"ResourceShareInvitation {arn} has already been accepted.",
            )
        if status == "REJECTED":
            raise ServiceError(
                "ResourceShareInvitationAlreadyRejectedException",
                f"ResourceShareInvitation {arn} has already been rejected.",
            )
        if status == "EXPIRED":
            raise ServiceError(
                "ResourceShareInvitationExpiredException",
                f"ResourceShareInvitation {arn} has expired.",
            )
        return invitation

    def received_invitation(self, caller: Caller, arn: str) -> Invitation:
        parsed = require_arn(arn)
        invitation = self.invitations.get(arn)
        # Inference: an invitation someone else received looks the same as none at all.
        if (
            invitation is None
            or invitation.withdrawn
            or invitation.receiver != caller.account
            or parsed.region != caller.region
        ):
            raise ServiceError(
                "ResourceShareInvitationArnNotFoundException",
                f"ResourceShareInvitation {arn} could not be found.",
            )
        return invitation

    # ------------------------------------------------------------------ associations
    def associations_of(self, share: ResourceShare) -> list[Association]:
        return [a for a in self.associations if a.share_arn == share.arn]

    def live_associations(self, share: ResourceShare, now: datetime) -> list[Association]:
        return [a for a in self.associations_of(share) if a.is_live(now)]

    def refuse_entities_in_transition(
        self, share: ResourceShare, entities: Iterable[str], now: datetime
    ) -> None:
        """RAM refuses to change an association it is still changing (e.g. DISASSOCIATING)."""
        wanted = set(entities)
        for association in self.live_associations(share, now):
            if association.entity in wanted and association.lifecycle.in_transition(now):
                raise ServiceError(
                    "InvalidStateTransitionException",
                    f"{association.entity} is {association.status(now)} in resource share "
                    f"{share.arn}; try again once it is {association.lifecycle.settles_into}.",
                )

    def principal_associations(self, share: ResourceShare) -> list[Association]:
        return [a for a in self.associations_of(share) if a.type == "PRINCIPAL"]

    def resource_associations(self, share: ResourceShare) -> list[Association]:
        return [a for a in self.associations_of(share) if a.type == "RESOURCE"]

    # ------------------------------------------------------------------ joining a share
    def plan_principals(
        self, share: ResourceShare, principals: list[str], now: datetime
    ) -> list[PrincipalPlan]:
        """Check every principal before anything changes, so a refused call changes nothing.

        Inference: RAM documents no rule for associating a FAILED or SUSPENDED principal again;
        the fake starts a fresh association (and invitation) for it, as for a new principal.
        """
        live = {
            a.entity
            for a in self.live_associations(share, now)
            if not (a.type == "PRINCIPAL" and a.status(now) in RESTARTABLE_PRINCIPAL_STATUSES)
        }
        plans = [self._plan_principal(share, p) for p in dict.fromkeys(principals) if p not in live]
        invitations = sum(plan.needs_invitation for plan in plans)
        pending = sum(
            1
            for i in self.invitations.values()
            if i.sender == share.owner
            and i.region == share.region
            and not i.withdrawn
            and i.status(now) == "PENDING"
        )
        if invitations and pending + invitations > PENDING_INVITATIONS_PER_SENDER:
            raise ServiceError(
                "ResourceShareLimitExceededException",
                f"Account {share.owner} would exceed {PENDING_INVITATIONS_PER_SENDER} pending invitations.",
            )
        return plans

    def _plan_principal(self, share: ResourceShare, principal: str) -> PrincipalPlan:
        owner_org = self.organizations.of_account(share.owner)
        if principal.isdigit() and len(principal) == 12:
            if principal == share.owner:
                # RAM user guide ("Using shared resources"): sharing with the owning account
                # gives access without an invitation.
                return PrincipalPlan(principal, "ASSOCIATED", False, False, frozenset({principal}))
            in_org = owner_org is not None and principal in owner_org.accounts
            if not in_org and not share.allow_external_principals:
                raise ServiceError(
                    "OperationNotPermittedException",
                    f"Resource share {share.arn} does not allow external principals, and {principal} is outside your organization.",
                )
            if in_org and owner_org is not None and owner_org.ram_sharing_enabled:
                return PrincipalPlan(principal, "ASSOCIATED", False, False, frozenset({principal}))
            return PrincipalPlan(principal, "ASSOCIATING", not in_org, True, frozenset({principal}))
        parsed = Arn.parse(principal)
        if parsed is None:
            raise ServiceError(
                "MalformedArnException",
                f"The principal {principal} is neither an account ID nor an ARN.",
            )
        if parsed.service != "organizations":
            raise NotImplementedError(
                f"sharing with principal {principal} (only accounts, organizations and OUs are modelled)"
            )
        organization = self.organizations.by_principal(principal)
        if organization is None or organization is not owner_org:
            raise ServiceError(
                "UnknownResourceException",
                f"Organization principal {principal} could not be found in your organization.",
            )
        if not organization.ram_sharing_enabled:
            raise ServiceError(
                "OperationNotPermittedException",
                "Sharing with your organization is not enabled; call EnableSharingWithAwsOrganization from the management account.",
            )
        return PrincipalPlan(
            principal, "ASSOCIATED", False, False, organization.accounts_of(principal)
        )

    def drop_restartable(self, share: ResourceShare, principal: str, now: datetime) -> None:
        """Forget a FAILED or SUSPENDED association that is being started afresh."""
        self.associations = [
            a
            for a in self.associations
            if not (
                a.share_arn == share.arn
                and a.entity == principal
                and a.type == "PRINCIPAL"
                and a.status(now) in RESTARTABLE_PRINCIPAL_STATUSES
            )
        ]

    def withdraw_invitations(self, share: ResourceShare, receiver: str | None = None) -> None:
        # Inference: an unanswered invitation disappears when its principal is disassociated.
        for invitation in self.invitations.values():
            same_share = invitation.share_arn == share.arn and invitation.decision == "PENDING"
            if same_share and receiver in (None, invitation.receiver):
                invitation.withdrawn = True


# ============================================================================ resource types
def resource_type(arn: str) -> str | None:
    """The RAM resource type of a shareable ARN; None for a resource RAM here cannot share."""
    parsed = Arn.parse(arn)
    if parsed is None:
        return None
    if parsed.service == "sagemaker" and parsed.resource_type == "lineage-group":
        return LINEAGE_GROUP_RESOURCE_TYPE
    return OTHER_RESOURCE_TYPES.get((parsed.service, parsed.resource_type))


def lineage_policy_action(before: frozenset[str], after: frozenset[str]) -> str | None:
    """The owning-service action a change of the group's policy from `before` to `after` needs.

    Inference: the Service Authorization Reference names the three actions but not which call
    needs which; the fake reads them literally (a first policy is created, a changed one put, an
    emptied one deleted). The app grants all three, so it works whichever RAM really checks.
    """
    if before == after:
        return None
    if not before:
        return CREATE_LINEAGE_GROUP_POLICY
    if not after:
        return DELETE_LINEAGE_GROUP_POLICY
    return PUT_LINEAGE_GROUP_POLICY


# ============================================================================ API shapes
def entity_contexts(
    params: Params, common: Mapping[str, str | tuple[str, ...]]
) -> list[dict[str, str | tuple[str, ...]]]:
    """One request context per resource and per principal the call names.

    RAM user guide, "Example IAM policies for AWS RAM" (example 2): CreateResourceShare and
    AssociateResourceShare authorize each principal and each resource independently, so there
    are several request contexts: one for a resource has ram:ResourceArn and
    ram:RequestedResourceType but no ram:Principal, one for a principal the reverse. Inference:
    DisassociateResourceShare works the same way (the same keys apply to it), and a call that
    names neither has one context with only the keys common to all.
    """
    contexts: list[dict[str, str | tuple[str, ...]]] = []
    for arn in params.get("resourceArns", []):
        context = {**common, "ram:ResourceArn": arn}
        if (requested_type := resource_type(arn)) is not None:
            context["ram:RequestedResourceType"] = requested_type
        contexts.append(context)
    contexts += [{**common, "ram:Principal": p} for p in params.get("principals", [])]
    return contexts or [dict(common)]


def require_arn(arn: str) -> Arn:
    parsed = Arn.parse(arn)
    if parsed is None:
        raise ServiceError("MalformedArnException", f"The specified ARN {arn} is not valid.")
    return parsed


def share_matches(share: ResourceShare, params: Params, now: datetime) -> bool:
    if params.get("resourceShareArns") and share.arn not in params["resourceShareArns"]:
        return False
    if params.get("resourceShareStatus", share.status(now)) != share.status(now):
        return False
    if params.get("name", share.name) != share.name:
        return False
    for tag_filter in params.get("tagFilters", []):
        key = tag_filter.get("tagKey")
        values = tag_filter.get("tagValues")
        if key is not None and key not in share.tags:
            return False
        if key is not None and values and share.tags[key] not in values:
            return False
    return True


def tag_dict(tags: list[Mapping[str, str]]) -> dict[str, str]:
    return {tag["key"]: tag.get("value", "") for tag in tags}


def request_tag_context(tags: list[Mapping[str, str]]) -> dict[str, str | tuple[str, ...]]:
    as_dict = tag_dict(tags)
    if not as_dict:
        return {}
    return {**tag_context("aws:RequestTag", as_dict), "aws:TagKeys": tuple(as_dict)}


def bool_value(value: bool) -> str:
    """A boolean as condition keys carry it."""
    return "true" if value else "false"


def share_view(share: ResourceShare, now: datetime) -> dict[str, Any]:
    return {
        "resourceShareArn": share.arn,
        "name": share.name,
        "owningAccountId": share.owner,
        "allowExternalPrincipals": share.allow_external_principals,
        "status": share.status(now),
        "tags": [{"key": k, "value": v} for k, v in sorted(share.tags.items())],
        "creationTime": share.created,
        "lastUpdatedTime": share.last_updated(now),
        "featureSet": "STANDARD",
        **({"statusMessage": share.status_message} if share.status_message else {}),
    }


def association_view(
    share: ResourceShare, association: Association, now: datetime
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "resourceShareArn": share.arn,
        "resourceShareName": share.name,
        "associatedEntity": association.entity,
        "associationType": association.type,
        "status": association.status(now),
        "creationTime": association.created,
        "lastUpdatedTime": association.last_updated(now),
        "external": association.external,
    }
    if association.status_message:
        view["statusMessage"] = association.status_message
    return view


def invitation_view(invitation: Invitation, share: ResourceShare, now: datetime) -> dict[str, Any]:
    return {
        "resourceShareInvitationArn": invitation.arn,
        "resourceShareName": share.name,
        "resourceShareArn": invitation.share_arn,
        "senderAccountId": invitation.sender,
        "receiverAccountId": invitation.receiver,
        "invitationTimestamp": invitation.created,
        "status": invitation.status(now),
    }


def resource_view(share: ResourceShare, association: Association, now: datetime) -> dict[str, Any]:
    return {
        "arn": association.entity,
        "type": resource_type(association.entity) or "",
        "resourceShareArn": share.arn,
        "status": "AVAILABLE",
        "creationTime": association.created,
        "lastUpdatedTime": association.last_updated(now),
        "resourceRegionScope": "REGIONAL",
    }


def with_token(response: Response, params: Params) -> Response:
    if "clientToken" in params:
        response["clientToken"] = params["clientToken"]
    return response
