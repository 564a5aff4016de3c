"""Thin boto3 edge: one function per AWS call, plain data in and out, no decisions.

Lists are read to the last page (RAM may return an empty page that still carries a
nextToken; botocore's paginators keep going until the token is absent). Transient errors
(throttling, 5xx) are retried by the clients' standard retry mode, never here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from share_manager.decisions import (
    LineageGroup,
    PrincipalAssociation,
    ResourceAssociation,
    ResourceShare,
)

# total_max_attempts counts every send (Config's "max_attempts" would count retries only).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})

BOOTSTRAP_CONTEXT_TYPE = "LineageSharingBootstrap"
BOOTSTRAP_CONTEXT_SOURCE_URI = "urn:lineage-sharing:bootstrap"
BOOTSTRAP_CONTEXT_DESCRIPTION = (
    "Marker created by the lineage sharing stack so that SageMaker creates this account's "
    "default lineage group. Safe to keep; deleting it does not delete the lineage group."
)


def create_clients() -> tuple[Any, Any, Any]:
    """(ram, sagemaker, cloudformation) clients for the Lambda's own region, standard retries."""
    return (
        boto3.client("ram", config=RETRY_CONFIG),
        boto3.client("sagemaker", config=RETRY_CONFIG),
        boto3.client("cloudformation", config=RETRY_CONFIG),
    )


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


# ---------------------------------------------------------------------------- SageMaker


def list_lineage_groups(sagemaker: Any) -> list[LineageGroup]:
    groups: list[LineageGroup] = []
    for page in sagemaker.get_paginator("list_lineage_groups").paginate():
        for summary in page.get("LineageGroupSummaries", []):
            arn, name = summary["LineageGroupArn"], summary.get("LineageGroupName", "")
            groups.append(LineageGroup(arn=arn, name=name))
    return groups


# SageMaker answers a Create for a name that is taken with a ValidationException (its wording
# has changed over time) or, for some resources, ResourceInUse: the error code alone does not
# say "already exists", so DescribeContext decides.
_MAYBE_ALREADY_EXISTS = frozenset({"ValidationException", "ResourceInUse"})


def create_bootstrap_context(sagemaker: Any, context_name: str) -> bool:
    """Create the marker context; False if it already exists (an earlier attempt made it)."""
    try:
        sagemaker.create_context(
            ContextName=context_name,
            ContextType=BOOTSTRAP_CONTEXT_TYPE,
            Source={"SourceUri": BOOTSTRAP_CONTEXT_SOURCE_URI},
            Description=BOOTSTRAP_CONTEXT_DESCRIPTION,
        )
    except ClientError as error:
        if error_code(error) in _MAYBE_ALREADY_EXISTS and context_exists(sagemaker, context_name):
            return False
        raise
    return True


def context_exists(sagemaker: Any, context_name: str) -> bool:
    try:
        sagemaker.describe_context(ContextName=context_name)
    except ClientError as error:
        if error_code(error) == "ResourceNotFound":
            return False
        raise
    return True


# ---------------------------------------------------------------------------- CloudFormation


def get_resource_properties(
    cloudformation: Any, stack_id: str, logical_resource_id: str
) -> Mapping[str, Any]:
    """A resource's Properties as the stack's template declares them.

    botocore hands a JSON TemplateBody over already decoded (a YAML one stays a string).
    """
    body = cloudformation.get_template(StackName=stack_id)["TemplateBody"]
    template = json.loads(body) if isinstance(body, str) else body
    resource = template.get("Resources", {}).get(logical_resource_id)
    if not isinstance(resource, Mapping):
        raise RuntimeError(
            f"the template of stack {stack_id} has no resource {logical_resource_id}"
        )
    return resource.get("Properties", {})


# ---------------------------------------------------------------------------- RAM


def create_resource_share(
    ram: Any,
    *,
    name: str,
    resource_arn: str,
    principals: Sequence[str],
    allow_external_principals: bool,
    tags: Mapping[str, str],
    client_token: str,
) -> ResourceShare:
    request: dict[str, Any] = {
        "name": name,
        "resourceArns": [resource_arn],
        "allowExternalPrincipals": allow_external_principals,
        "clientToken": client_token,
    }
    if principals:
        request["principals"] = list(principals)
    if tags:
        request["tags"] = [{"key": key, "value": value} for key, value in sorted(tags.items())]
    return _resource_share(ram.create_resource_share(**request)["resourceShare"])


