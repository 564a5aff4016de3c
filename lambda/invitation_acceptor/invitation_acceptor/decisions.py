"""Pure decisions of the invitation acceptor: plain data in, plain data out, no AWS calls.

Which invitations to look at, whether to accept one (and if not, why), what an error from RAM
means for the run, what triggered the run, and how the run is summarised (and counted in
CloudWatch).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

# The allow-list lives in SSM StringList parameters, because Lambda allows 4 KB of environment
# in all (about 300 account ids). The environment names the parameters and carries the list's
# SHA-256: a changed list changes the function's configuration, so fresh execution
# environments read it, and a list read half-way through an update is refused.
ALLOW_LIST_PARAMETERS_VARIABLE = "ALLOWED_PRODUCERS_PARAMETERS"
ALLOW_LIST_SHA256_VARIABLE = "ALLOWED_PRODUCERS_SHA256"

# RAM resource type of a SageMaker lineage group (the whole group is shared, never parts of it).
LINEAGE_GROUP_RESOURCE_TYPE = "sagemaker:LineageGroup"
LINEAGE_GROUP_RESOURCE_PREFIX = "lineage-group/"
RESOURCE_SHARE_RESOURCE_PREFIX = "resource-share/"

# RAM invitation statuses (botocore model ResourceShareInvitationStatus):
# PENDING, ACCEPTED, REJECTED, EXPIRED. Only PENDING ones can be accepted.
PENDING = "PENDING"
REJECTED = "REJECTED"

# RAM error codes that describe the invitation rather than a fault of this run.
ALREADY_ACCEPTED_ERROR = "ResourceShareInvitationAlreadyAcceptedException"
ALREADY_REJECTED_ERROR = "ResourceShareInvitationAlreadyRejectedException"
EXPIRED_ERROR = "ResourceShareInvitationExpiredException"
# The invitation is gone between listing and answering it: the producer disassociated this
# account or deleted the share (e.g. to re-invite it). Nothing to accept, nothing to retry.
NOT_FOUND_ERROR = "ResourceShareInvitationArnNotFoundException"

# EventBridge envelopes of the two triggers the construct wires up.
RAM_EVENT_SOURCE = "aws.ram"
RAM_EVENT_DETAIL_TYPE = "Resource Sharing State Change"
SCHEDULE_EVENT_SOURCE = "aws.events"
SCHEDULE_EVENT_DETAIL_TYPE = "Scheduled Event"

# ASCII digits only: `\d` would also accept other scripts' digits.
_ACCOUNT_ID = re.compile(r"[0-9]{12}")

# Fixed namespace: the same invitation always yields the same client token, so a retried or
# repeated accept is recognised by RAM as the same request.
_CLIENT_TOKEN_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:lineage-sharing:invitation-acceptor")


# ---------------------------------------------------------------------------- configuration


class InvalidAllowList(ValueError):
    """The allow-list is missing, malformed or not the deployed one; the message says which."""


def allow_list_parameter_names(environment: Mapping[str, str]) -> list[str]:
    """The SSM parameters that hold the allow-list, from the function's environment."""
    raw = environment.get(ALLOW_LIST_PARAMETERS_VARIABLE, "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        raise InvalidAllowList(
            f"{ALLOW_LIST_PARAMETERS_VARIABLE} is not set or empty: it must name the SSM "
            "parameters that list the producer accounts, separated by commas"
        )
    return names


def allow_list_digest(accounts: Iterable[str]) -> str:
    """SHA-256 of the sorted, comma-joined account ids (the construct computes the same)."""
    return hashlib.sha256(",".join(sorted(set(accounts))).encode()).hexdigest()


def allow_list_from_parameters(
    values: Mapping[str, str], environment: Mapping[str, str]
) -> frozenset[str]:
    """The producer accounts from the parameters' values, checked against the deployed digest."""
    accounts: set[str] = set()
    for name, value in values.items():
        accounts |= parse_allowed_producer_accounts(value, source=f"SSM parameter {name}")
    expected = environment.get(ALLOW_LIST_SHA256_VARIABLE)
    if expected != allow_list_digest(accounts):
        # A stack update in progress (parameters and function not yet in step), or a parameter
        # changed by hand: accepting from a list that was not deployed is not an option.
        raise InvalidAllowList(
            f"the allow-list read from {', '.join(values)} ({len(accounts)} accounts) does not "
            f"match {ALLOW_LIST_SHA256_VARIABLE}={expected!r}; if a deployment is in progress "
            "the next run reads it again, otherwise deploy the stack again"
        )
    return frozenset(accounts)


