"""Thin boto3 edge: one function per AWS call, plain data in and out, no decisions.

Lists are read to the last page (RAM may return an empty page that still carries a
nextToken; botocore's paginators keep going until the token is absent). Transient errors
(throttling, 5xx) are retried by the clients' standard retry mode, never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from share_manager.decisions import LineageGroup, PrincipalAssociation, ResourceShare

# total_max_attempts counts every send (Config's "max_attempts" would count retries only).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})

BOOTSTRAP_CONTEXT_TYPE = "LineageSharingBootstrap"
BOOTSTRAP_CONTEXT_SOURCE_URI = "urn:lineage-sharing:bootstrap"
BOOTSTRAP_CONTEXT_DESCRIPTION = (
    "Marker created by the lineage sharing stack so that SageMaker creates this account's "
    "default lineage group. Safe to keep; deleting it does not delete the lineage group."
)


def create_clients() -> tuple[Any, Any]:
    """(ram, sagemaker) clients for the Lambda's own region, with standard retries."""
    return (
        boto3.client("ram", config=RETRY_CONFIG),
        boto3.client("sagemaker", config=RETRY_CONFIG),
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
        message = error.response.get("Error", {}).get("Message", "")
        if error_code(error) == "ValidationException" and "already exist" in message.lower():
            return False
        raise
    return True


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


def list_principal_associations(ram: Any, share_arn: str) -> list[PrincipalAssociation]:
    associations: list[PrincipalAssociation] = []
    for page in ram.get_paginator("get_resource_share_associations").paginate(
        associationType="PRINCIPAL", resourceShareArns=[share_arn]
    ):
        for association in page.get("resourceShareAssociations", []):
            associations.append(
                PrincipalAssociation(
                    principal=association["associatedEntity"],
                    status=association["status"],
                    last_updated=association.get("lastUpdatedTime")
                    or association.get("creationTime"),
                    status_message=association.get("statusMessage", ""),
                )
            )
    return associations


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
