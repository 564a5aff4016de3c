"""Pure decisions of the share manager: plain data in, plain data out, no AWS calls.

Every rule about what the handler should do lives here, so it can be tested with literals:
which lineage group is ours, what the request asks for, how a share's status reads, which
principals to associate, disassociate or re-invite, and which tags to change.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import Enum

DEFAULT_LINEAGE_GROUP_NAME = "sagemaker-default-lineage-group"

# RAM invitations for sagemaker:LineageGroup expire after 12 hours; an account principal whose
# association is still ASSOCIATING after that can no longer accept and must be invited again.
INVITATION_LIFETIME = timedelta(hours=12)
# RAM's default quota of pending invitations per sharing account: associating more account
# principals at once fails with ResourceShareLimitExceededException.
PENDING_INVITATION_QUOTA = 20
# A principal whose association FAILED or was SUSPENDED is invited again at most this often
# (3 times a day): RAM may fail it again at once, and every attempt sends an invitation.
MIN_TIME_BETWEEN_REINVITES = timedelta(hours=8)
QUOTA_EXCEEDED_ERROR = "ResourceShareLimitExceededException"

# RAM association statuses (botocore model ResourceShareAssociationStatus).
ASSOCIATING = "ASSOCIATING"
ASSOCIATED = "ASSOCIATED"
FAILED = "FAILED"
DISASSOCIATING = "DISASSOCIATING"
DISASSOCIATED = "DISASSOCIATED"
SUSPENDED = "SUSPENDED"
SUSPENDING = "SUSPENDING"
RESTORING = "RESTORING"
# States RAM is still moving out of by itself: the only right move is to look again later.
TRANSITIONAL_ASSOCIATION_STATUSES = frozenset({DISASSOCIATING, SUSPENDING, RESTORING})
# States in which a principal still holds (or is about to hold) access to the share.
HOLDING_ASSOCIATION_STATUSES = frozenset({ASSOCIATED, ASSOCIATING, SUSPENDED})

# RAM resource share statuses (botocore model ResourceShareStatus).
SHARE_ACTIVE = "ACTIVE"
SHARE_PENDING = "PENDING"
SHARE_FAILED = "FAILED"
SHARE_DELETING = "DELETING"
SHARE_DELETED = "DELETED"
GONE_SHARE_STATUSES = frozenset({SHARE_DELETING, SHARE_DELETED})
UNUSABLE_SHARE_STATUSES = frozenset({SHARE_FAILED}) | GONE_SHARE_STATUSES
# Shares a new one must not be created next to (a retried or timed-out create made them).
LIVE_SHARE_STATUSES = frozenset({SHARE_ACTIVE, SHARE_PENDING})

# Fixed namespace: the same CloudFormation request always yields the same client token.
_CLIENT_TOKEN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:lineage-sharing:share-manager")


class ShareRequestRefused(Exception):
    """The request cannot be carried out as asked; the message tells the user what to do."""


# ---------------------------------------------------------------------------- the request


@dataclass(frozen=True)
class Caller:
    """Where the handler runs, read from its own function ARN (no STS call needed)."""

    partition: str
    region: str
    account: str


def caller_from_function_arn(function_arn: str) -> Caller:
    # arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]
    parts = function_arn.split(":")
    if len(parts) < 7 or parts[0] != "arn" or parts[2] != "lambda" or parts[5] != "function":
        raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
    return Caller(partition=parts[1], region=parts[3], account=parts[4])


@dataclass(frozen=True)
class ShareProperties:
    """The custom resource's ResourceProperties, typed."""

    share_name: str
    principals: tuple[str, ...]
    allow_external_principals: bool
    bootstrap_lineage_group: bool
    bootstrap_context_name: str
    tags: Mapping[str, str] = field(default_factory=dict)


