"""Thin boto3 edge of the organization sharing handler: one call, no decisions."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

# Bounded: a throttled or unavailable RAM fails the request within the function's timeout
# (CloudFormation then rolls back) rather than keeping the stack waiting.
RETRY_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 5}, connect_timeout=5, read_timeout=20
)


def create_ram_client() -> Any:
    return boto3.client("ram", config=RETRY_CONFIG)


def enable_sharing(ram: Any) -> None:
    """RAM's EnableSharingWithAwsOrganization; raises if RAM answers returnValue false."""
    response = ram.enable_sharing_with_aws_organization()
    if response.get("returnValue") is False:
        raise RuntimeError(
            "RAM answered EnableSharingWithAwsOrganization with returnValue false: sharing with "
            "AWS Organizations is not enabled (the organization must have all features enabled)"
        )