def parse_allowed_producer_accounts(raw: str | None, *, source: str) -> frozenset[str]:
    """The comma-separated 12-digit account ids of the producers whose invitations we accept."""
    if raw is None or not raw.strip():
        raise InvalidAllowList(
            f"{source} is not set or empty: it must list the "
            "12-digit ids of the producer accounts, separated by commas"
        )
    accounts = [item.strip() for item in raw.split(",")]
    malformed = [item for item in accounts if not _ACCOUNT_ID.fullmatch(item)]
    if malformed:
        raise InvalidAllowList(
            f"{source}={raw!r} is malformed: "
            f"{', '.join(repr(item) for item in malformed)} "
            "is not a 12-digit AWS account id (expected e.g. '111111111111,222222222222')"
        )
    return frozenset(accounts)


# ---------------------------------------------------------------------------- trigger


class Trigger(str, Enum):
    RAM_EVENT = "ram_event"
    SCHEDULE = "schedule"
    # Anything else (a console test, a manual `aws lambda invoke`): still a full sweep.
    MANUAL = "manual"


def trigger_of(event: Mapping[str, Any] | None) -> Trigger:
    """What started this run. Only for the logs: every trigger runs the same full sweep."""
    if not isinstance(event, Mapping):
        return Trigger.MANUAL
    source, detail_type = event.get("source"), event.get("detail-type")
    if source == RAM_EVENT_SOURCE and detail_type == RAM_EVENT_DETAIL_TYPE:
        return Trigger.RAM_EVENT
    if source == SCHEDULE_EVENT_SOURCE and detail_type == SCHEDULE_EVENT_DETAIL_TYPE:
        return Trigger.SCHEDULE
    return Trigger.MANUAL


# ---------------------------------------------------------------------------- invitations


@dataclass(frozen=True)
class Invitation:
    """One entry of GetResourceShareInvitations, as far as the decision needs it."""

    arn: str
    sender: str
    resource_share_arn: str
    resource_share_name: str
    status: str


@dataclass(frozen=True)
class PendingResource:
    """One entry of ListPendingInvitationResources."""

    arn: str
    type: str


def pending_only(invitations: Iterable[Invitation]) -> list[Invitation]:
    # GetResourceShareInvitations also returns accepted, rejected and expired invitations.
    return [invitation for invitation in invitations if invitation.status == PENDING]


def rejected_shares(invitations: Iterable[Invitation]) -> frozenset[str]:
    """Shares someone in this account said no to: their new invitations are left alone.

    A producer whose invitation was rejected invites again (it cannot tell a rejection from an
    expiry, see the share manager); accepting that automatically would overrule the person
    who rejected it. Inference: RAM keeps rejected invitations listed to the receiver.
    """
    return frozenset(
        invitation.resource_share_arn for invitation in invitations if invitation.status == REJECTED
    )


def client_token_for(invitation_arn: str) -> str:
    """A UUID (the form RAM recommends) derived only from the invitation ARN."""
    return str(uuid.uuid5(_CLIENT_TOKEN_NAMESPACE, invitation_arn))


# ---------------------------------------------------------------------------- the decision


class SkipReason(str, Enum):
    FOREIGN_SENDER = "foreign_sender"
    SHARE_OWNER_MISMATCH = "share_owner_mismatch"
    NO_RESOURCES = "no_resources"
    NOT_LINEAGE_GROUP = "not_lineage_group"
    MIXED_RESOURCES = "mixed_resources"
    FOREIGN_RESOURCE_OWNER = "foreign_resource_owner"
    ALREADY_REJECTED = "already_rejected"
    PREVIOUSLY_REJECTED = "previously_rejected"
    WITHDRAWN = "withdrawn"


ACCEPT_REASON = "lineage_groups_of_allowed_producer"


@dataclass(frozen=True)
class Decision:
    accept: bool
    reason: str

    @classmethod
    def skip(cls, reason: SkipReason) -> Decision:
        return cls(accept=False, reason=reason.value)


ACCEPT = Decision(accept=True, reason=ACCEPT_REASON)