def parse_share_properties(properties: Mapping[str, object]) -> ShareProperties:
    """Validate ResourceProperties; CloudFormation delivers every scalar as a string."""
    share_name = properties.get("ShareName")
    if not isinstance(share_name, str) or not share_name:
        raise ValueError(
            f"ResourceProperties.ShareName must be a non-empty string, got {share_name!r}"
        )
    raw_principals = properties.get("Principals")
    if (
        not isinstance(raw_principals, list)
        or not raw_principals
        or not all(isinstance(principal, str) for principal in raw_principals)
    ):
        # (A template read back by the schedule could hold an unresolved intrinsic function.)
        raise ValueError(
            "ResourceProperties.Principals must be a non-empty list of strings, "
            f"got {raw_principals!r}"
        )
    # dict.fromkeys: drop duplicates, keep the configured order (create requests stay stable).
    principals = tuple(dict.fromkeys(str(principal) for principal in raw_principals))
    bootstrap = _parse_cfn_bool(properties, "BootstrapLineageGroup")
    context_name = properties.get("BootstrapContextName") or ""
    if bootstrap and not (isinstance(context_name, str) and context_name):
        raise ValueError(
            "ResourceProperties.BootstrapContextName must name the marker context "
            "when BootstrapLineageGroup is true"
        )
    raw_tags = properties.get("Tags") or {}
    if not isinstance(raw_tags, Mapping):
        raise ValueError(f"ResourceProperties.Tags must be a map of strings, got {raw_tags!r}")
    return ShareProperties(
        share_name=share_name,
        principals=principals,
        allow_external_principals=_parse_cfn_bool(properties, "AllowExternalPrincipals"),
        bootstrap_lineage_group=bootstrap,
        bootstrap_context_name=str(context_name),
        tags={str(key): str(value) for key, value in raw_tags.items()},
    )


def _parse_cfn_bool(properties: Mapping[str, object], key: str) -> bool:
    value = properties.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValueError(f'ResourceProperties.{key} must be "true" or "false", got {value!r}')


def client_token(*request_identity: str) -> str:
    """A UUID (the form RAM recommends) derived only from the request, so retries reuse it."""
    return str(uuid.uuid5(_CLIENT_TOKEN_NAMESPACE, "\n".join(request_identity)))


def is_share_arn(physical_resource_id: str | None) -> bool:
    """False for the RequestId the framework uses when a Create ended before any share existed."""
    if not physical_resource_id:
        return False
    parts = physical_resource_id.split(":", 5)
    return (
        len(parts) == 6
        and parts[0] == "arn"
        and parts[2] == "ram"
        and parts[5].startswith("resource-share/")
        and len(parts[5]) > len("resource-share/")
    )


# ---------------------------------------------------------------------------- lineage group


@dataclass(frozen=True)
class LineageGroup:
    arn: str
    name: str

    @property
    def owner_account(self) -> str:
        # arn:<partition>:sagemaker:<region>:<account>:lineage-group/<name>
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 5 else ""

    @property
    def region(self) -> str:
        parts = self.arn.split(":")
        return parts[3] if len(parts) > 5 else ""

    def is_owned_by(self, caller: Caller) -> bool:
        return (
            self.owner_account == caller.account
            and self.region == caller.region
            and self.arn.split(":", 5)[-1].startswith("lineage-group/")
        )


def select_own_lineage_group(groups: Iterable[LineageGroup], caller: Caller) -> LineageGroup | None:
    """The caller's own group; ListLineageGroups also lists groups other accounts share with it."""
    own = [group for group in groups if group.is_owned_by(caller)]
    for group in own:
        if group.name == DEFAULT_LINEAGE_GROUP_NAME:
            return group
    return own[0] if own else None


def no_lineage_group_message(caller: Caller) -> str:
    return (
        f"No SageMaker lineage group exists yet in account {caller.account}, region "
        f"{caller.region}. SageMaker creates the default lineage group "
        f"({DEFAULT_LINEAGE_GROUP_NAME}) when the first lineage entity (context, artifact, "
        "action or trial component) is created there. Create any lineage entity in this account "
        "and region and deploy again, or set `bootstrap_lineage_group: true` in the sharing "
        "config so this stack creates a small marker context for you."
    )


# ---------------------------------------------------------------------------- the share


@dataclass(frozen=True)
class ResourceShare:
    arn: str
    name: str
    status: str
    status_message: str = ""
    allow_external_principals: bool = True
    tags: Mapping[str, str] = field(default_factory=dict)


class ShareReadiness(Enum):
    READY = "ready"  # ACTIVE: principals can be reconciled
    WAIT = "wait"  # PENDING (or a status this code does not know yet): look again later
    UNUSABLE = "unusable"  # FAILED, DELETING, DELETED: waiting will not help


def share_readiness(status: str) -> ShareReadiness:
    if status == SHARE_ACTIVE:
        return ShareReadiness.READY
    if status in UNUSABLE_SHARE_STATUSES:
        return ShareReadiness.UNUSABLE
    return ShareReadiness.WAIT


def unusable_share_message(share: ResourceShare) -> str:
    reason = f": {share.status_message}" if share.status_message else ""
    return f"RAM resource share {share.arn} ({share.name}) is {share.status}{reason}"


