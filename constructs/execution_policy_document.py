"""The CloudFormation execution policy for `cdk bootstrap --cloudformation-execution-policies`.

Pure (no CDK): from the resource types an account's templates use to IAM policy statements.
Which actions CloudFormation needs per resource type comes from the CloudFormation registry
schemas bundled with cfn-lint (`handlers.<create|read|update|delete>.permissions`, offline);
which actions exist in IAM and which resources each can be limited to comes from the IAM
Service Authorization Reference data cfn-lint bundles too (its rule W3037 checks policies
against it). Registry entries IAM does not know are left out: some are API names, not IAM
actions (`s3:DeleteBucketCors` is authorized as `s3:PutBucketCORS`, which is listed too), one
is an S3 access-log operation (`s3:REST.PUT.OBJECT`). Every action is limited to resources of
this account and region (IAM: this account) wherever IAM has a resource type for it;
CloudFormation generates the names at deploy time, so names are wildcards. S3 bucket ARNs
carry no account: they are limited to the buckets the templates create and the CDK asset
bucket.

Beyond the registry: CloudFormation invokes a custom resource's provider (`ServiceToken`) with
the stack's execution role, so custom resources add `lambda:InvokeFunction`; `iam:PassRole` is
limited by `iam:PassedToService` to the services the templates' roles trust; and the bootstrap
version parameter every CDK template reads is readable.

ARNs are written with CloudFormation pseudo parameters (`${AWS::Partition}` ...) so the same
document serves every account: the construct renders them, `resolved_length` measures them.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import botocore.session

PARTITION, REGION, ACCOUNT = "${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}"
MANAGED_POLICY_MAX_CHARACTERS = 6144  # IAM, resolved text without whitespace
# The handlers CloudFormation runs for a stack's create, update, rollback and delete. `read`
# (Get/Describe/List only) is included too: drift detection and import use it, and whether an
# update reads resources back first is not documented (Inference: grant it rather than fail).
HANDLER_OPERATIONS = ("create", "read", "update", "delete")
# CloudFormation processes these itself, with no service call on the execution role's behalf.
NO_PERMISSIONS_NEEDED = frozenset({"AWS::CDK::Metadata"})
# Types CloudFormation still provisions natively, whose registry schema lists no handlers.
# Their permissions are the service API calls for the resource (Inference from the API: the
# registry is silent). A template with any other such type fails synthesis until it is added.
WITHOUT_REGISTRY_HANDLERS = {
    "AWS::CodeBuild::Project": frozenset(
        {
            "codebuild:BatchGetProjects",
            "codebuild:CreateProject",
            "codebuild:DeleteProject",
            "codebuild:UpdateProject",
            "iam:PassRole",
        }
    ),
}
CUSTOM_RESOURCE_TYPE = re.compile(
    r"^(Custom::[A-Za-z0-9_@-]+|AWS::CloudFormation::CustomResource)$"
)
# Connections have ARNs of both prefixes (older ones codestar-connections, newer ones
# codeconnections); the codestar-connections actions are granted on either.
RENAMED_SERVICES = {"codestar-connections": ("codestar-connections", "codeconnections")}
IAM_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")
BOOTSTRAP_QUALIFIER = "hnb659fds"  # CDK's default; the app's stacks use the default synthesizer
ASSET_BUCKET = f"cdk-{BOOTSTRAP_QUALIFIER}-assets-{ACCOUNT}-{REGION}"
BOOTSTRAP_VERSION_PARAMETER = f"/cdk-bootstrap/{BOOTSTRAP_QUALIFIER}/version"


class UnknownResourceType(Exception):
    """A template uses a resource type whose permissions this module cannot derive."""


@dataclass(frozen=True)
class DeploymentFootprint:
    """What an account's templates in one region create, as far as the policy cares."""

    resource_types: frozenset[str]
    # Literal names of S3 buckets the templates create, or `<lower-cased stack name>-*` for
    # buckets CloudFormation names (it starts generated names with the stack name).
    bucket_names: frozenset[str] = frozenset()
    # Service principals in the trust policies of roles the templates create: the only
    # services CloudFormation passes those roles to.
    role_services: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Statement:
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": list(self.actions),
            "Resource": list(self.resources),
        }
        if self.condition:
            document["Condition"] = {k: dict(v) for k, v in self.condition.items()}
        return document


# ------------------------------------------------------------------------ registry permissions


@functools.cache
def _schemas_folder() -> Path:
    # find_spec locates cfn-lint's bundled data without importing (and initialising) cfnlint.
    spec = importlib.util.find_spec("cfnlint")
    assert spec is not None and spec.origin is not None, "cfn-lint is a pinned dependency"
    return Path(spec.origin).parent / "data" / "schemas"


