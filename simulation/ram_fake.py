"""AWS RAM, the regional subset the lineage sharing stacks use (see shared/FACTS.md).

Documented behaviour modelled: shares, principal and resource associations, invitations only
for principals that need one, 12-hour invitation expiry, deleted shares listed for about 2 h,
clientToken idempotency, the 20 pending invitations quota, org sharing, EventBridge events to
owner and receivers. DisassociateResourceShare and DeleteResourceShare are asynchronous as in
RAM: DISASSOCIATING and DELETING settle into DISASSOCIATED and DELETED once `transition_delay`
has passed on the simulated clock (read lazily, so deterministic; 0 makes them instant); other
changes complete at once. Behaviour the documentation does not pin down is marked "Inference"
where it is decided.

Authorization as RAM does it: one IAM request context per resource and per principal a create
or (dis)associate names (RAM user guide, example IAM policies), and, for a call that changes
who a shared lineage group's resource policy names, the SageMaker lineage group policy action
that change needs of the caller (RAM's "resourceOwningService:PutPolicyAction").

This module holds RamFake, the operations: their table, scenario controls (a share or an
association that fails, new shares kept PENDING), the IAM requests each operation makes,
clientToken idempotency, then the operations by subject (shares, associations, invitations,
principals, resources). The records they change and the rules read from them are in
simulation.ram_state.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from simulation.authorization import ANY_RESOURCE, AuthorizationRequest
from simulation.fake_service import (
    Arn,
    Caller,
    FakeOperation,
    Paging,
    Params,
    Response,
    ServiceError,
    tag_context,
)
from simulation.organizations import Organizations
from simulation.ram_state import (
    LINEAGE_GROUP_RESOURCE_TYPE,
    Association,
    Invitation,
    Lifecycle,
    PrincipalPlan,
    ResourceShare,
    ShareRecords,
    association_view,
    bool_value,
    entity_contexts,
    invitation_view,
    lineage_policy_action,
    request_tag_context,
    require_arn,
    resource_type,
    resource_view,
    share_matches,
    share_view,
    tag_dict,
    with_token,
)

TAGS_PER_SHARE = 50
RAM_SERVICE_PRINCIPAL = "ram.amazonaws.com"
# Inference: RAM documents no default page size; 50 keeps listings short enough to page.
DEFAULT_PAGE_SIZE = 50

# detail.event values. Inference: the documentation fixes only that `event` and `status` exist.
SHARE_EVENT = "Resource Share"
INVITATION_EVENT = "Resource Share Invitation"
ASSOCIATION_EVENT = "Resource Share Association"

# Actions whose request names principals and resources, each authorized in its own context.
_PER_ENTITY_ACTIONS = frozenset({"ram:AssociateResourceShare", "ram:DisassociateResourceShare"})
# Calls that change who a shared lineage group's resource policy names.
_POLICY_CHANGING_ACTIONS = frozenset(
    {"ram:AssociateResourceShare", "ram:DisassociateResourceShare", "ram:DeleteResourceShare"}
)


class SharedResources(Protocol):
    """The owning services' side: does a resource exist (RAM refuses to share what doesn't)."""

    def resource_exists(self, arn: str) -> bool: ...


class EventSink(Protocol):
    def emit(
        self, account: str, region: str, resources: list[str], event: str, status: str
    ) -> None: ...


@dataclass
class _Outcome:
    entity: str | None  # None: any share
    status: str
    status_message: str
    remaining: int


class RamFake:
    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        new_id: Callable[[], str],
        organizations: Organizations,
        resources: SharedResources,
        events: EventSink,
        partition: str,
        transition_delay: Callable[[], timedelta],
    ) -> None:
        self._now = now
        # Read at each call, so a scenario may change it on a running world.
        self._transition_delay = transition_delay
        self._new_id = new_id
        self._organizations = organizations
        self._resources = resources
        self._events = events
        self._partition = partition
        self._records = ShareRecords(organizations)
        # Resources of other services a scenario says exist (e.g. a subnet an account shares).
        self._other_resources: set[str] = set()
        self._client_tokens: dict[tuple[str, str, str, str], tuple[str, Response]] = {}
        # Scenario controls: how the next associations of an entity and the next shares end.
        self._association_outcomes: list[_Outcome] = []
        self._share_outcomes: list[_Outcome] = []
        self._paging = Paging(
            invalid_token_error="InvalidNextTokenException", token_member="nextToken"
        )
        self.validation_error_code = "InvalidParameterException"
        self.operations: dict[str, FakeOperation] = {
            "CreateResourceShare": FakeOperation(
                self._authorize_create, self._idempotent("CreateResourceShare", self._create)
            ),
            "GetResourceShares": FakeOperation(
                self._anywhere("ram:GetResourceShares"), self._get_resource_shares
            ),
            "UpdateResourceShare": FakeOperation(
                self._on_share("ram:UpdateResourceShare"),
                self._idempotent("UpdateResourceShare", self._update),
            ),
            "DeleteResourceShare": FakeOperation(
                self._on_share("ram:DeleteResourceShare"),
                self._idempotent("DeleteResourceShare", self._delete),
            ),
            "AssociateResourceShare": FakeOperation(
                self._on_share("ram:AssociateResourceShare"),
                self._idempotent("AssociateResourceShare", self._associate),
            ),
            "DisassociateResourceShare": FakeOperation(
                self._on_share("ram:DisassociateResourceShare"),
                self._idempotent("DisassociateResourceShare", self._disassociate),
            ),
            "GetResourceShareAssociations": FakeOperation(
                self._anywhere("ram:GetResourceShareAssociations"), self._get_associations
            ),
            "GetResourceShareInvitations": FakeOperation(
                self._anywhere("ram:GetResourceShareInvitations"), self._get_invitations
            ),
            "ListPendingInvitationResources": FakeOperation(
                self._on_invitation("ram:ListPendingInvitationResources"),
                self._list_pending_invitation_resources,
            ),
            "AcceptResourceShareInvitation": FakeOperation(
                self._on_invitation("ram:AcceptResourceShareInvitation"),
                self._idempotent("AcceptResourceShareInvitation", self._accept),
            ),
            "RejectResourceShareInvitation": FakeOperation(
                self._on_invitation("ram:RejectResourceShareInvitation"),
                self._idempotent("RejectResourceShareInvitation", self._reject),
            ),
            "TagResource": FakeOperation(self._on_share("ram:TagResource"), self._tag),
            "UntagResource": FakeOperation(self._on_share("ram:UntagResource"), self._untag),
            "ListResources": FakeOperation(
                self._anywhere("ram:ListResources"), self._list_resources
            ),
            "EnableSharingWithAwsOrganization": FakeOperation(
                self._authorize_enable_org_sharing, self._enable_org_sharing
            ),
        }

    # ------------------------------------------------------------------ queries for the world

    def grants_access(self, resource_arn: str, account: str) -> bool:
        """Whether an ACTIVE share gives `account` the resource (associated, or still
        disassociating)."""
        return self._records.grants_access(resource_arn, account, self._now())

    def principals_granted(self, resource_arn: str) -> list[str]:
        """The principals with access through the ACTIVE shares of the resource, for its policy."""
        return self._records.principals_granted(resource_arn, self._now())

    def resources_shared_with(self, account: str, region: str) -> list[str]:
        return self._records.resources_shared_with(account, region, self._now())

    # ------------------------------------------------------------------ scenario controls

    def fail_share(self, share_arn: str, status_message: str) -> None:
        """The share turns FAILED, as RAM reports it (with a statusMessage)."""
        share = self._records.shares[share_arn]
        share.lifecycle = share.lifecycle.changed("FAILED", self._now())
        share.status_message = status_message

    def fail_association(self, share_arn: str, entity: str, status_message: str) -> None:
        """An existing principal or resource association of the share turns FAILED."""
        now = self._now()
        (association,) = [
            a
            for a in self._records.live_associations(self._records.shares[share_arn], now)
            if a.entity == entity
        ]
        association.lifecycle = association.lifecycle.changed("FAILED", now)
        association.status_message = status_message

    def next_associations_end_as(
        self, entity: str, status: str, status_message: str = "", *, times: int = 1
    ) -> None:
        """The next `times` associations of `entity` (a principal or a resource) end in
        `status` instead: FAILED (with the message; a principal gets no invitation), or
        ASSOCIATING for good (a resource RAM never finishes sharing)."""
        if status not in ("FAILED", "ASSOCIATING"):
            raise ValueError(
                f"an association can be made to end FAILED or ASSOCIATING, not {status}"
            )
        self._association_outcomes.append(_Outcome(entity, status, status_message, times))

    def next_shares_stay(self, status: str, *, times: int = 1) -> None:
        """The next `times` shares created stay in `status` (PENDING) instead of ACTIVE."""
        if status != "PENDING":
            raise ValueError(f"a new share can be made to stay PENDING, not {status}")
        self._share_outcomes.append(_Outcome(None, status, "", times))

    def _take_outcome(self, outcomes: list[_Outcome], entity: str | None) -> _Outcome | None:
        for outcome in outcomes:
            if outcome.remaining > 0 and outcome.entity == entity:
                outcome.remaining -= 1
                return outcome
        return None

    # ------------------------------------------------------------------ authorization

    def _anywhere(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        return lambda caller, params: [caller.authorization_request(action, ANY_RESOURCE)]

    def _authorize_create(self, caller: Caller, params: Params) -> list[AuthorizationRequest]:
        common: dict[str, str | tuple[str, ...]] = {}
        if "allowExternalPrincipals" in params:
            common["ram:RequestedAllowsExternalPrincipals"] = bool_value(
                params["allowExternalPrincipals"]
            )
        common |= request_tag_context(params.get("tags", []))
        requests = [
            caller.authorization_request("ram:CreateResourceShare", ANY_RESOURCE, context)
            for context in entity_contexts(params, common)
        ]
        now = self._now()
        principals = frozenset(params.get("principals", []))
        new_share = "<the share being created>"
        for group in params.get("resourceArns", []):
            if resource_type(group) == LINEAGE_GROUP_RESOURCE_TYPE:
                requests += self._lineage_policy_change(caller, group, {new_share: principals}, now)
        return requests

    def _authorize_enable_org_sharing(
        self, caller: Caller, params: Params
    ) -> list[AuthorizationRequest]:
        """The RAM action, and what RAM does with the caller's permissions to enable it (RAM user
        guide, "Enable resource sharing within AWS Organizations", minimum permissions): create
        its service-linked role, enable trusted access for ram.amazonaws.com, read the
        organization. Inference: once enabled, a repeated call needs only the RAM action (the
        role and the trusted access exist)."""
        requests = [
            caller.authorization_request("ram:EnableSharingWithAwsOrganization", ANY_RESOURCE)
        ]
        organization = self._organizations.of_account(caller.account)
        if organization is not None and organization.ram_sharing_enabled:
            return requests
        role = (
            f"arn:{self._partition}:iam::{caller.account}:role/aws-service-role/"
            f"{RAM_SERVICE_PRINCIPAL}/AWSServiceRoleForResourceAccessManager"
        )
        return [
            *requests,
            caller.authorization_request(
                "iam:CreateServiceLinkedRole", role, {"iam:AWSServiceName": RAM_SERVICE_PRINCIPAL}
            ),
            caller.authorization_request(
                "organizations:EnableAWSServiceAccess",
                ANY_RESOURCE,
                {"organizations:ServicePrincipal": RAM_SERVICE_PRINCIPAL},
            ),
            caller.authorization_request("organizations:DescribeOrganization", ANY_RESOURCE),
        ]

    def _on_share(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            if "resourceShareArn" not in params:
                raise NotImplementedError(f"{action} on a resource other than a resource share")
            arn = params["resourceShareArn"]
            common: dict[str, str | tuple[str, ...]] = {}
            share = self._records.shares.get(arn)
            if share is not None:
                common["ram:ResourceShareName"] = share.name
                common["ram:AllowsExternalPrincipals"] = bool_value(share.allow_external_principals)
                common |= tag_context("aws:ResourceTag", share.tags)
                common |= tag_context("ram:ResourceTag", share.tags)
            if "allowExternalPrincipals" in params:
                common["ram:RequestedAllowsExternalPrincipals"] = bool_value(
                    params["allowExternalPrincipals"]
                )
            if "tags" in params:
                common |= request_tag_context(params["tags"])
            if "tagKeys" in params:
                common["aws:TagKeys"] = tuple(params["tagKeys"])
            contexts = (
                entity_contexts(params, common) if action in _PER_ENTITY_ACTIONS else [common]
            )
            requests = [caller.authorization_request(action, arn, c) for c in contexts]
            if share is not None and action in _POLICY_CHANGING_ACTIONS:
                requests += self._owning_service_requests(caller, action, share, params)
            return requests

        return authorization

    def _owning_service_requests(
        self, caller: Caller, action: str, share: ResourceShare, params: Params
    ) -> list[AuthorizationRequest]:
        """What RAM needs of the caller at the owning service to change the groups' policies.

        Inference: refused with AccessDeniedException before anything changes (RAM could also
        report it later as a FAILED resource association; the handlers read those as well).
        """
        now = self._now()
        current = self._records.policy_principals_of(share, now)
        named = frozenset(params.get("principals", []))
        requests = []
        groups = dict.fromkeys(self._records.lineage_groups_of(share, now))
        for arn in params.get("resourceArns", []):
            if resource_type(arn) == LINEAGE_GROUP_RESOURCE_TYPE:
                groups[arn] = None
        for group in groups:
            if action == "ram:AssociateResourceShare":
                after = current | named
            elif action == "ram:DeleteResourceShare" or group in params.get("resourceArns", []):
                after = frozenset()  # the group leaves this share
            else:
                after = current - named
            requests += self._lineage_policy_change(caller, group, {share.arn: after}, now)
        return requests

    def _lineage_policy_change(
        self,
        caller: Caller,
        group: str,
        changed: dict[str, frozenset[str]],
        now: datetime,
    ) -> list[AuthorizationRequest]:
        before = self._records.lineage_policy_principals(group, now)
        after = self._records.lineage_policy_principals(group, now, changed)
        needed = lineage_policy_action(before, after)
        return [caller.authorization_request(needed, ANY_RESOURCE)] if needed else []

    def _on_invitation(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            arn = params["resourceShareInvitationArn"]
            context: dict[str, str | tuple[str, ...]] = {}
            parsed = Arn.parse(arn)
            if parsed is not None:
                context["ram:ShareOwnerAccountId"] = parsed.account
            invitation = self._records.invitations.get(arn)
            if invitation is not None:
                context["ram:ResourceShareName"] = self._records.shares[invitation.share_arn].name
            return [caller.authorization_request(action, arn, context)]

        return authorization

    # ------------------------------------------------------------------ idempotency

    def _idempotent(
        self, operation: str, execute: Callable[[Caller, Params], Response]
    ) -> Callable[[Caller, Params], Response]:
        def run(caller: Caller, params: Params) -> Response:
            token = params.get("clientToken")
            if token is None:
                return execute(caller, params)
            key = (caller.account, caller.region, operation, token)
            fingerprint = json.dumps(
                {name: value for name, value in params.items() if name != "clientToken"},
                sort_keys=True,
            )
            if key in self._client_tokens:
                earlier_fingerprint, earlier_response = self._client_tokens[key]
                if earlier_fingerprint != fingerprint:
                    raise ServiceError(
                        "IdempotentParameterMismatchException",
                        f"The client token {token} was already used with different parameters.",
                    )
                return copy.deepcopy(earlier_response)
            response = execute(caller, params)
            self._client_tokens[key] = (fingerprint, copy.deepcopy(response))
            return response

        return run

    # ------------------------------------------------------------------ shares

    def _create(self, caller: Caller, params: Params) -> Response:
        resource_arns = list(params.get("resourceArns", []))
        principals = list(params.get("principals", []))
        for name in (
            "permissionArns",
            "sources",
            "permissionTemplateParameters",
            "resourceShareConfiguration",
        ):
            if name in params:
                raise NotImplementedError(f"CreateResourceShare {name}")
        tags = tag_dict(params.get("tags", []))
        now = self._now()
        share = ResourceShare(
            arn=f"arn:{self._partition}:ram:{caller.region}:{caller.account}:resource-share/{self._new_id()}",
            name=params["name"],
            owner=caller.account,
            region=caller.region,
            allow_external_principals=params.get("allowExternalPrincipals", True),
            tags=tags,
            created=now,
            updated=now,
            lifecycle=Lifecycle("ACTIVE", now),
        )
        self._check_resources(caller, resource_arns)
        if (stays := self._take_outcome(self._share_outcomes, None)) is not None:
            share.lifecycle = Lifecycle(stays.status, now)
        plans = self._records.plan_principals(share, principals, self._now())
        self._records.shares[share.arn] = share
        self._emit_to([share.owner], share, [share.arn], SHARE_EVENT, "ACTIVE")
        self._add_resources(share, resource_arns)
        self._add_principals(share, plans)
        return with_token({"resourceShare": share_view(share, now)}, params)

    def _update(self, caller: Caller, params: Params) -> Response:
        now = self._now()
        share = self._records.owned_share(caller, params["resourceShareArn"], now)
        if "name" in params:
            share.name = params["name"]
        if "allowExternalPrincipals" in params:
            share.allow_external_principals = params["allowExternalPrincipals"]
        share.updated = now
        return with_token({"resourceShare": share_view(share, now)}, params)

    def _delete(self, caller: Caller, params: Params) -> Response:
        now = self._now()
        share = self._records.owned_share(caller, params["resourceShareArn"], now)
        if share.status(now) == "DELETING":
            # Inference: RAM does not document deleting a share it is still deleting; the model
            # lists InvalidStateTransitionException for DeleteResourceShare, the error RAM gives
            # for other calls that meet a change in progress.
            raise ServiceError(
                "InvalidStateTransitionException",
                f"ResourceShare {share.arn} is DELETING; it cannot be deleted again.",
            )
        delay = self._transition_delay()
        share.lifecycle = share.lifecycle.changing("DELETING", "DELETED", now, delay)
        receivers: set[str] = set()
        for association in self._records.live_associations(share, now):
            if association.lifecycle.in_transition(now):
                continue  # already DISASSOCIATING: it settles on its own schedule
            if association.type == "PRINCIPAL":
                receivers |= self._records.accounts_of_principal(share, association.entity)
            # Inference: the associations settle together with the share. Access already ended
            # when the share went DELETING (see ShareRecords.active_shares_of_resource).
            association.lifecycle = association.lifecycle.changing(
                "DISASSOCIATING", "DISASSOCIATED", now, delay
            )
        self._records.withdraw_invitations(share)
        # Inference: announced when asked for, as for disassociations (see _disassociate).
        self._emit_to([share.owner, *sorted(receivers)], share, [share.arn], SHARE_EVENT, "DELETED")
        return with_token({"returnValue": True}, params)

    def _get_resource_shares(self, caller: Caller, params: Params) -> Response:
        if "permissionArn" in params or "permissionVersion" in params:
            raise NotImplementedError("GetResourceShares permission filters")
        for arn in params.get("resourceShareArns", []):
            require_arn(arn)
        now = self._now()
        if params["resourceOwner"] == "SELF":
            shares = [
                s
                for s in self._records.shares.values()
                if s.visible_to_owner(caller.account, caller.region, now)
            ]
        else:
            shares = self._records.shares_received_by(caller, now)
        shares = [s for s in shares if share_matches(s, params, now)]
        page, token = self._page("GetResourceShares", shares, params)
        return self._paging.with_next_token(
            {"resourceShares": [share_view(s, now) for s in page]}, token
        )

    def _tag(self, caller: Caller, params: Params) -> Response:
        share = self._records.owned_share(caller, params["resourceShareArn"], self._now())
        tags = {**share.tags, **tag_dict(params["tags"])}
        if len(tags) > TAGS_PER_SHARE:
            raise ServiceError(
                "TagLimitExceededException",
                f"A resource share can have at most {TAGS_PER_SHARE} tags.",
            )
        share.tags = tags
        return {}

    def _untag(self, caller: Caller, params: Params) -> Response:
        share = self._records.owned_share(caller, params["resourceShareArn"], self._now())
        share.tags = {k: v for k, v in share.tags.items() if k not in set(params["tagKeys"])}
        return {}

    def _enable_org_sharing(self, caller: Caller, params: Params) -> Response:
        organization = self._organizations.of_account(caller.account)
        if organization is None or organization.management_account != caller.account:
            raise ServiceError(
                "OperationNotPermittedException",
                "Sharing with AWS Organizations can be enabled only by the organization's management account.",
            )
        organization.ram_sharing_enabled = True
        return {"returnValue": True}

    # ------------------------------------------------------------------ associations

    def _associate(self, caller: Caller, params: Params) -> Response:
        if "sources" in params:
            raise NotImplementedError("AssociateResourceShare sources")
        now = self._now()
        share = self._records.owned_share(caller, params["resourceShareArn"], now)
        if share.status(now) != "ACTIVE":
            raise ServiceError(
                "InvalidStateTransitionException",
                f"ResourceShare {share.arn} is {share.status(now)}.",
            )
        resource_arns = list(params.get("resourceArns", []))
        principals = list(params.get("principals", []))
        self._check_resources(caller, resource_arns)
        # Inference: RAM documents this error for AssociateResourceShare without saying when;
        # associating what it is still disassociating is the case the handlers wait out.
        self._records.refuse_entities_in_transition(share, [*resource_arns, *principals], now)
        plans = self._records.plan_principals(share, principals, now)
        self._add_resources(share, resource_arns)
        self._add_principals(share, plans)
        touched = set(resource_arns) | {plan.principal for plan in plans}
        return with_token(
            {
                "resourceShareAssociations": [
                    association_view(share, a, now)
                    for a in self._records.live_associations(share, now)
                    if a.entity in touched
                ]
            },
            params,
        )

    def _disassociate(self, caller: Caller, params: Params) -> Response:
        if "sources" in params:
            raise NotImplementedError("DisassociateResourceShare sources")
        now = self._now()
        share = self._records.share_to_disassociate(caller, params["resourceShareArn"], now)
        requested = [*params.get("principals", []), *params.get("resourceArns", [])]
        by_entity = {a.entity: a for a in self._records.live_associations(share, now)}
        missing = [entity for entity in requested if entity not in by_entity]
        if missing:
            # Inference: RAM's answer for an entity that is not associated is not documented.
            raise ServiceError(
                "UnknownResourceException", f"{missing[0]} is not associated with {share.arn}."
            )
        # Inference: disassociating again while DISASSOCIATING is refused like associating.
        self._records.refuse_entities_in_transition(share, requested, now)
        delay = self._transition_delay()
        for entity in requested:
            association = by_entity[entity]
            # A principal keeps its access until DISASSOCIATED (see Association.holds_access).
            association.lifecycle = association.lifecycle.changing(
                "DISASSOCIATING", "DISASSOCIATED", now, delay
            )
            if association.type == "PRINCIPAL":
                self._records.withdraw_invitations(share, receiver=entity)
                accounts = self._records.accounts_of_principal(share, entity)
                # Inference: the event announces the outcome when it is asked for; delivery is
                # best effort and RAM documents no timing, so consumers must not rely on it.
                self._emit_to(
                    [share.owner, *sorted(accounts)],
                    share,
                    [share.arn],
                    ASSOCIATION_EVENT,
                    "DISASSOCIATED",
                )
        return with_token(
            {
                "resourceShareAssociations": [
                    association_view(share, by_entity[e], now) for e in requested
                ]
            },
            params,
        )

    def _get_associations(self, caller: Caller, params: Params) -> Response:
        association_type = params["associationType"]
        if association_type == "SOURCE":
            raise NotImplementedError("GetResourceShareAssociations SOURCE")
        if "principal" in params and association_type != "PRINCIPAL":
            raise ServiceError(
                "InvalidParameterException",
                "principal can be given only for PRINCIPAL associations.",
            )
        if "resourceArn" in params and association_type != "RESOURCE":
            raise ServiceError(
                "InvalidParameterException",
                "resourceArn can be given only for RESOURCE associations.",
            )
        share_arns = set(params.get("resourceShareArns", []))
        for arn in share_arns:
            require_arn(arn)
        now = self._now()
        rows = [
            (share, association)
            for share in self._records.shares.values()
            if (not share_arns or share.arn in share_arns)
            for association in self._records.associations_of(share)
            if association.type == association_type
            and self._records.association_visible(caller, share, association, now)
            and params.get("principal", association.entity) == association.entity
            and params.get("resourceArn", association.entity) == association.entity
            and params.get("associationStatus", association.status(now)) == association.status(now)
        ]
        page, token = self._page("GetResourceShareAssociations", rows, params)
        return self._paging.with_next_token(
            {"resourceShareAssociations": [association_view(s, a, now) for s, a in page]}, token
        )

    def _list_resources(self, caller: Caller, params: Params) -> Response:
        now = self._now()
        if params.get("resourceOwner") == "SELF":
            shares = [
                s
                for s in self._records.shares.values()
                if s.status(now) == "ACTIVE"
                and s.owner == caller.account
                and s.region == caller.region
            ]
            if "principal" in params:
                shares = [
                    s
                    for s in shares
                    if any(
                        a.entity == params["principal"] and a.holds_access(now)
                        for a in self._records.principal_associations(s)
                    )
                ]
        else:
            shares = self._records.shares_received_by(caller, now)
        if params.get("resourceRegionScope") == "GLOBAL":
            shares = []
        rows = [
            (share, association)
            for share in shares
            if share.arn in params.get("resourceShareArns", [share.arn])
            for association in self._records.resource_associations(share)
            if association.holds_access(now)
            and association.entity in params.get("resourceArns", [association.entity])
            and params.get("resourceType", resource_type(association.entity))
            == resource_type(association.entity)
        ]
        page, token = self._page("ListResources", rows, params)
        return self._paging.with_next_token(
            {"resources": [resource_view(s, a, now) for s, a in page]}, token
        )

    # ------------------------------------------------------------------ invitations

    def _get_invitations(self, caller: Caller, params: Params) -> Response:
        received = [
            invitation
            for invitation in self._records.invitations.values()
            if invitation.receiver == caller.account
            and invitation.region == caller.region
            and not invitation.withdrawn
        ]
        wanted = params.get("resourceShareInvitationArns")
        if wanted:
            for arn in wanted:
                require_arn(arn)
            unknown = [arn for arn in wanted if arn not in {i.arn for i in received}]
            if unknown:
                raise ServiceError(
                    "ResourceShareInvitationArnNotFoundException",
                    f"ResourceShareInvitation {unknown[0]} could not be found.",
                )
            received = [i for i in received if i.arn in wanted]
        if params.get("resourceShareArns"):
            received = [i for i in received if i.share_arn in params["resourceShareArns"]]
        page, token = self._page("GetResourceShareInvitations", received, params)
        return self._paging.with_next_token(
            {"resourceShareInvitations": [self._invitation_view(i) for i in page]}, token
        )

    def _list_pending_invitation_resources(self, caller: Caller, params: Params) -> Response:
        invitation = self._records.received_invitation(caller, params["resourceShareInvitationArn"])
        now = self._now()
        status = invitation.status(now)
        if status == "REJECTED":
            raise ServiceError(
                "ResourceShareInvitationAlreadyRejectedException",
                f"ResourceShareInvitation {invitation.arn} has already been rejected.",
            )
        if status == "EXPIRED":
            raise ServiceError(
                "ResourceShareInvitationExpiredException",
                f"ResourceShareInvitation {invitation.arn} has expired.",
            )
        share = self._records.shares[invitation.share_arn]
        rows = (
            []
            if params.get("resourceRegionScope") == "GLOBAL"
            else [
                (share, a)
                for a in self._records.resource_associations(share)
                if a.holds_access(now)
            ]
        )
        page, token = self._page("ListPendingInvitationResources", rows, params)
        return self._paging.with_next_token(
            {"resources": [resource_view(s, a, now) for s, a in page]}, token
        )

    def _accept(self, caller: Caller, params: Params) -> Response:
        invitation = self._records.answerable_invitation(
            caller, params["resourceShareInvitationArn"], self._now()
        )
        share = self._records.shares[invitation.share_arn]
        now = self._now()
        invitation.decision = "ACCEPTED"
        for association in self._records.principal_associations(share):
            if (
                association.entity == invitation.receiver
                and association.status(now) == "ASSOCIATING"
            ):
                association.lifecycle = association.lifecycle.changed("ASSOCIATED", now)
        self._emit_to(
            [invitation.receiver, share.owner],
            share,
            [invitation.arn],
            INVITATION_EVENT,
            "ACCEPTED",
        )
        return with_token({"resourceShareInvitation": self._invitation_view(invitation)}, params)

    def _reject(self, caller: Caller, params: Params) -> Response:
        invitation = self._records.answerable_invitation(
            caller, params["resourceShareInvitationArn"], self._now()
        )
        share = self._records.shares[invitation.share_arn]
        now = self._now()
        invitation.decision = "REJECTED"
        for association in self._records.principal_associations(share):
            if (
                association.entity == invitation.receiver
                and association.status(now) == "ASSOCIATING"
            ):
                # Inference: the undocumented end state of a rejected principal association.
                association.lifecycle = association.lifecycle.changed("DISASSOCIATED", now)
                association.status_message = "The invitation was rejected."
        self._emit_to(
            [invitation.receiver, share.owner],
            share,
            [invitation.arn],
            INVITATION_EVENT,
            "REJECTED",
        )
        return with_token({"resourceShareInvitation": self._invitation_view(invitation)}, params)

    # ------------------------------------------------------------------ principals

    def _add_principals(self, share: ResourceShare, plans: list[PrincipalPlan]) -> None:
        now = self._now()
        for plan in plans:
            self._records.drop_restartable(share, plan.principal, now)
            association = Association(
                share.arn,
                plan.principal,
                "PRINCIPAL",
                plan.external,
                created=now,
                lifecycle=Lifecycle(plan.status, now),
            )
            self._records.associations.append(association)
            ends = self._take_outcome(self._association_outcomes, plan.principal)
            if ends is not None and ends.status == "FAILED":
                association.lifecycle = Lifecycle("FAILED", now)
                association.status_message = ends.status_message
                self._emit_to([share.owner], share, [share.arn], ASSOCIATION_EVENT, "FAILED")
                continue
            if plan.needs_invitation:
                invitation = Invitation(
                    arn=f"arn:{self._partition}:ram:{share.region}:{share.owner}:resource-share-invitation/{self._new_id()}",
                    share_arn=share.arn,
                    sender=share.owner,
                    receiver=plan.principal,
                    region=share.region,
                    created=now,
                )
                self._records.invitations[invitation.arn] = invitation
                self._emit_to(
                    [plan.principal, share.owner],
                    share,
                    [invitation.arn],
                    INVITATION_EVENT,
                    "PENDING",
                )
            else:
                self._emit_to(
                    [share.owner, *sorted(plan.accounts)],
                    share,
                    [share.arn],
                    ASSOCIATION_EVENT,
                    plan.status,
                )

    # ------------------------------------------------------------------ resources

    def register_resource(self, arn: str) -> None:
        """Let a shareable resource of another service exist, e.g. to share it maliciously."""
        if resource_type(arn) in (None, LINEAGE_GROUP_RESOURCE_TYPE):
            raise ValueError(f"{arn}: only the resource types in OTHER_RESOURCE_TYPES")
        self._other_resources.add(arn)

    def _check_resources(self, caller: Caller, resource_arns: list[str]) -> None:
        for arn in resource_arns:
            parsed = require_arn(arn)
            if resource_type(arn) is None:
                raise NotImplementedError(
                    f"sharing {arn} (only SageMaker lineage groups are modelled)"
                )
            exists = arn in self._other_resources or self._resources.resource_exists(arn)
            if parsed.account != caller.account or parsed.region != caller.region or not exists:
                raise ServiceError(
                    "UnknownResourceException", f"Resource {arn} could not be found."
                )

    def _add_resources(self, share: ResourceShare, resource_arns: list[str]) -> None:
        now = self._now()
        live = {a.entity for a in self._records.live_associations(share, now)}
        for arn in dict.fromkeys(resource_arns):
            if arn not in live:
                ends = self._take_outcome(self._association_outcomes, arn)
                self._records.associations.append(
                    Association(
                        share.arn,
                        arn,
                        "RESOURCE",
                        external=False,
                        created=now,
                        lifecycle=Lifecycle(ends.status if ends else "ASSOCIATED", now),
                        status_message=ends.status_message if ends else "",
                    )
                )

    # ------------------------------------------------------------------ paging, events, views

    def _page(
        self, operation: str, items: list[Any], params: Params
    ) -> tuple[list[Any], str | None]:
        return self._paging.page(
            operation,
            items,
            next_token=params.get("nextToken"),
            max_results=params.get("maxResults"),
            default_page_size=DEFAULT_PAGE_SIZE,
        )

    def _emit_to(
        self,
        accounts: list[str],
        share: ResourceShare,
        resources: list[str],
        event: str,
        status: str,
    ) -> None:
        for account in dict.fromkeys(accounts):
            self._events.emit(account, share.region, resources, event, status)

    def _invitation_view(self, invitation: Invitation) -> dict[str, Any]:
        share = self._records.shares[invitation.share_arn]
        return invitation_view(invitation, share, self._now())