@dataclass(frozen=True)
class ResourceAssociation:
    """A RESOURCE association of a share: whether RAM managed to share that resource."""

    resource_arn: str
    status: str
    status_message: str = ""


def lineage_group_association(
    associations: Iterable[ResourceAssociation], caller: Caller, group_arn: str | None = None
) -> ResourceAssociation | None:
    """The share's association of this account's lineage group (`group_arn` if known).

    RAM may list an old record (e.g. DISASSOCIATED) next to a newer one: the best status wins.
    """
    candidates = [
        association
        for association in associations
        if association.resource_arn == group_arn
        or (group_arn is None and LineageGroup(association.resource_arn, "").is_owned_by(caller))
    ]
    preference = {ASSOCIATED: 0, ASSOCIATING: 1}
    candidates.sort(key=lambda association: preference.get(association.status, 2))
    return candidates[0] if candidates else None


def lineage_group_readiness(association: ResourceAssociation | None) -> ShareReadiness:
    """ASSOCIATED: shared. ASSOCIATING: look again later. Anything else will not recover."""
    if association is None:
        return ShareReadiness.UNUSABLE
    if association.status == ASSOCIATED:
        return ShareReadiness.READY
    if association.status == ASSOCIATING:
        return ShareReadiness.WAIT
    return ShareReadiness.UNUSABLE


def lineage_group_not_shared_message(
    share_arn: str, group_arn: str | None, association: ResourceAssociation | None
) -> str:
    group = group_arn or (association.resource_arn if association else "this account's group")
    if association is None:
        return f"RAM resource share {share_arn} does not hold the lineage group {group}"
    reason = f": {association.status_message}" if association.status_message else ""
    return (
        f"RAM could not share the lineage group {association.resource_arn} through resource "
        f"share {share_arn}: its resource association is {association.status}{reason}"
    )


def rename_refused_message(share: ResourceShare, requested_name: str) -> str:
    return (
        f"The RAM resource share {share.arn} is named '{share.name}' but the config now asks "
        f"for '{requested_name}'. A share cannot be renamed in place: the handler's role may only "
        "manage shares whose name is the configured one (IAM condition ram:ResourceShareName), "
        f"so it can neither rename nor delete '{share.name}'. Set share_name back to "
        f"'{share.name}', or delete this stack (which deletes the share) and deploy it again "
        "with the new name."
    )


# ---------------------------------------------------------------------------- principals


@dataclass(frozen=True)
class PrincipalAssociation:
    principal: str
    status: str
    last_updated: datetime | None = None
    status_message: str = ""


@dataclass(frozen=True)
class PrincipalPlan:
    """What one reconcile poll does with the share's principals."""

    associate: tuple[str, ...] = ()
    # Associated principals that are no longer configured.
    disassociate: tuple[str, ...] = ()
    # (principal, reason) for configured principals whose invitation expired while ASSOCIATING:
    # disassociate now, associate again on a later poll once RAM reports DISASSOCIATED.
    reinvite: tuple[tuple[str, str], ...] = ()
    # (principal, reason) for configured principals whose association FAILED or was SUSPENDED:
    # associated again directly, at most once per MIN_TIME_BETWEEN_REINVITES.
    reassociate: tuple[tuple[str, str], ...] = ()
    # (principal, reason) re-invited too recently: the schedule tries again later.
    deferred: tuple[tuple[str, str], ...] = ()
    # (principal, status) pairs RAM is still moving by itself.
    waiting: tuple[tuple[str, str], ...] = ()
    # Configured principals not invited yet: the pending-invitation quota is full until
    # consumers accept earlier invitations.
    held_back: tuple[str, ...] = ()

    @property
    def disassociate_now(self) -> tuple[str, ...]:
        return self.disassociate + tuple(principal for principal, _ in self.reinvite)

    @property
    def reassociate_now(self) -> tuple[str, ...]:
        return tuple(principal for principal, _ in self.reassociate)

    @property
    def acts_or_waits(self) -> bool:
        """Something changes now or RAM is still moving: look again on the next poll.

        Principals held back by the quota or deferred by the re-invite cap do not count: the
        schedule invites them later, and a deployment must not wait for consumers.
        """
        return bool(
            self.associate or self.disassociate or self.reinvite or self.reassociate or self.waiting
        )

    @property
    def converged(self) -> bool:
        return not (self.acts_or_waits or self.held_back or self.deferred)

    def metrics(self) -> dict[str, int]:
        """A scheduled run's CloudWatch metrics (`RECONCILE_METRICS`), from the plan as carried
        out (RAM's quota may have held back principals the plan meant to invite)."""
        return {
            "ConsumersInvited": len(self.associate),
            "ExpiredInvitationsResent": len(self.reinvite),
            "AssociationsFailed": len(self.reassociate),
            "ConsumersRemoved": len(self.disassociate),
            "ConsumersHeldBack": len(self.held_back),
            "ReinvitesDeferred": len(self.deferred),
            "ShareInSync": int(self.converged),
        }