@functools.cache
def _provider_index(region: str) -> Mapping[str, str]:
    folder = _schemas_folder() / "providers"
    path = folder / f"{region}.json"
    if not path.exists():
        path = folder / "us-east-1.json"
    return json.loads(path.read_text())


@functools.cache
def handler_permissions(resource_type: str, region: str) -> frozenset[str]:
    """The permissions the registry schema lists for the type's deploy-time handlers."""
    schema_id = _provider_index(region).get(resource_type)
    if schema_id is None:
        raise UnknownResourceType(
            f"{resource_type}: no CloudFormation registry schema in cfn-lint for {region}"
        )
    if resource_type in WITHOUT_REGISTRY_HANDLERS:
        return WITHOUT_REGISTRY_HANDLERS[resource_type]
    schema = json.loads((_schemas_folder() / "resources" / f"{schema_id}.json").read_text())
    handlers = schema.get("handlers", {})
    if not handlers:
        raise UnknownResourceType(
            f"{resource_type}: its registry schema lists no handler permissions; add them to "
            "WITHOUT_REGISTRY_HANDLERS"
        )
    return frozenset(
        permission
        for operation in HANDLER_OPERATIONS
        for permission in handlers.get(operation, {}).get("permissions", [])
    )


def required_actions(resource_type: str, region: str) -> frozenset[str]:
    """IAM actions CloudFormation's execution role needs to deploy this resource type."""
    if resource_type in NO_PERMISSIONS_NEEDED:
        return frozenset()
    if CUSTOM_RESOURCE_TYPE.fullmatch(resource_type):
        return frozenset({"lambda:InvokeFunction"})
    return frozenset(
        action for action in handler_permissions(resource_type, region) if _known(action)
    )


def dropped_permissions(resource_types: Iterable[str], region: str) -> frozenset[str]:
    """Registry entries for these types that are not IAM actions, so the policy leaves out."""
    return frozenset(
        action
        for resource_type in resource_types
        if resource_type not in NO_PERMISSIONS_NEEDED
        and not CUSTOM_RESOURCE_TYPE.fullmatch(resource_type)
        for action in handler_permissions(resource_type, region)
        if not _known(action)
    )


@functools.cache
def iam_reference() -> Mapping[str, Any]:
    return json.loads((_schemas_folder().parent / "AdditionalSpecs" / "Policies.json").read_text())


def _known(action: str) -> bool:
    return _privilege(action) is not None


def _privilege(action: str) -> Mapping[str, Any] | None:
    if not IAM_ACTION.fullmatch(action):
        return None
    service, name = action.split(":")
    return iam_reference().get(service, {}).get("Actions", {}).get(name.lower())


# ------------------------------------------------------------------------ statements


def _scope(action: str, bucket_names: Iterable[str]) -> tuple[str, ...]:
    """The narrowest resources IAM lets us name for the action, before names are known."""
    service, _ = action.split(":")
    privilege = _privilege(action)
    assert privilege is not None, action
    resources = iam_reference()[service].get("Resources", {})
    arns = [
        arn
        for resource_type in privilege.get("Resources", [])
        for arn in resources[resource_type.lower()]["ARNFormats"]
    ]
    if not arns:
        return ("*",)
    scoped: set[str] = set()
    for arn in arns:
        _, _, arn_service, region, account, *_ = arn.split(":")
        if account:
            region_part = REGION if region else ""
            for service_name in RENAMED_SERVICES.get(arn_service, (arn_service,)):
                scoped.add(f"arn:{PARTITION}:{service_name}:{region_part}:{ACCOUNT}:*")
        elif arn_service == "s3":
            for bucket in sorted(bucket_names):
                scoped |= {f"arn:{PARTITION}:s3:::{bucket}", f"arn:{PARTITION}:s3:::{bucket}/*"}
        else:
            raise UnknownResourceType(
                f"{action}: resource {arn} names no account; decide how to scope it here"
            )
    return tuple(sorted(scoped))


