"""Thin boto3 edge: one function per RAM call, plain data in and out, no decisions.

Lists are read to the last page: RAM may return an empty page that still carries a
nextToken, so only an absent token ends a list. Transient errors (throttling, 5xx) are
retried by the client's standard retry mode, never here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from invitation_acceptor.decisions import Invitation, PendingResource

# total_max_attempts counts every send (Config's "max_attempts" would count retries only).
RETRY_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 8})


def create_ram_client() -> Any:
    """RAM client for the Lambda's own region (invitations are regional), with standard retries."""
    return boto3.client("ram", config=RETRY_CONFIG)


def create_ssm_client() -> Any:
    """SSM client for the Lambda's own region, where the stack keeps the allow-list."""
    return boto3.client("ssm", config=RETRY_CONFIG)


# GetParameters takes at most 10 names per call.
_PARAMETERS_PER_CALL = 10


def get_parameter_values(ssm: Any, names: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """({name: value} of the parameters found, names SSM reported as not found)."""
    values: dict[str, str] = {}
    missing: list[str] = []
    for start in range(0, len(names), _PARAMETERS_PER_CALL):
        answer = ssm.get_parameters(Names=list(names[start : start + _PARAMETERS_PER_CALL]))
        values.update({item["Name"]: item["Value"] for item in answer.get("Parameters", [])})
        missing += answer.get("InvalidParameters", [])
    return values, missing


def error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def error_message(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Message", "")


def list_received_invitations(ram: Any) -> list[Invitation]:
    """Every invitation this account received, whatever its status."""
    return [
        Invitation(
            arn=item.get("resourceShareInvitationArn", ""),
            sender=item.get("senderAccountId", ""),
            resource_share_arn=item.get("resourceShareArn", ""),
            resource_share_name=item.get("resourceShareName", ""),
            status=item.get("status", ""),
        )
        for item in _all_items(ram.get_resource_share_invitations, "resourceShareInvitations")
    ]


def list_pending_invitation_resources(ram: Any, invitation_arn: str) -> list[PendingResource]:
    """What accepting the invitation would give access to."""
    return [
        PendingResource(arn=item.get("arn", ""), type=item.get("type", ""))
        for item in _all_items(
            ram.list_pending_invitation_resources,
            "resources",
            resourceShareInvitationArn=invitation_arn,
        )
    ]


def accept_invitation(ram: Any, invitation_arn: str, client_token: str) -> None:
    ram.accept_resource_share_invitation(
        resourceShareInvitationArn=invitation_arn, clientToken=client_token
    )


def _all_items(
    call: Callable[..., Mapping[str, Any]], items_key: str, **request: Any
) -> Iterator[Mapping[str, Any]]:
    # botocore has no paginator for ListPendingInvitationResources, so both lists use this loop.
    next_token: str | None = None
    while True:
        page = call(**request, **({"nextToken": next_token} if next_token else {}))
        yield from page.get(items_key, [])
        previous_token, next_token = next_token, page.get("nextToken")
        if not next_token:
            return
        if next_token == previous_token:
            # Asking again with the same token would loop for ever.
            raise RuntimeError(f"RAM returned the same nextToken twice while listing {items_key}")