# Every scheduled run that reached the principals emits each of these once (zero included).
RECONCILE_METRICS = tuple(PrincipalPlan().metrics())


def plan_principal_changes(
    desired: Sequence[str],
    associations: Iterable[PrincipalAssociation],
    now: datetime,
) -> PrincipalPlan:
    """Compare configured principals with RAM's principal associations of the share.

    ASSOCIATING counts as converged while its invitation can still be accepted: accepting is
    the consumer's move, and CloudFormation must not wait for it. A principal RAM disassociated
    (e.g. when its invitation expired) is associated again like a new one.
    """
    latest = _latest_association_per_principal(associations)
    associate: list[str] = []
    disassociate: list[str] = []
    reinvite: list[tuple[str, str]] = []
    reassociate: list[tuple[str, str]] = []
    deferred: list[tuple[str, str]] = []
    waiting: list[tuple[str, str]] = []

    for principal in dict.fromkeys(desired):
        association = latest.get(principal)
        if association is None or association.status == DISASSOCIATED:
            associate.append(principal)
        elif association.status == ASSOCIATED:
            continue
        elif association.status == ASSOCIATING:
            if _invitation_expired(association, now):
                since = association.last_updated.isoformat()  # type: ignore[union-attr]
                reinvite.append((principal, f"invitation expired: ASSOCIATING since {since}"))
        elif association.status in TRANSITIONAL_ASSOCIATION_STATUSES:
            waiting.append((principal, association.status))
        else:  # FAILED, SUSPENDED: RAM will not recover these by itself
            detail = f": {association.status_message}" if association.status_message else ""
            reason = f"association {association.status}{detail}"
            next_attempt = _next_reinvite(association)
            if next_attempt is None or now >= next_attempt:
                reassociate.append((principal, reason))
            else:
                reason += f"; re-invited at most every {_hours(MIN_TIME_BETWEEN_REINVITES)}"
                deferred.append((principal, f"{reason}, next after {next_attempt.isoformat()}"))

    desired_set = set(desired)
    for principal, association in sorted(latest.items()):
        if principal in desired_set:
            continue
        if association.status in HOLDING_ASSOCIATION_STATUSES:
            disassociate.append(principal)
        elif association.status in TRANSITIONAL_ASSOCIATION_STATUSES:
            waiting.append((principal, association.status))
        # DISASSOCIATED and FAILED undesired principals hold no access: nothing to do.

    return PrincipalPlan(
        associate=tuple(associate),
        disassociate=tuple(disassociate),
        reinvite=tuple(reinvite),
        reassociate=tuple(reassociate),
        deferred=tuple(deferred),
        waiting=tuple(waiting),
    )


def _next_reinvite(association: PrincipalAssociation) -> datetime | None:
    # RAM's lastUpdatedTime of a FAILED association is when it failed, i.e. the latest attempt.
    if association.last_updated is None:
        return None
    return association.last_updated + MIN_TIME_BETWEEN_REINVITES


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:g} h"


def within_invitation_quota(
    plan: PrincipalPlan,
    associations: Iterable[PrincipalAssociation],
    now: datetime,
    quota: int = PENDING_INVITATION_QUOTA,
) -> PrincipalPlan:
    """Invite only as many principals as the pending-invitation quota leaves room for.

    Counts this share's invitations still pending (ASSOCIATING and not expired); pending
    invitations of the account's other shares also use the quota, which RAM then reports as
    ResourceShareLimitExceededException. Principals invited before (re-associations) go first.
    """
    pending = sum(
        1
        for association in _latest_association_per_principal(associations).values()
        if association.status == ASSOCIATING and not _invitation_expired(association, now)
    )
    room = max(0, quota - pending)
    reassociate = plan.reassociate[:room]
    room -= len(reassociate)
    return replace(
        plan,
        reassociate=reassociate,
        associate=plan.associate[:room],
        held_back=(
            plan.held_back
            + tuple(principal for principal, _ in plan.reassociate[len(reassociate) :])
            + plan.associate[room:]
        ),
    )


