"""`accounts[].query_role`: a role in a consumer's stack for reading its producers' lineage.

RAM grants a consumer account only the resource side of the read (the lineage group's policy);
whoever reads also needs identity-side permission for the producers' ARNs. This role holds
exactly that, and the config names who may assume it.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from config.alarm_notifications import json_schema_pattern
from config.yaml_lists import ListAsTuple

MAX_TRUSTED_PRINCIPALS = 20
# IAM principals a trust policy can name by ARN: an account's root (any principal of that
# account that its own policies let assume roles), a role or a user (with an optional path).
PRINCIPAL_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):"
    r"(root|(role|user)(/[\x21-\x7e]+)*/[\w+=,.@-]{1,64})$"
)
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")

WHY_TRUSTED = (
    f"at most {MAX_TRUSTED_PRINCIPALS}: IAM limits a role's trust policy to 2,048 characters by "
    "default; trust a role of your own (SSO permission set, CI role) rather than many people"
)


def _principal(value: str) -> str:
    if ACCOUNT_ID.fullmatch(value) or PRINCIPAL_ARN.fullmatch(value):
        return value
    hint = (
        ": a session ARN (arn:...:sts::...:assumed-role/...) changes with every session; "
        "name the role (arn:aws:iam::<account>:role/<name>)"
        if ":assumed-role/" in value
        else ""
    )
    raise ValueError(
        f"{value!r} is not a 12-digit account id or an IAM role, user or root ARN "
        f"(arn:aws:iam::<account>:role/<name>){hint}"
    )


TrustedPrincipal = Annotated[
    str,
    AfterValidator(_principal),
    Field(
        json_schema_extra={
            "pattern": f"{ACCOUNT_ID.pattern}|{json_schema_pattern(PRINCIPAL_ARN)['pattern']}"
        }
    ),
]


class QueryRole(BaseModel):
    """An IAM role `LineageSharingQuery-<region>` in each stack of this account that receives."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    assumable_by: ListAsTuple[TrustedPrincipal] = Field(
        min_length=1,
        max_length=MAX_TRUSTED_PRINCIPALS,
        description="Who may assume the role: 12-digit account ids (any principal there that its "
        "own policies allow sts:AssumeRole) or IAM role/user ARNs; "
        f"{WHY_TRUSTED}.",
    )
    association_writes: bool = Field(
        default=False,
        description="Also allow sagemaker:AddAssociation and DeleteAssociation between this "
        "account's and the producers' lineage entities.",
    )

    def principal_arns(self, partition: str) -> tuple[str, ...]:
        """Account ids as their root ARN, the form a trust policy stores."""
        return tuple(
            f"arn:{partition}:iam::{value}:root" if ACCOUNT_ID.fullmatch(value) else value
            for value in self.assumable_by
        )


def principal_partition(value: str) -> str | None:
    match = PRINCIPAL_ARN.fullmatch(value)
    return match["partition"] if match else None