def execution_policy_statements(footprint: DeploymentFootprint, region: str) -> list[Statement]:
    needed_by: dict[str, set[str]] = {}
    for resource_type in sorted(footprint.resource_types):
        for action in required_actions(resource_type, region):
            needed_by.setdefault(action, set()).add(resource_type)
    statements: list[Statement] = []
    if needed_by.pop("lambda:InvokeFunction", None):
        statements.append(
            Statement(
                "InvokeCustomResourceProviders",
                ("lambda:InvokeFunction",),
                (f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:*",),
            )
        )
    if needed_by.pop("iam:PassRole", None) and footprint.role_services:
        # Without a role the templates create, nothing is passed: PassRole stays out.
        statements.append(
            Statement(
                "PassRolesToTheirServices",
                ("iam:PassRole",),
                (f"arn:{PARTITION}:iam::{ACCOUNT}:role/*",),
                {"StringEquals": {"iam:PassedToService": sorted(footprint.role_services)}},
            )
        )
    by_scope: dict[tuple[str, ...], list[str]] = {}
    for action, types in sorted(needed_by.items()):
        by_scope.setdefault(_scope(action, _buckets_for(types, footprint)), []).append(action)
    sids: dict[str, int] = {}
    for resources, scoped_actions in sorted(by_scope.items(), key=lambda item: item[1][0]):
        sid = _sid(scoped_actions, resources)
        sids[sid] = sids.get(sid, 0) + 1
        sid += str(sids[sid]) if sids[sid] > 1 else ""
        statements.append(Statement(sid, tuple(scoped_actions), resources))
    statements.append(
        Statement(
            "ReadCdkBootstrapVersion",
            ("ssm:GetParameters",),
            (f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter{BOOTSTRAP_VERSION_PARAMETER}",),
        )
    )
    return statements


def _buckets_for(resource_types: Iterable[str], footprint: DeploymentFootprint) -> set[str]:
    """S3 resource types manage the templates' own buckets; the others (Lambda functions)
    only read their code from the CDK asset bucket."""
    buckets: set[str] = set()
    for resource_type in resource_types:
        if resource_type.startswith("AWS::S3::"):
            buckets |= footprint.bucket_names
        else:
            buckets.add(ASSET_BUCKET)
    return buckets


def _sid(actions: Sequence[str], resources: Sequence[str]) -> str:
    if resources == ("*",):
        return "NoResourceTypeInIam"
    services = sorted({a.split(":")[0] for a in actions})
    words = "".join(part.capitalize() for s in services for part in s.split("-"))
    return f"{words}InThisAccount"


# ------------------------------------------------------------------------ size and splitting


def resolve(text: str, *, account: str, region: str) -> str:
    return (
        text.replace(PARTITION, partition_of(region))
        .replace(REGION, region)
        .replace(ACCOUNT, account)
    )


@functools.cache
def partition_of(region: str) -> str:
    return botocore.session.get_session().get_partition_for_region(region)


def document(statements: Sequence[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [s.as_json() for s in statements]}


def resolved_length(statements: Sequence[Statement], *, account: str, region: str) -> int:
    """Characters IAM counts: the policy with every pseudo parameter resolved, no whitespace."""
    text = json.dumps(document(statements), separators=(",", ":"))
    return len(resolve(text, account=account, region=region))


def split_into_policies(
    statements: Sequence[Statement],
    *,
    account: str,
    region: str,
    limit: int = MANAGED_POLICY_MAX_CHARACTERS,
) -> list[list[Statement]]:
    """Pack statements, in order, into as few managed policies as fit under IAM's limit."""
    policies: list[list[Statement]] = [[]]
    for statement in _pieces(statements, account=account, region=region, limit=limit):
        if resolved_length([*policies[-1], statement], account=account, region=region) > limit:
            policies.append([])
        policies[-1].append(statement)
    return policies


def _pieces(
    statements: Sequence[Statement], *, account: str, region: str, limit: int
) -> Iterable[Statement]:
    """Statements too long for one policy on their own, split by actions."""
    for statement in statements:
        if resolved_length([statement], account=account, region=region) <= limit:
            yield statement
            continue
        actions = list(statement.actions)
        part = 1
        while actions:
            taken: list[str] = []
            while actions:
                trial = Statement(
                    f"{statement.sid}{part}",
                    (*taken, actions[0]),
                    statement.resources,
                    statement.condition,
                )
                if resolved_length([trial], account=account, region=region) > limit and taken:
                    break
                taken.append(actions.pop(0))
            yield Statement(
                f"{statement.sid}{part}", tuple(taken), statement.resources, statement.condition
            )
            part += 1


def uncovered_actions(
    footprint: DeploymentFootprint, region: str, policy_documents: Iterable[Mapping[str, Any]]
) -> dict[str, list[str]]:
    """For each resource type, the actions it needs that no Allow statement grants.

    `iam:PassRole` is needed only to pass the footprint's roles: to each service they trust."""
    granted: set[str] = set()
    passable: set[str] = set()
    for policy in policy_documents:
        for statement in policy["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            actions = _as_list(statement["Action"])
            granted |= set(actions)
            if "iam:PassRole" in actions:
                condition = statement.get("Condition", {}).get("StringEquals", {})
                passable |= set(_as_list(condition.get("iam:PassedToService", [])))
    missing: dict[str, list[str]] = {}
    for resource_type in sorted(footprint.resource_types):
        try:
            needed = set(required_actions(resource_type, region))
        except UnknownResourceType as error:
            missing[resource_type] = [str(error)]
            continue
        lacking = needed - granted - {"iam:PassRole"}
        if "iam:PassRole" in needed and not footprint.role_services <= passable:
            lacking.add(f"iam:PassRole to {sorted(footprint.role_services - passable)}")
        if lacking:
            missing[resource_type] = sorted(lacking)
    return missing


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]
