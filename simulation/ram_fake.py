"""AWS RAM, the regional subset the lineage sharing stacks use (see shared/FACTS.md).

Documented behaviour modelled: shares, principal and resource associations, invitations only
for principals that need one, 12-hour invitation expiry, deleted shares listed for about 2 h,
clientToken idempotency, the 20 pending invitations quota, org sharing, EventBridge events to
owner and receivers. State changes complete at once (deterministic). Behaviour the
documentation does not pin down is marked "Inference" where it is decided.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
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
from simulation.organizations import Organization, Organizations

INVITATION_LIFETIME = timedelta(hours=12)
DELETED_SHARE_VISIBILITY = timedelta(hours=2)
PENDING_INVITATIONS_PER_SENDER = 20
TAGS_PER_SHARE = 50
# Inference: RAM documents no default page size; 50 keeps listings short enough to page.
DEFAULT_PAGE_SIZE = 50
LINEAGE_GROUP_RESOURCE_TYPE = "sagemaker:LineageGroup"

# detail.event values. Inference: the documentation fixes only that `event` and `status` exist.
SHARE_EVENT = "Resource Share"
INVITATION_EVENT = "Resource Share Invitation"
ASSOCIATION_EVENT = "Resource Share Association"


class SharedResources(Protocol):
    """The owning services' side: does a resource exist (RAM refuses to share what doesn't)."""

    def resource_exists(self, arn: str) -> bool: ...


class EventSink(Protocol):
    def emit(
        self, account: str, region: str, resources: list[str], event: str, status: str
    ) -> None: ...


@dataclass
class ResourceShare:
    arn: str
    name: str
    owner: str
    region: str
    allow_external_principals: bool
    tags: dict[str, str]
    created: datetime
    updated: datetime
    status: str = "ACTIVE"
    deleted: datetime | None = None


@dataclass
class Association:
    share_arn: str
    entity: str  # a principal (account id, organization or OU ARN) or a resource ARN
    type: str  # PRINCIPAL | RESOURCE
    status: str
    external: bool
    created: datetime
    updated: datetime
    status_message: str = ""


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
class _PrincipalPlan:
    principal: str
    status: str
    external: bool
    needs_invitation: bool
    accounts: frozenset[str] = field(default_factory=frozenset)


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
    ) -> None:
        self._now = now
        self._new_id = new_id
        self._organizations = organizations
        self._resources = resources
        self._events = events
        self._partition = partition
        self._shares: dict[str, ResourceShare] = {}
        self._associations: list[Association] = []
        self._invitations: dict[str, Invitation] = {}
        # Resources of other services a scenario says exist (e.g. a subnet an account shares).
        self._other_resources: set[str] = set()
        self._client_tokens: dict[tuple[str, str, str, str], tuple[str, Response]] = {}
        self._paging = Paging(invalid_token_error="InvalidNextTokenException")
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
                self._anywhere("ram:EnableSharingWithAwsOrganization"), self._enable_org_sharing
            ),
        }

    # ------------------------------------------------------------------ queries for the world

    def grants_access(self, resource_arn: str, account: str) -> bool:
        """Whether an ACTIVE share gives `account` the resource (association ASSOCIATED)."""
        return any(
            account in self._accounts_with_access(share)
            for share in self._active_shares_of_resource(resource_arn)
        )

    def principals_granted(self, resource_arn: str) -> list[str]:
        """The ASSOCIATED principals of the ACTIVE shares of the resource, for its policy."""
        principals = {
            association.entity
            for share in self._active_shares_of_resource(resource_arn)
            for association in self._principal_associations(share)
            if association.status == "ASSOCIATED"
        }
        return sorted(principals)

    def resources_shared_with(self, account: str, region: str) -> list[str]:
        arns = {
            association.entity
            for share in self._shares.values()
            if share.status == "ACTIVE" and share.region == region and share.owner != account
            if account in self._accounts_with_access(share)
            for association in self._resource_associations(share)
            if association.status == "ASSOCIATED"
        }
        return sorted(arns)

    # ------------------------------------------------------------------ authorization

    def _anywhere(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        return lambda caller, params: [caller.authorization_request(action, ANY_RESOURCE)]

    def _authorize_create(self, caller: Caller, params: Params) -> list[AuthorizationRequest]:
        context: dict[str, str | tuple[str, ...]] = {}
        resource_arns = params.get("resourceArns", [])
        if resource_arns:
            context["ram:ResourceArn"] = tuple(resource_arns)
            types = sorted({_resource_type(arn) or "" for arn in resource_arns})
            context["ram:RequestedResourceType"] = types[0] if len(types) == 1 else tuple(types)
        if params.get("principals"):
            context["ram:Principal"] = tuple(params["principals"])
        if "allowExternalPrincipals" in params:
            context["ram:RequestedAllowsExternalPrincipals"] = _bool(
                params["allowExternalPrincipals"]
            )
        context |= _request_tag_context(params.get("tags", []))
        return [caller.authorization_request("ram:CreateResourceShare", ANY_RESOURCE, context)]

    def _on_share(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            if "resourceShareArn" not in params:
                raise NotImplementedError(f"{action} on a resource other than a resource share")
            arn = params["resourceShareArn"]
            context: dict[str, str | tuple[str, ...]] = {}
            share = self._shares.get(arn)
            if share is not None:
                context["ram:ResourceShareName"] = share.name
                context["ram:AllowsExternalPrincipals"] = _bool(share.allow_external_principals)
                context |= tag_context("aws:ResourceTag", share.tags)
                context |= tag_context("ram:ResourceTag", share.tags)
            if params.get("principals"):
                context["ram:Principal"] = tuple(params["principals"])
            if params.get("resourceArns"):
                context["ram:ResourceArn"] = tuple(params["resourceArns"])
            if "allowExternalPrincipals" in params:
                context["ram:RequestedAllowsExternalPrincipals"] = _bool(
                    params["allowExternalPrincipals"]
                )
            if "tags" in params:
                context |= _request_tag_context(params["tags"])
            if "tagKeys" in params:
                context["aws:TagKeys"] = tuple(params["tagKeys"])
            return [caller.authorization_request(action, arn, context)]

        return authorization

    def _on_invitation(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            arn = params["resourceShareInvitationArn"]
            context: dict[str, str | tuple[str, ...]] = {}
            parsed = Arn.parse(arn)
            if parsed is not None:
                context["ram:ShareOwnerAccountId"] = parsed.account
            invitation = self._invitations.get(arn)
            if invitation is not None:
                context["ram:ResourceShareName"] = self._shares[invitation.share_arn].name
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
        tags = _tags(params.get("tags", []))
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
        )
        self._check_resources(caller, resource_arns)
        plans = self._plan_principals(share, principals)
        self._shares[share.arn] = share
        self._emit_to([share.owner], share, [share.arn], SHARE_EVENT, "ACTIVE")
        self._add_resources(share, resource_arns)
        self._add_principals(share, plans)
        return _with_token({"resourceShare": self._share_view(share)}, params)

    def _update(self, caller: Caller, params: Params) -> Response:
        share = self._owned_share(caller, params["resourceShareArn"])
        if "name" in params:
            share.name = params["name"]
        if "allowExternalPrincipals" in params:
            share.allow_external_principals = params["allowExternalPrincipals"]
        share.updated = self._now()
        return _with_token({"resourceShare": self._share_view(share)}, params)

    def _delete(self, caller: Caller, params: Params) -> Response:
        share = self._owned_share(caller, params["resourceShareArn"])
        now = self._now()
        share.status, share.deleted, share.updated = "DELETED", now, now
        receivers: set[str] = set()
        for association in self._associations_of(share):
            if association.status != "DISASSOCIATED":
                if association.type == "PRINCIPAL":
                    receivers |= self._accounts_of_principal(share, association.entity)
                association.status, association.updated = "DISASSOCIATED", now
        self._withdraw_invitations(share)
        self._emit_to([share.owner, *sorted(receivers)], share, [share.arn], SHARE_EVENT, "DELETED")
        return _with_token({"returnValue": True}, params)

    def _get_resource_shares(self, caller: Caller, params: Params) -> Response:
        if "permissionArn" in params or "permissionVersion" in params:
            raise NotImplementedError("GetResourceShares permission filters")
        for arn in params.get("resourceShareArns", []):
            _require_arn(arn)
        if params["resourceOwner"] == "SELF":
            shares = [s for s in self._shares.values() if self._visible_to_owner(caller, s)]
        else:
            # Inference: shares from other accounts are listed once the caller is ASSOCIATED.
            shares = [
                s
                for s in self._shares.values()
                if s.status == "ACTIVE"
                and s.region == caller.region
                and s.owner != caller.account
                and caller.account in self._accounts_with_access(s)
            ]
        shares = [s for s in shares if _share_matches(s, params)]
        page, token = self._page("GetResourceShares", shares, params)
        return _with_next({"resourceShares": [self._share_view(s) for s in page]}, token)

    def _tag(self, caller: Caller, params: Params) -> Response:
        share = self._owned_share(caller, params["resourceShareArn"])
        tags = {**share.tags, **_tags(params["tags"])}
        if len(tags) > TAGS_PER_SHARE:
            raise ServiceError(
                "TagLimitExceededException",
                f"A resource share can have at most {TAGS_PER_SHARE} tags.",
            )
        share.tags = tags
        return {}

    def _untag(self, caller: Caller, params: Params) -> Response:
        share = self._owned_share(caller, params["resourceShareArn"])
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
        share = self._owned_share(caller, params["resourceShareArn"])
        if share.status != "ACTIVE":
            raise ServiceError(
                "InvalidStateTransitionException", f"ResourceShare {share.arn} is {share.status}."
            )
        resource_arns = list(params.get("resourceArns", []))
        self._check_resources(caller, resource_arns)
        plans = self._plan_principals(share, list(params.get("principals", [])))
        self._add_resources(share, resource_arns)
        self._add_principals(share, plans)
        touched = set(resource_arns) | {plan.principal for plan in plans}
        return _with_token(
            {
                "resourceShareAssociations": [
                    self._association_view(share, a)
                    for a in self._live_associations(share)
                    if a.entity in touched
                ]
            },
            params,
        )

    def _disassociate(self, caller: Caller, params: Params) -> Response:
        if "sources" in params:
            raise NotImplementedError("DisassociateResourceShare sources")
        share = self._share_for_disassociation(caller, params)
        now = self._now()
        requested = [*params.get("principals", []), *params.get("resourceArns", [])]
        by_entity = {a.entity: a for a in self._live_associations(share)}
        missing = [entity for entity in requested if entity not in by_entity]
        if missing:
            # Inference: RAM's answer for an entity that is not associated is not documented.
            raise ServiceError(
                "UnknownResourceException", f"{missing[0]} is not associated with {share.arn}."
            )
        for entity in requested:
            association = by_entity[entity]
            association.status, association.updated = "DISASSOCIATED", now
            if association.type == "PRINCIPAL":
                self._withdraw_invitations(share, receiver=entity)
                accounts = self._accounts_of_principal(share, entity)
                self._emit_to(
                    [share.owner, *sorted(accounts)],
                    share,
                    [share.arn],
                    ASSOCIATION_EVENT,
                    "DISASSOCIATED",
                )
        return _with_token(
            {
                "resourceShareAssociations": [
                    self._association_view(share, by_entity[e]) for e in requested
                ]
            },
            params,
        )

    def _share_for_disassociation(self, caller: Caller, params: Params) -> ResourceShare:
        share = self._shares.get(params["resourceShareArn"])
        is_receiver = (
            share is not None
            and share.owner != caller.account
            and share.region == caller.region
            and caller.account in self._accounts_with_access(share)
        )
        if share is not None and is_receiver:
            # FACTS: a consumer cannot leave a lineage-group share itself.
            raise ServiceError(
                "OperationNotPermittedException",
                f"You cannot leave resource share {share.arn}: it contains resources of a type that can't be left.",
            )
        return self._owned_share(caller, params["resourceShareArn"])

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
            _require_arn(arn)
        rows = [
            (share, association)
            for share in self._shares.values()
            if (not share_arns or share.arn in share_arns)
            for association in self._associations_of(share)
            if association.type == association_type
            and self._association_visible(caller, share, association)
            and params.get("principal", association.entity) == association.entity
            and params.get("resourceArn", association.entity) == association.entity
            and params.get("associationStatus", association.status) == association.status
        ]
        page, token = self._page("GetResourceShareAssociations", rows, params)
        return _with_next(
            {"resourceShareAssociations": [self._association_view(s, a) for s, a in page]}, token
        )

    def _association_visible(
        self, caller: Caller, share: ResourceShare, association: Association
    ) -> bool:
        if share.region != caller.region:
            return False
        if share.owner == caller.account:
            return self._visible_to_owner(caller, share)
        # Inference: a receiver sees its own principal association.
        return association.entity == caller.account

    def _list_resources(self, caller: Caller, params: Params) -> Response:
        if params.get("resourceOwner") == "SELF":
            shares = [
                s
                for s in self._shares.values()
                if s.status == "ACTIVE" and s.owner == caller.account and s.region == caller.region
            ]
            if "principal" in params:
                shares = [
                    s
                    for s in shares
                    if any(
                        a.entity == params["principal"] and a.status == "ASSOCIATED"
                        for a in self._principal_associations(s)
                    )
                ]
        else:
            shares = [
                s
                for s in self._shares.values()
                if s.status == "ACTIVE"
                and s.region == caller.region
                and s.owner != caller.account
                and caller.account in self._accounts_with_access(s)
            ]
        if params.get("resourceRegionScope") == "GLOBAL":
            shares = []
        rows = [
            (share, association)
            for share in shares
            if share.arn in params.get("resourceShareArns", [share.arn])
            for association in self._resource_associations(share)
            if association.status == "ASSOCIATED"
            and association.entity in params.get("resourceArns", [association.entity])
            and params.get("resourceType", _resource_type(association.entity))
            == _resource_type(association.entity)
        ]
        page, token = self._page("ListResources", rows, params)
        return _with_next({"resources": [_resource_view(s, a) for s, a in page]}, token)

    # ------------------------------------------------------------------ invitations

    def _get_invitations(self, caller: Caller, params: Params) -> Response:
        received = [
            invitation
            for invitation in self._invitations.values()
            if invitation.receiver == caller.account
            and invitation.region == caller.region
            and not invitation.withdrawn
        ]
        wanted = params.get("resourceShareInvitationArns")
        if wanted:
            for arn in wanted:
                _require_arn(arn)
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
        return _with_next(
            {"resourceShareInvitations": [self._invitation_view(i) for i in page]}, token
        )

    def _list_pending_invitation_resources(self, caller: Caller, params: Params) -> Response:
        invitation = self._received_invitation(caller, params["resourceShareInvitationArn"])
        status = invitation.status(self._now())
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
        share = self._shares[invitation.share_arn]
        rows = (
            []
            if params.get("resourceRegionScope") == "GLOBAL"
            else [
                (share, a) for a in self._resource_associations(share) if a.status == "ASSOCIATED"
            ]
        )
        page, token = self._page("ListPendingInvitationResources", rows, params)
        return _with_next({"resources": [_resource_view(s, a) for s, a in page]}, token)

    def _accept(self, caller: Caller, params: Params) -> Response:
        invitation = self._answerable_invitation(caller, params["resourceShareInvitationArn"])
        share = self._shares[invitation.share_arn]
        now = self._now()
        invitation.decision = "ACCEPTED"
        for association in self._principal_associations(share):
            if association.entity == invitation.receiver and association.status == "ASSOCIATING":
                association.status, association.updated = "ASSOCIATED", now
        self._emit_to(
            [invitation.receiver, share.owner],
            share,
            [invitation.arn],
            INVITATION_EVENT,
            "ACCEPTED",
        )
        return _with_token({"resourceShareInvitation": self._invitation_view(invitation)}, params)

    def _reject(self, caller: Caller, params: Params) -> Response:
        invitation = self._answerable_invitation(caller, params["resourceShareInvitationArn"])
        share = self._shares[invitation.share_arn]
        now = self._now()
        invitation.decision = "REJECTED"
        for association in self._principal_associations(share):
            if association.entity == invitation.receiver and association.status == "ASSOCIATING":
                # Inference: the undocumented end state of a rejected principal association.
                association.status, association.updated = "DISASSOCIATED", now
                association.status_message = "The invitation was rejected."
        self._emit_to(
            [invitation.receiver, share.owner],
            share,
            [invitation.arn],
            INVITATION_EVENT,
            "REJECTED",
        )
        return _with_token({"resourceShareInvitation": self._invitation_view(invitation)}, params)

    def _answerable_invitation(self, caller: Caller, arn: str) -> Invitation:
        invitation = self._received_invitation(caller, arn)
        status = invitation.status(self._now())
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

    def _received_invitation(self, caller: Caller, arn: str) -> Invitation:
        parsed = _require_arn(arn)
        invitation = self._invitations.get(arn)
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

    # ------------------------------------------------------------------ principals

    def _plan_principals(self, share: ResourceShare, principals: list[str]) -> list[_PrincipalPlan]:
        """Check every principal before anything changes, so a refused call changes nothing."""
        live = {a.entity for a in self._live_associations(share)}
        plans = [self._plan_principal(share, p) for p in dict.fromkeys(principals) if p not in live]
        invitations = sum(plan.needs_invitation for plan in plans)
        pending = sum(
            1
            for i in self._invitations.values()
            if i.sender == share.owner
            and i.region == share.region
            and not i.withdrawn
            and i.status(self._now()) == "PENDING"
        )
        if invitations and pending + invitations > PENDING_INVITATIONS_PER_SENDER:
            raise ServiceError(
                "ResourceShareLimitExceededException",
                f"Account {share.owner} would exceed {PENDING_INVITATIONS_PER_SENDER} pending invitations.",
            )
        return plans

    def _plan_principal(self, share: ResourceShare, principal: str) -> _PrincipalPlan:
        owner_org = self._organizations.of_account(share.owner)
        if principal.isdigit() and len(principal) == 12:
            if principal == share.owner:
                # RAM user guide ("Using shared resources"): sharing with the owning account
                # gives access without an invitation.
                return _PrincipalPlan(principal, "ASSOCIATED", False, False, frozenset({principal}))
            in_org = owner_org is not None and principal in owner_org.accounts
            if not in_org and not share.allow_external_principals:
                raise ServiceError(
                    "OperationNotPermittedException",
                    f"Resource share {share.arn} does not allow external principals, and {principal} is outside your organization.",
                )
            if in_org and owner_org is not None and owner_org.ram_sharing_enabled:
                return _PrincipalPlan(principal, "ASSOCIATED", False, False, frozenset({principal}))
            return _PrincipalPlan(
                principal, "ASSOCIATING", not in_org, True, frozenset({principal})
            )
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
        organization = self._organizations.by_principal(principal)
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
        return _PrincipalPlan(
            principal, "ASSOCIATED", False, False, organization.accounts_of(principal)
        )

    def _add_principals(self, share: ResourceShare, plans: list[_PrincipalPlan]) -> None:
        now = self._now()
        for plan in plans:
            self._associations.append(
                Association(
                    share.arn, plan.principal, "PRINCIPAL", plan.status, plan.external, now, now
                )
            )
            if plan.needs_invitation:
                invitation = Invitation(
                    arn=f"arn:{self._partition}:ram:{share.region}:{share.owner}:resource-share-invitation/{self._new_id()}",
                    share_arn=share.arn,
                    sender=share.owner,
                    receiver=plan.principal,
                    region=share.region,
                    created=now,
                )
                self._invitations[invitation.arn] = invitation
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

    def _withdraw_invitations(self, share: ResourceShare, receiver: str | None = None) -> None:
        # Inference: an unanswered invitation disappears when its principal is disassociated.
        for invitation in self._invitations.values():
            same_share = invitation.share_arn == share.arn and invitation.decision == "PENDING"
            if same_share and receiver in (None, invitation.receiver):
                invitation.withdrawn = True

    def _accounts_of_principal(self, share: ResourceShare, principal: str) -> frozenset[str]:
        if principal.isdigit():
            return frozenset({principal})
        organization = self._organizations.of_account(share.owner)
        return organization.accounts_of(principal) if organization else frozenset()

    def _accounts_with_access(self, share: ResourceShare) -> frozenset[str]:
        organization: Organization | None = self._organizations.of_account(share.owner)
        accounts: set[str] = set()
        for association in self._principal_associations(share):
            if association.status != "ASSOCIATED":
                continue
            if association.entity.isdigit():
                accounts.add(association.entity)
            elif organization is not None and organization.ram_sharing_enabled:
                accounts |= organization.accounts_of(association.entity)
        return frozenset(accounts)

    # ------------------------------------------------------------------ resources

    def register_resource(self, arn: str) -> None:
        """Let a shareable resource of another service exist, e.g. to share it maliciously."""
        if _resource_type(arn) in (None, LINEAGE_GROUP_RESOURCE_TYPE):
            raise ValueError(f"{arn}: only the resource types in OTHER_RESOURCE_TYPES")
        self._other_resources.add(arn)

    def _check_resources(self, caller: Caller, resource_arns: list[str]) -> None:
        for arn in resource_arns:
            parsed = _require_arn(arn)
            if _resource_type(arn) is None:
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
        live = {a.entity for a in self._live_associations(share)}
        for arn in dict.fromkeys(resource_arns):
            if arn not in live:
                self._associations.append(
                    Association(share.arn, arn, "RESOURCE", "ASSOCIATED", False, now, now)
                )

    # ------------------------------------------------------------------ lookups and views

    def _owned_share(self, caller: Caller, arn: str) -> ResourceShare:
        _require_arn(arn)
        share = self._shares.get(arn)
        # Inference: a deleted share (still listed) is as unknown to changes as a missing one.
        if (
            share is None
            or share.owner != caller.account
            or share.region != caller.region
            or share.status == "DELETED"
        ):
            raise ServiceError(
                "UnknownResourceException", f"ResourceShare {arn} could not be found."
            )
        return share

    def _visible_to_owner(self, caller: Caller, share: ResourceShare) -> bool:
        if share.owner != caller.account or share.region != caller.region:
            return False
        return share.deleted is None or self._now() < share.deleted + DELETED_SHARE_VISIBILITY

    def _active_shares_of_resource(self, resource_arn: str) -> Iterable[ResourceShare]:
        for share in self._shares.values():
            if share.status == "ACTIVE" and any(
                a.entity == resource_arn and a.status == "ASSOCIATED"
                for a in self._resource_associations(share)
            ):
                yield share

    def _associations_of(self, share: ResourceShare) -> list[Association]:
        return [a for a in self._associations if a.share_arn == share.arn]

    def _live_associations(self, share: ResourceShare) -> list[Association]:
        return [a for a in self._associations_of(share) if a.status != "DISASSOCIATED"]

    def _principal_associations(self, share: ResourceShare) -> list[Association]:
        return [a for a in self._associations_of(share) if a.type == "PRINCIPAL"]

    def _resource_associations(self, share: ResourceShare) -> list[Association]:
        return [a for a in self._associations_of(share) if a.type == "RESOURCE"]

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

    def _share_view(self, share: ResourceShare) -> dict[str, Any]:
        return {
            "resourceShareArn": share.arn,
            "name": share.name,
            "owningAccountId": share.owner,
            "allowExternalPrincipals": share.allow_external_principals,
            "status": share.status,
            "tags": [{"key": k, "value": v} for k, v in sorted(share.tags.items())],
            "creationTime": share.created,
            "lastUpdatedTime": share.updated,
            "featureSet": "STANDARD",
        }

    def _association_view(self, share: ResourceShare, association: Association) -> dict[str, Any]:
        view: dict[str, Any] = {
            "resourceShareArn": share.arn,
            "resourceShareName": share.name,
            "associatedEntity": association.entity,
            "associationType": association.type,
            "status": association.status,
            "creationTime": association.created,
            "lastUpdatedTime": association.updated,
            "external": association.external,
        }
        if association.status_message:
            view["statusMessage"] = association.status_message
        return view

    def _invitation_view(self, invitation: Invitation) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": invitation.arn,
            "resourceShareName": self._shares[invitation.share_arn].name,
            "resourceShareArn": invitation.share_arn,
            "senderAccountId": invitation.sender,
            "receiverAccountId": invitation.receiver,
            "invitationTimestamp": invitation.created,
            "status": invitation.status(self._now()),
        }


def _resource_view(share: ResourceShare, association: Association) -> dict[str, Any]:
    return {
        "arn": association.entity,
        "type": _resource_type(association.entity) or "",
        "resourceShareArn": share.arn,
        "status": "AVAILABLE",
        "creationTime": association.created,
        "lastUpdatedTime": association.updated,
        "resourceRegionScope": "REGIONAL",
    }


# (service, ARN resource type) -> RAM resource type, for resources other than lineage groups
# that scenarios share (a mistake or an attack: never what the acceptor should accept).
OTHER_RESOURCE_TYPES = {("ec2", "subnet"): "ec2:Subnet", ("glue", "database"): "glue:Database"}


def _resource_type(arn: str) -> str | None:
    parsed = Arn.parse(arn)
    if parsed is None:
        return None
    if parsed.service == "sagemaker" and parsed.resource_type == "lineage-group":
        return LINEAGE_GROUP_RESOURCE_TYPE
    return OTHER_RESOURCE_TYPES.get((parsed.service, parsed.resource_type))


def _require_arn(arn: str) -> Arn:
    parsed = Arn.parse(arn)
    if parsed is None:
        raise ServiceError("MalformedArnException", f"The specified ARN {arn} is not valid.")
    return parsed


def _share_matches(share: ResourceShare, params: Params) -> bool:
    if params.get("resourceShareArns") and share.arn not in params["resourceShareArns"]:
        return False
    if params.get("resourceShareStatus", share.status) != share.status:
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


def _tags(tags: list[Mapping[str, str]]) -> dict[str, str]:
    return {tag["key"]: tag.get("value", "") for tag in tags}


def _request_tag_context(tags: list[Mapping[str, str]]) -> dict[str, str | tuple[str, ...]]:
    as_dict = _tags(tags)
    if not as_dict:
        return {}
    return {**tag_context("aws:RequestTag", as_dict), "aws:TagKeys": tuple(as_dict)}


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _with_token(response: Response, params: Params) -> Response:
    if "clientToken" in params:
        response["clientToken"] = params["clientToken"]
    return response


def _with_next(response: Response, token: str | None) -> Response:
    if token:
        response["nextToken"] = token
    return response