def get_resource_share(ram: Any, share_arn: str) -> ResourceShare | None:
    """The share as this account owns it, or None if RAM does not know it (any more)."""
    try:
        for page in ram.get_paginator("get_resource_shares").paginate(
            resourceOwner="SELF", resourceShareArns=[share_arn]
        ):
            for share in page.get("resourceShares", []):
                if share.get("resourceShareArn") == share_arn:
                    return _resource_share(share)
    except ClientError as error:
        if error_code(error) == "UnknownResourceException":
            return None
        raise
    return None


def find_shares(ram: Any, name: str | None, tags: Mapping[str, str]) -> list[ResourceShare]:
    """This account's shares carrying all of `tags` (and named `name`, if given).

    The tags are checked here as well: the filters only narrow what RAM sends.
    """
    request: dict[str, Any] = {
        "resourceOwner": "SELF",
        "tagFilters": [
            {"tagKey": key, "tagValues": [value]} for key, value in sorted(tags.items())
        ],
    }
    if name:
        request["name"] = name
    shares = []
    for page in ram.get_paginator("get_resource_shares").paginate(**request):
        for share in page.get("resourceShares", []):
            found = _resource_share(share)
            if all(found.tags.get(key) == value for key, value in tags.items()):
                shares.append(found)
    return shares


def list_resource_associations(ram: Any, share_arn: str) -> list[ResourceAssociation]:
    return [
        ResourceAssociation(
            resource_arn=association["associatedEntity"],
            status=association["status"],
            status_message=association.get("statusMessage", ""),
        )
        for association in _associations(ram, share_arn, "RESOURCE")
    ]


def list_principal_associations(ram: Any, share_arn: str) -> list[PrincipalAssociation]:
    return [
        PrincipalAssociation(
            principal=association["associatedEntity"],
            status=association["status"],
            last_updated=association.get("lastUpdatedTime") or association.get("creationTime"),
            status_message=association.get("statusMessage", ""),
        )
        for association in _associations(ram, share_arn, "PRINCIPAL")
    ]


def _associations(ram: Any, share_arn: str, association_type: str) -> Iterator[Mapping[str, Any]]:
    for page in ram.get_paginator("get_resource_share_associations").paginate(
        associationType=association_type, resourceShareArns=[share_arn]
    ):
        yield from page.get("resourceShareAssociations", [])


def associate_principals(
    ram: Any, share_arn: str, principals: Sequence[str], client_token: str
) -> None:
    ram.associate_resource_share(
        resourceShareArn=share_arn, principals=list(principals), clientToken=client_token
    )


def disassociate_principals(
    ram: Any, share_arn: str, principals: Sequence[str], client_token: str
) -> None:
    ram.disassociate_resource_share(
        resourceShareArn=share_arn, principals=list(principals), clientToken=client_token
    )


def set_allow_external_principals(
    ram: Any, share_arn: str, allow_external_principals: bool, client_token: str
) -> None:
    ram.update_resource_share(
        resourceShareArn=share_arn,
        allowExternalPrincipals=allow_external_principals,
        clientToken=client_token,
    )


def tag_share(ram: Any, share_arn: str, tags: Mapping[str, str]) -> None:
    ram.tag_resource(
        resourceShareArn=share_arn,
        tags=[{"key": key, "value": value} for key, value in sorted(tags.items())],
    )


def untag_share(ram: Any, share_arn: str, tag_keys: Sequence[str]) -> None:
    ram.untag_resource(resourceShareArn=share_arn, tagKeys=list(tag_keys))


def delete_resource_share(ram: Any, share_arn: str, client_token: str) -> bool:
    """Delete the share; False if RAM no longer knows it."""
    try:
        ram.delete_resource_share(resourceShareArn=share_arn, clientToken=client_token)
    except ClientError as error:
        if error_code(error) == "UnknownResourceException":
            return False
        raise
    return True


def _resource_share(share: Mapping[str, Any]) -> ResourceShare:
    return ResourceShare(
        arn=share["resourceShareArn"],
        name=share.get("name", ""),
        status=share.get("status", ""),
        status_message=share.get("statusMessage", ""),
        allow_external_principals=share.get("allowExternalPrincipals", True),
        tags={tag["key"]: tag.get("value", "") for tag in share.get("tags", [])},
    )
