"""CDK Provider framework entry point for Custom::RamSharingWithOrganization.

Create and Update call RAM's EnableSharingWithAwsOrganization from the organization's
management account (RAM refuses it anywhere else); calling it when sharing is already enabled
changes nothing, so a retried or repeated request is harmless. Delete does nothing: disabling
sharing with the organization would cut every organization and OU share of every account, and
removing this stack must not do that (disable it by hand if that is really meant).

Entry -> pure decision (`plan_request`) -> thin boto3 edge (`enable_sharing`). Return a dict
to succeed, raise to fail: the framework reports the exception's message to CloudFormation.
The function's timeout and the client's bounded retries keep a stack from waiting long.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

logger = logging.getLogger(__name__)

ORGANIZATION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):organizations::(?P<management>\d{12}):"
    r"organization/(?P<org>o-[a-z0-9]{10,32})$"
)


class Action(Enum):
    ENABLE = "enable"
    NOTHING = "nothing"


@dataclass(frozen=True)
class Plan:
    action: Action
    physical_resource_id: str
    reason: str


def plan_request(event: Mapping[str, Any], caller_account: str) -> Plan:
    """What to do for one CloudFormation request; raises with the cause when it cannot be done."""
    request_type = event.get("RequestType")
    if request_type == "Delete":
        return Plan(
            Action.NOTHING,
            str(event.get("PhysicalResourceId") or event.get("RequestId") or ""),
            "disabling sharing with AWS Organizations would cut every organization share",
        )
    if request_type not in ("Create", "Update"):
        raise ValueError(f"unsupported RequestType {request_type!r}")
    organization_arn = (event.get("ResourceProperties") or {}).get("OrganizationArn")
    match = ORGANIZATION_ARN.fullmatch(str(organization_arn or ""))
    if match is None:
        raise ValueError(
            "ResourceProperties.OrganizationArn must be an organization ARN "
            f"(arn:aws:organizations::<management account>:organization/o-<id>), got "
            f"{organization_arn!r}"
        )
    if match["management"] != caller_account:
        raise ValueError(
            f"this stack runs in account {caller_account}, but {organization_arn} is managed by "
            f"{match['management']}: RAM enables sharing with AWS Organizations only when "
            "called from the organization's management account; deploy this stack there"
        )
    return Plan(Action.ENABLE, str(organization_arn), "enable (idempotent)")


def caller_account_of(function_arn: str) -> str:
    # arn:<partition>:lambda:<region>:<account>:function:<name>
    parts = function_arn.split(":")
    if len(parts) < 7 or parts[2] != "lambda":
        raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
    return parts[4]


@functools.cache
def default_ram_client() -> Any:
    from organization_sharing.aws_edge import create_ram_client

    return create_ram_client()


def on_event(event: Mapping[str, Any], context: Any, ram: Any = None) -> dict[str, Any]:
    fields = {
        "request_type": event.get("RequestType"),
        "logical_resource_id": event.get("LogicalResourceId"),
    }
    try:
        plan = plan_request(event, caller_account_of(context.invoked_function_arn))
        if plan.action is Action.ENABLE:
            from organization_sharing.aws_edge import enable_sharing

            enable_sharing(ram or default_ram_client())
        logger.info(
            plan.action.value,
            extra={
                **fields,
                "action": plan.action.value,
                "reason": plan.reason,
                "physical_resource_id": plan.physical_resource_id,
            },
        )
    except Exception as error:
        logger.exception(
            "error",
            extra={**fields, "action": "error", "reason": f"{type(error).__name__}: {error}"},
        )
        raise
    return {"PhysicalResourceId": plan.physical_resource_id}