def initial_principals(
    principals: Sequence[str], quota: int = PENDING_INVITATION_QUOTA
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(invited when the share is created, invited later by reconciliation)."""
    return tuple(principals[:quota]), tuple(principals[quota:])


def _latest_association_per_principal(
    associations: Iterable[PrincipalAssociation],
) -> dict[str, PrincipalAssociation]:
    # RAM may keep an old record (e.g. DISASSOCIATED) next to a newer one for the same principal.
    latest: dict[str, PrincipalAssociation] = {}
    for association in associations:
        current = latest.get(association.principal)
        if current is None or _updated_at(association) >= _updated_at(current):
            latest[association.principal] = association
    return latest


def _updated_at(association: PrincipalAssociation) -> datetime:
    if association.last_updated is None:
        return datetime.min.replace(tzinfo=UTC)
    return association.last_updated


def _invitation_expired(association: PrincipalAssociation, now: datetime) -> bool:
    # Without a timestamp there is no evidence of expiry; keep waiting for the consumer.
    return (
        association.last_updated is not None
        and now - association.last_updated >= INVITATION_LIFETIME
    )


class ExternalPrincipalsChange(Enum):
    NONE = "none"
    # Allow external principals before associating accounts outside the organization.
    ENABLE_FIRST = "enable_first"
    # Forbid them only once the external principals are gone.
    DISABLE_LAST = "disable_last"


def plan_external_principals_change(desired: bool, current: bool) -> ExternalPrincipalsChange:
    if desired == current:
        return ExternalPrincipalsChange.NONE
    if desired:
        return ExternalPrincipalsChange.ENABLE_FIRST
    return ExternalPrincipalsChange.DISABLE_LAST


# ---------------------------------------------------------------------------- tags


@dataclass(frozen=True)
class TagPlan:
    set_tags: Mapping[str, str] = field(default_factory=dict)
    remove_keys: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.set_tags and not self.remove_keys


# Tag on the share naming the principal set it was last deployed for. CloudFormation updates the
# custom resource before the reconcile rule's input, so during an update (and its rollback) the
# schedule may carry an outdated principal list: it acts only while its list matches this tag.
PRINCIPALS_TAG = "lineage-sharing:principals-sha256"


# Tags naming the custom resource a share belongs to (CloudFormation stack id and logical id),
# so a share created by an attempt whose answer was lost is found again instead of duplicated,
# and a Delete after a failed or timed-out Create (physical id = RequestId) can find it.
STACK_ID_TAG = "lineage-sharing:stack-id"
LOGICAL_ID_TAG = "lineage-sharing:logical-id"


def principals_digest(principals: Sequence[str]) -> str:
    return hashlib.sha256(",".join(sorted(set(principals))).encode()).hexdigest()[:32]


def owner_tags(stack_id: str, logical_resource_id: str) -> dict[str, str]:
    return {STACK_ID_TAG: stack_id, LOGICAL_ID_TAG: logical_resource_id}


def belongs_to(share: ResourceShare, owner: Mapping[str, str]) -> bool:
    return all(share.tags.get(key) == value for key, value in owner.items())


def shares_to_adopt(
    shares: Iterable[ResourceShare], owner: Mapping[str, str], replacing: str | None = None
) -> list[ResourceShare]:
    """Live shares of this custom resource, other than the one being replaced."""
    return sorted(
        (
            share
            for share in shares
            if belongs_to(share, owner)
            and share.status in LIVE_SHARE_STATUSES
            and share.arn != replacing
        ),
        key=lambda share: share.arn,
    )


def tags_for_share(properties: ShareProperties, owner: Mapping[str, str]) -> dict[str, str]:
    """The configured tags, the principal-set tag the reconcile schedule checks, and the tags
    naming the custom resource the share belongs to."""
    return {
        **properties.tags,
        PRINCIPALS_TAG: principals_digest(properties.principals),
        **owner,
    }


def plan_tag_changes(
    desired: Mapping[str, str],
    previously_declared: Mapping[str, str],
    current: Mapping[str, str],
) -> TagPlan:
    """Tags to set and remove on the share.

    Only keys this resource declared before are removed: tags someone else put on the share
    are left alone.
    """
    set_tags = {key: value for key, value in sorted(desired.items()) if current.get(key) != value}
    remove_keys = tuple(
        sorted(key for key in previously_declared if key not in desired and key in current)
    )
    return TagPlan(set_tags=set_tags, remove_keys=remove_keys)
