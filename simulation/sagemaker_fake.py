"""SageMaker lineage, the subset the lineage sharing stacks touch (see shared/FACTS.md).

Per account and region: contexts, artifacts, actions, associations between them, and the
default lineage group, created lazily with the first lineage entity. Another account reaches
an entity only by full ARN, and only while RAM gives it the owner's lineage group (an
ASSOCIATED principal association on an ACTIVE share in that region). Behaviour the
documentation leaves open is marked "Inference" where it is decided.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from botocore.utils import parse_timestamp

from simulation.authorization import ANY_RESOURCE, AuthorizationRequest
from simulation.fake_service import (
    Arn,
    Caller,
    FakeOperation,
    Paging,
    Params,
    Response,
    ServiceError,
    in_window,
    tag_context,
)

DEFAULT_LINEAGE_GROUP_NAME = "sagemaker-default-lineage-group"
LIST_LINEAGE_GROUPS_DEFAULT_PAGE_SIZE = 10
LIST_CONTEXTS_DEFAULT_PAGE_SIZE = 10
QUERY_LINEAGE_DEFAULT_PAGE_SIZE = 10
QUERY_LINEAGE_DEFAULT_DEPTH = 10
# FACTS: what the RAM-made lineage group policy lets principals do on the owner's entities.
SHARED_LINEAGE_ACTIONS = (
    "sagemaker:DescribeAction",
    "sagemaker:DescribeArtifact",
    "sagemaker:DescribeContext",
    "sagemaker:DescribeTrialComponent",
    "sagemaker:AddAssociation",
    "sagemaker:DeleteAssociation",
    "sagemaker:QueryLineage",
)
_LINEAGE_TYPES = {"context": "Context", "artifact": "Artifact", "action": "Action"}


class LineageSharing(Protocol):
    """RAM's side of lineage group sharing."""

    def grants_access(self, resource_arn: str, account: str) -> bool: ...

    def principals_granted(self, resource_arn: str) -> list[str]: ...

    def resources_shared_with(self, account: str, region: str) -> list[str]: ...


@dataclass
class LineageGroup:
    name: str
    arn: str
    created: datetime


@dataclass
class LineageEntity:
    kind: str  # context | artifact | action
    arn: str
    name: str | None
    entity_type: str  # the ContextType, ArtifactType or ActionType
    source: dict[str, Any]
    created: datetime
    created_by: str
    description: str | None = None
    status: str | None = None
    properties: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LineageAssociation:
    source_arn: str
    destination_arn: str
    association_type: str | None


@dataclass
class _AccountRegion:
    entities: dict[str, LineageEntity] = field(default_factory=dict)  # by ARN
    # The default lineage group; SageMaker lists it from `created` on (see lineage_group_delay).
    created_group: LineageGroup | None = None

    def group_at(self, now: datetime) -> LineageGroup | None:
        group = self.created_group
        return group if group is not None and group.created <= now else None