def screen_sender(
    invitation: Invitation,
    allowed_producers: frozenset[str],
    rejected: frozenset[str] = frozenset(),
) -> Decision | None:
    """The skip decision that needs no resource listing, or None if the resources must be seen.

    Checked first so that no ListPendingInvitationResources call is spent (and denied by the
    role's policy anyway) on an invitation from an account that is not a configured producer.
    `rejected` are the shares this account rejected an invitation to (see rejected_shares).
    """
    if invitation.sender not in allowed_producers:
        return Decision.skip(SkipReason.FOREIGN_SENDER)
    if invitation.resource_share_arn in rejected:
        return Decision.skip(SkipReason.PREVIOUSLY_REJECTED)
    share = _parse_arn(invitation.resource_share_arn)
    if (
        share is None
        or share.service != "ram"
        or not share.resource.startswith(RESOURCE_SHARE_RESOURCE_PREFIX)
        or share.account != invitation.sender
    ):
        # The invitation claims one sender but the share belongs to someone else.
        return Decision.skip(SkipReason.SHARE_OWNER_MISMATCH)
    return None


def decide(
    invitation: Invitation,
    resources: Sequence[PendingResource],
    allowed_producers: frozenset[str],
) -> Decision:
    """Accept only a share of the sender's own lineage groups, and nothing else with it."""
    early = screen_sender(invitation, allowed_producers)
    if early is not None:
        return early
    if not resources:
        return Decision.skip(SkipReason.NO_RESOURCES)
    lineage_groups = [resource for resource in resources if _is_lineage_group(resource)]
    if not lineage_groups:
        return Decision.skip(SkipReason.NOT_LINEAGE_GROUP)
    if len(lineage_groups) != len(resources):
        # Accepting would also grant the rest of the share; the allow-list is for lineage only.
        return Decision.skip(SkipReason.MIXED_RESOURCES)
    if any(_parse_arn(group.arn).account != invitation.sender for group in lineage_groups):
        # A producer re-sharing a third account's lineage group is not what was configured.
        return Decision.skip(SkipReason.FOREIGN_RESOURCE_OWNER)
    return ACCEPT


def _is_lineage_group(resource: PendingResource) -> bool:
    arn = _parse_arn(resource.arn)
    return (
        resource.type == LINEAGE_GROUP_RESOURCE_TYPE
        and arn is not None
        and arn.service == "sagemaker"
        and arn.resource.startswith(LINEAGE_GROUP_RESOURCE_PREFIX)
        and len(arn.resource) > len(LINEAGE_GROUP_RESOURCE_PREFIX)
    )


@dataclass(frozen=True)
class _Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str


def _parse_arn(arn: str) -> _Arn | None:
    # arn:<partition>:<service>:<region>:<account>:<resource>
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return _Arn(*parts[1:])


# ---------------------------------------------------------------------------- outcomes


class Outcome(str, Enum):
    ACCEPTED = "accepted"
    ALREADY_ACCEPTED = "already_accepted"
    SKIPPED = "skipped"
    EXPIRED = "expired"
    FAILED = "failed"


def outcome_of_error(code: str) -> tuple[Outcome, str | None]:
    """What a RAM error on one invitation means for the run: (outcome, skip reason if skipped)."""
    if code == ALREADY_ACCEPTED_ERROR:
        # Accepted by an earlier run, a retry, or a person: the goal is reached.
        return Outcome.ALREADY_ACCEPTED, None
    if code == EXPIRED_ERROR:
        # Only the producer can fix this by sharing again; retrying this run would not help.
        return Outcome.EXPIRED, None
    if code == ALREADY_REJECTED_ERROR:
        # Someone in this account said no; that choice stands.
        return Outcome.SKIPPED, SkipReason.ALREADY_REJECTED.value
    if code == NOT_FOUND_ERROR:
        # Withdrawn since it was listed; a re-sent one is picked up by a later run.
        return Outcome.SKIPPED, SkipReason.WITHDRAWN.value
    return Outcome.FAILED, None


@dataclass
class Summary:
    trigger: Trigger
    accepted: int = 0
    already_accepted: int = 0
    skipped: int = 0
    expired: int = 0
    failed: int = 0

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "already_accepted": self.already_accepted,
            "skipped": self.skipped,
            "expired": self.expired,
            "failed": self.failed,
            "trigger": self.trigger.value,
        }

    def metrics(self, pending: int) -> dict[str, int]:
        """The run's CloudWatch metrics (`RUN_METRICS`): its outcomes, and how many invitations
        were pending when it listed them."""
        return {
            "InvitationsAccepted": self.accepted,
            "InvitationsAlreadyAccepted": self.already_accepted,
            "InvitationsSkipped": self.skipped,
            "InvitationsExpired": self.expired,
            "InvitationsFailed": self.failed,
            "InvitationsPending": pending,
        }


# Every run emits each of these once (zero included, so a graph shows the runs).
RUN_METRICS = tuple(Summary(Trigger.MANUAL).metrics(0))