class SageMakerFake:
    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        sharing: Callable[[], LineageSharing],
        organization_paths: Callable[[str], str | None],
        partition: str,
    ) -> None:
        self._now = now
        self._sharing = sharing  # RAM is built after SageMaker (it asks SageMaker what exists)
        self._organization_paths = organization_paths
        self._partition = partition
        self._places: dict[tuple[str, str], _AccountRegion] = {}
        self._associations: list[LineageAssociation] = []
        self._paging = Paging(invalid_token_error="ValidationException", token_member="NextToken")
        self.validation_error_code = "ValidationException"
        # Inference: SageMaker documents no delay between the first lineage entity and its
        # default lineage group being listed; a scenario may set one (0: at once).
        self.lineage_group_delay = timedelta(0)
        self.operations: dict[str, FakeOperation] = {
            "CreateContext": FakeOperation(self._authorize_create("context"), self._create_context),
            "DescribeContext": FakeOperation(
                self._authorize_describe("context", "ContextName"), self._describe_context
            ),
            "CreateArtifact": FakeOperation(
                self._authorize_create("artifact"), self._create_artifact
            ),
            "DescribeArtifact": FakeOperation(
                self._authorize_describe("artifact", "ArtifactArn"), self._describe_artifact
            ),
            "CreateAction": FakeOperation(self._authorize_create("action"), self._create_action),
            "DescribeAction": FakeOperation(
                self._authorize_describe("action", "ActionName"), self._describe_action
            ),
            "ListContexts": FakeOperation(
                self._anywhere("sagemaker:ListContexts"), self._list_contexts
            ),
            "AddAssociation": FakeOperation(self._authorize_add_association, self._add_association),
            "QueryLineage": FakeOperation(
                self._anywhere("sagemaker:QueryLineage"), self._query_lineage
            ),
            "ListLineageGroups": FakeOperation(
                self._anywhere("sagemaker:ListLineageGroups"), self._list_lineage_groups
            ),
            "DescribeLineageGroup": FakeOperation(
                self._anywhere("sagemaker:DescribeLineageGroup"), self._describe_lineage_group
            ),
            "GetLineageGroupPolicy": FakeOperation(
                self._anywhere("sagemaker:GetLineageGroupPolicy"), self._get_lineage_group_policy
            ),
        }

    # ------------------------------------------------------------------ queries for the world

    def lineage_group_arn(self, account: str, region: str) -> str | None:
        group = self._place(account, region).group_at(self._now())
        return group.arn if group else None

    def resource_exists(self, arn: str) -> bool:
        parsed = Arn.parse(arn)
        if parsed is None or parsed.service != "sagemaker":
            return False
        place = self._places.get((parsed.account, parsed.region))
        if parsed.resource_type == "lineage-group":
            group = place.group_at(self._now()) if place is not None else None
            return group is not None and group.arn == arn
        return place is not None and arn in place.entities

    # ------------------------------------------------------------------ authorization

    def _anywhere(self, action: str) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        return lambda caller, params: [caller.authorization_request(action, ANY_RESOURCE)]

    def _authorize_create(
        self, kind: str
    ) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        action = f"sagemaker:Create{_LINEAGE_TYPES[kind]}"

        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            context: dict[str, str | tuple[str, ...]] = {}
            tags = _tags(params.get("Tags", []))
            if tags:
                context = {**tag_context("aws:RequestTag", tags), "aws:TagKeys": tuple(tags)}
            return [
                caller.authorization_request(
                    action, self._new_entity_arn(caller, kind, params), context
                )
            ]

        return authorization

    def _authorize_describe(
        self, kind: str, member: str
    ) -> Callable[[Caller, Params], list[AuthorizationRequest]]:
        action = f"sagemaker:Describe{_LINEAGE_TYPES[kind]}"

        def authorization(caller: Caller, params: Params) -> list[AuthorizationRequest]:
            arn = self._entity_arn(caller, kind, params[member])
            entity = self._find(arn)
            context = tag_context("aws:ResourceTag", entity.tags) if entity else {}
            return [caller.authorization_request(action, arn, context)]

        return authorization

    def _authorize_add_association(
        self, caller: Caller, params: Params
    ) -> list[AuthorizationRequest]:
        requests = []
        for arn in (params["SourceArn"], params["DestinationArn"]):
            entity = self._find(arn)
            context = tag_context("aws:ResourceTag", entity.tags) if entity else {}
            requests.append(caller.authorization_request("sagemaker:AddAssociation", arn, context))
        return requests

    # ------------------------------------------------------------------ entities

    def _create_context(self, caller: Caller, params: Params) -> Response:
        entity = self._create_entity(
            caller, "context", params, name=params["ContextName"], entity_type=params["ContextType"]
        )
        return {"ContextArn": entity.arn}

    def _create_artifact(self, caller: Caller, params: Params) -> Response:
        entity = self._create_entity(
            caller,
            "artifact",
            params,
            name=params.get("ArtifactName"),
            entity_type=params["ArtifactType"],
        )
        return {"ArtifactArn": entity.arn}

    def _create_action(self, caller: Caller, params: Params) -> Response:
        entity = self._create_entity(
            caller, "action", params, name=params["ActionName"], entity_type=params["ActionType"]
        )
        return {"ActionArn": entity.arn}

    def _create_entity(
        self, caller: Caller, kind: str, params: Params, *, name: str | None, entity_type: str
    ) -> LineageEntity:
        if "MetadataProperties" in params:
            raise NotImplementedError(f"Create{_LINEAGE_TYPES[kind]} MetadataProperties")
        place = self._place(caller.account, caller.region)
        arn = self._new_entity_arn(caller, kind, params)
        if arn in place.entities:
            # SageMaker answers a taken name with a ValidationException whose wording has
            # changed over time (sagemaker-python-sdk#6256): this one never says "already
            # exists", so code that matches message text fails here as it would on AWS.
            raise ServiceError(
                "ValidationException",
                f"{_LINEAGE_TYPES[kind]} names must be unique within an AWS account and region; "
                f"{arn} is taken.",
            )
        now = self._now()
        entity = LineageEntity(
            kind=kind,
            arn=arn,
            name=name,
            entity_type=entity_type,
            source=dict(params["Source"]),
            created=now,
            created_by=caller.principal_arn,
            description=params.get("Description"),
            status=params.get("Status"),
            properties=dict(params.get("Properties", {})),
            tags=_tags(params.get("Tags", [])),
        )
        place.entities[arn] = entity
        if place.created_group is None:
            # FACTS: the default lineage group appears with the first lineage entity.
            place.created_group = LineageGroup(
                name=DEFAULT_LINEAGE_GROUP_NAME,
                arn=f"{self._prefix(caller.account, caller.region)}:lineage-group/{DEFAULT_LINEAGE_GROUP_NAME}",
                created=now + self.lineage_group_delay,
            )
        return entity

    def _describe_context(self, caller: Caller, params: Params) -> Response:
        entity = self._readable_entity(
            caller, "context", params["ContextName"], "sagemaker:DescribeContext"
        )
        return {
            "ContextName": entity.name,
            "ContextArn": entity.arn,
            "ContextType": entity.entity_type,
            **self._common_view(entity),
        }

    def _describe_artifact(self, caller: Caller, params: Params) -> Response:
        entity = self._readable_entity(
            caller, "artifact", params["ArtifactArn"], "sagemaker:DescribeArtifact"
        )
        view = {
            "ArtifactArn": entity.arn,
            "ArtifactType": entity.entity_type,
            **self._common_view(entity),
        }
        view.pop("Description", None)  # artifacts have no description
        if entity.name:
            view["ArtifactName"] = entity.name
        return view

    def _describe_action(self, caller: Caller, params: Params) -> Response:
        entity = self._readable_entity(
            caller, "action", params["ActionName"], "sagemaker:DescribeAction"
        )
        view = {
            "ActionName": entity.name,
            "ActionArn": entity.arn,
            "ActionType": entity.entity_type,
            **self._common_view(entity),
        }
        if entity.status:
            view["Status"] = entity.status
        return view

    def _list_contexts(self, caller: Caller, params: Params) -> Response:
        """The caller's own contexts only (no shared ones), default order newest first."""
        after = _timestamp(params.get("CreatedAfter"))
        before = _timestamp(params.get("CreatedBefore"))
        contexts = [
            entity
            for entity in self._place(caller.account, caller.region).entities.values()
            if entity.kind == "context"
            and params.get("SourceUri", entity.source["SourceUri"]) == entity.source["SourceUri"]
            and params.get("ContextType", entity.entity_type) == entity.entity_type
            and in_window(entity.created, after, before)
        ]
        page, token = self._sorted_page(
            "ListContexts",
            contexts,
            params,
            by_name=lambda e: (e.name or "", e.arn),
            default_page_size=LIST_CONTEXTS_DEFAULT_PAGE_SIZE,
        )
        response: Response = {
            "ContextSummaries": [
                {
                    "ContextArn": e.arn,
                    "ContextName": e.name,
                    "Source": e.source,
                    "ContextType": e.entity_type,
                    "CreationTime": e.created,
                    "LastModifiedTime": e.created,
                }
                for e in page
            ]
        }
        return self._paging.with_next_token(response, token)

    def _sorted_page(
        self,
        operation: str,
        items: list[Any],
        params: Params,
        *,
        by_name: Callable[[Any], tuple[str, str]],
        default_page_size: int,
    ) -> tuple[list[Any], str | None]:
        """SageMaker's list order (SortBy Name or CreationTime, Descending by default), paged."""
        key = by_name if params.get("SortBy") == "Name" else (lambda item: (item.created, item.arn))
        ordered = sorted(
            items, key=key, reverse=params.get("SortOrder", "Descending") == "Descending"
        )
        return self._paging.page(
            operation,
            ordered,
            next_token=params.get("NextToken"),
            max_results=params.get("MaxResults"),
            default_page_size=default_page_size,
        )

    def _common_view(self, entity: LineageEntity) -> dict[str, Any]:
        parsed = Arn.parse(entity.arn)
        assert parsed is not None
        group = self._place(parsed.account, parsed.region).group_at(self._now())
        view: dict[str, Any] = {
            "Source": entity.source,
            "Properties": entity.properties,
            "CreationTime": entity.created,
            "CreatedBy": {"IamIdentity": {"Arn": entity.created_by}},
            "LastModifiedTime": entity.created,
            "LastModifiedBy": {"IamIdentity": {"Arn": entity.created_by}},
        }
        if entity.description is not None:
            view["Description"] = entity.description
        if group is not None:
            view["LineageGroupArn"] = group.arn
        return view

    def _readable_entity(
        self, caller: Caller, kind: str, name_or_arn: str, action: str
    ) -> LineageEntity:
        arn = self._entity_arn(caller, kind, name_or_arn)
        self._require_resource_policy(caller, arn, action)
        entity = self._find(arn)
        if entity is None:
            raise ServiceError(
                "ResourceNotFound", f"{_LINEAGE_TYPES[kind]} '{arn}' does not exist."
            )
        return entity

    def _require_resource_policy(self, caller: Caller, arn: str, action: str) -> None:
        """Cross-account reads need the owner's lineage group shared with the caller's account."""
        parsed = Arn.parse(arn)
        assert parsed is not None
        if parsed.account == caller.account and parsed.region == caller.region:
            return
        group_arn = self.lineage_group_arn(parsed.account, parsed.region)
        shared = (
            group_arn is not None
            and parsed.region == caller.region
            and self._sharing().grants_access(group_arn, caller.account)
        )
        if not shared:
            raise ServiceError(
                "AccessDeniedException",
                f"User: {caller.principal_arn} is not authorized to perform: {action} on resource: "
                f"{arn} because no resource-based policy allows the {action} action",
            )

    # ------------------------------------------------------------------ associations and queries

    def _add_association(self, caller: Caller, params: Params) -> Response:
        for arn in (params["SourceArn"], params["DestinationArn"]):
            self._require_resource_policy(caller, arn, "sagemaker:AddAssociation")
            if self._find(arn) is None:
                raise ServiceError("ResourceNotFound", f"Entity '{arn}' does not exist.")
        association = LineageAssociation(
            params["SourceArn"], params["DestinationArn"], params.get("AssociationType")
        )
        if association not in self._associations:
            self._associations.append(association)
        return {"SourceArn": association.source_arn, "DestinationArn": association.destination_arn}

    def _query_lineage(self, caller: Caller, params: Params) -> Response:
        if "Filters" in params:
            raise NotImplementedError("QueryLineage Filters")
        starts = list(params.get("StartArns", []))
        for arn in starts:
            self._require_resource_policy(caller, arn, "sagemaker:QueryLineage")
            if self._find(arn) is None:
                raise ServiceError("ResourceNotFound", f"Entity '{arn}' does not exist.")
        vertices, edges = self._walk(
            caller,
            starts,
            params.get("Direction", "Both"),
            params.get("MaxDepth", QUERY_LINEAGE_DEFAULT_DEPTH),
        )
        page, token = self._paging.page(
            "QueryLineage",
            vertices,
            next_token=params.get("NextToken"),
            max_results=params.get("MaxResults"),
            default_page_size=QUERY_LINEAGE_DEFAULT_PAGE_SIZE,
        )
        response: Response = {"Vertices": [self._vertex_view(arn) for arn in page]}
        if params.get("IncludeEdges", True):
            on_page = set(page)
            response["Edges"] = [
                _edge_view(a)
                for a in edges
                if a.source_arn in on_page or a.destination_arn in on_page
            ]
        return self._paging.with_next_token(response, token)

    def _walk(
        self, caller: Caller, starts: list[str], direction: str, max_depth: int
    ) -> tuple[list[str], list[LineageAssociation]]:
        """Breadth-first over associations; entities the caller may not read are left out."""
        seen = dict.fromkeys(starts)
        edges: list[LineageAssociation] = []
        frontier = list(starts)
        for _ in range(max_depth):
            next_frontier: list[str] = []
            for arn in frontier:
                for association in self._associations:
                    if direction in ("Both", "Descendants") and association.source_arn == arn:
                        neighbour = association.destination_arn
                    elif direction in ("Both", "Ascendants") and association.destination_arn == arn:
                        neighbour = association.source_arn
                    else:
                        continue
                    if not self._may_read(caller, neighbour):
                        continue
                    if association not in edges:
                        edges.append(association)
                    if neighbour not in seen:
                        seen[neighbour] = None
                        next_frontier.append(neighbour)
            frontier = next_frontier
        return list(seen), edges

    def _may_read(self, caller: Caller, arn: str) -> bool:
        try:
            self._require_resource_policy(caller, arn, "sagemaker:QueryLineage")
        except ServiceError:
            return False
        return True

    def _vertex_view(self, arn: str) -> dict[str, Any]:
        entity = self._find(arn)
        assert entity is not None
        return {"Arn": arn, "Type": entity.entity_type, "LineageType": _LINEAGE_TYPES[entity.kind]}

    # ------------------------------------------------------------------ lineage groups

    def _list_lineage_groups(self, caller: Caller, params: Params) -> Response:
        groups = [g for g in self._visible_groups(caller)]
        after = _timestamp(params.get("CreatedAfter"))
        before = _timestamp(params.get("CreatedBefore"))
        groups = [g for g in groups if in_window(g.created, after, before)]
        page, token = self._sorted_page(
            "ListLineageGroups",
            groups,
            params,
            by_name=lambda g: (g.name, g.arn),
            default_page_size=LIST_LINEAGE_GROUPS_DEFAULT_PAGE_SIZE,
        )
        response: Response = {
            "LineageGroupSummaries": [
                {
                    "LineageGroupArn": g.arn,
                    "LineageGroupName": g.name,
                    "DisplayName": g.name,
                    "CreationTime": g.created,
                    "LastModifiedTime": g.created,
                }
                for g in page
            ]
        }
        return self._paging.with_next_token(response, token)

    def _visible_groups(self, caller: Caller) -> list[LineageGroup]:
        own = self._place(caller.account, caller.region).group_at(self._now())
        groups = [own] if own else []
        for arn in self._sharing().resources_shared_with(caller.account, caller.region):
            parsed = Arn.parse(arn)
            if (
                parsed is not None
                and parsed.service == "sagemaker"
                and parsed.resource_type == "lineage-group"
            ):
                group = self._place(parsed.account, parsed.region).group_at(self._now())
                if group is not None and group.arn == arn:
                    groups.append(group)
        return groups

    def _describe_lineage_group(self, caller: Caller, params: Params) -> Response:
        group = self._own_group(caller, params["LineageGroupName"])
        return {
            "LineageGroupName": group.name,
            "LineageGroupArn": group.arn,
            "DisplayName": group.name,
            "CreationTime": group.created,
            "LastModifiedTime": group.created,
        }

    def _get_lineage_group_policy(self, caller: Caller, params: Params) -> Response:
        name_or_arn = params["LineageGroupName"]
        parsed = Arn.parse(name_or_arn)
        if parsed is not None and (parsed.account, parsed.region) != (
            caller.account,
            caller.region,
        ):
            action = "sagemaker:GetLineageGroupPolicy"
            raise ServiceError(
                "AccessDeniedException",
                f"User: {caller.principal_arn} is not authorized to perform: {action} on resource: "
                f"{name_or_arn} because no resource-based policy allows the {action} action",
            )
        group = self._own_group(caller, parsed.resource_id if parsed else name_or_arn)
        principals = self._sharing().principals_granted(group.arn)
        if not principals:
            # Inference: a group that RAM shares with nobody has no resource policy.
            raise ServiceError(
                "ResourceNotFound",
                f"Resource policy for lineage group '{group.arn}' does not exist.",
            )
        return {
            "LineageGroupArn": group.arn,
            "ResourcePolicy": json.dumps(self._policy(group, principals)),
        }

    def _policy(self, group: LineageGroup, principals: list[str]) -> dict[str, Any]:
        """Inference: the statement layout of the RAM-made policy; the actions are from FACTS."""
        parsed = Arn.parse(group.arn)
        assert parsed is not None
        prefix = self._prefix(parsed.account, parsed.region)
        resources = [
            group.arn,
            *(
                f"{prefix}:{kind}/*"
                for kind in ("context", "artifact", "action", "experiment-trial-component")
            ),
        ]
        accounts = [p for p in principals if p.isdigit()]
        statements: list[dict[str, Any]] = []
        if accounts:
            statements.append(_statement("RamShareAccounts", {"AWS": accounts}, resources))
        # RAM's user guide: a policy RAM writes for an organization share "uses "Principal": "*"
        # and then uses the Condition element to restrict permissions to identities that match
        # the specified PrincipalOrgID". Inference: an OU share the same way, by the OU's path.
        paths = [
            path for p in principals if not p.isdigit() if (path := self._organization_paths(p))
        ]
        organizations = sorted(path[:-1] for path in paths if path.count("/") == 1)
        units = sorted(path for path in paths if path.count("/") > 1)
        if organizations:
            statement = _statement("RamShareOrganization", {"AWS": "*"}, resources)
            statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organizations}}
            statements.append(statement)
        if units:
            statement = _statement("RamShareOrganizationalUnits", {"AWS": "*"}, resources)
            statement["Condition"] = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": units}}
            statements.append(statement)
        return {"Version": "2012-10-17", "Statement": statements}

    def _own_group(self, caller: Caller, name: str) -> LineageGroup:
        group = self._place(caller.account, caller.region).group_at(self._now())
        if group is None or group.name != name:
            raise ServiceError("ResourceNotFound", f"Lineage group '{name}' does not exist.")
        return group

    # ------------------------------------------------------------------ names and ARNs

    def _place(self, account: str, region: str) -> _AccountRegion:
        return self._places.setdefault((account, region), _AccountRegion())

    def _prefix(self, account: str, region: str) -> str:
        return f"arn:{self._partition}:sagemaker:{region}:{account}"

    def _new_entity_arn(self, caller: Caller, kind: str, params: Params) -> str:
        if kind == "artifact":
            # SAR: artifact ARNs end in a hash of the artifact's source.
            source = json.dumps([params["Source"], params["ArtifactType"]], sort_keys=True)
            return f"{self._prefix(caller.account, caller.region)}:artifact/{hashlib.md5(source.encode()).hexdigest()}"
        name = params["ContextName"] if kind == "context" else params["ActionName"]
        return f"{self._prefix(caller.account, caller.region)}:{kind}/{name.lower()}"

    def _entity_arn(self, caller: Caller, kind: str, name_or_arn: str) -> str:
        """A bare name resolves in the caller's own account and region."""
        parsed = Arn.parse(name_or_arn)
        if parsed is not None:
            return (
                f"{self._prefix(parsed.account, parsed.region)}:{kind}/{parsed.resource_id.lower()}"
            )
        return f"{self._prefix(caller.account, caller.region)}:{kind}/{name_or_arn.lower()}"

    def _find(self, arn: str) -> LineageEntity | None:
        parsed = Arn.parse(arn)
        if parsed is None:
            return None
        place = self._places.get((parsed.account, parsed.region))
        return place.entities.get(arn) if place else None


def _edge_view(association: LineageAssociation) -> dict[str, Any]:
    view = {"SourceArn": association.source_arn, "DestinationArn": association.destination_arn}
    if association.association_type:
        view["AssociationType"] = association.association_type
    return view


def _statement(sid: str, principal: dict[str, Any], resources: list[str]) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": list(SHARED_LINEAGE_ACTIONS),
        "Resource": resources,
    }


def _tags(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag.get("Value", "") for tag in tags}


def _timestamp(value: Any) -> datetime | None:
    return None if value is None else parse_timestamp(value)
