"""The optional `sharing:` section: per-account invitations, or sharing through AWS Organizations.

`mode: invitations` (the default, and what a file without the section gets) shares each
producer's lineage group with every consumer's account id; RAM sends each an invitation that
the consumer's acceptor accepts. `mode: organization` shares it with the organization, or with
the listed OUs, as RAM principals: every account in scope gets access without an invitation
(RAM "Sharing your AWS resources": "When you share resources in your organization, AWS RAM
doesn't send invitations to principals"), and an account that joins the OU later gets it with
no template change. RAM allows that only once the organization's management account has called
EnableSharingWithAwsOrganization (stacks/organization_sharing_stack.py does, in its own stack).

Formats, from the RAM API reference (CreateResourceShare `principals`) and the Organizations
API's id patterns: organization `arn:<partition>:organizations::<management account>:
organization/o-<10-32 a-z0-9>`, OU `arn:<partition>:organizations::<management account>:
ou/o-<org id>/ou-<4-32 a-z0-9>-<8-32 a-z0-9>`. An OU's ARN carries its organization's id and
management account, so an OU of another organization is caught before anything is built.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from config.alarm_notifications import json_schema_pattern
from config.yaml_lists import ListAsTuple

ORGANIZATION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):organizations::(?P<management>\d{12}):"
    r"organization/(?P<org>o-[a-z0-9]{10,32})$"
)
OU_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):organizations::(?P<management>\d{12}):"
    r"ou/(?P<org>o-[a-z0-9]{10,32})/(?P<ou>ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})$"
)
# RAM's default quota is 5,000 principals per share; OUs are meant to be few. Kept well below so
# the producer role's ram:Principal conditions stay small (constructs/lineage_share.py).
MAX_OUS = 50

INVITATIONS, ORGANIZATION = "invitations", "organization"

WHY_MODE = (
    "invitations: each consumer's account id is a principal and accepts an invitation; "
    "organization: the organization (or the listed OUs) is the principal, accounts in it get "
    "access without invitations, accounts joining it later too"
)


def _organization_arn(value: str) -> str:
    if not ORGANIZATION_ARN.fullmatch(value):
        hint = (
            ": that is an OU's ARN; put it under ou_arns and give the organization's ARN here"
            if OU_ARN.fullmatch(value)
            else ""
        )
        raise ValueError(
            f"{value!r} is not an organization ARN "
            f"(arn:aws:organizations::<management account id>:organization/o-<id>){hint}"
        )
    return value


def _ou_arn(value: str) -> str:
    if not OU_ARN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not an OU ARN "
            "(arn:aws:organizations::<management account id>:ou/o-<org id>/ou-<root>-<id>)"
        )
    return value


def _region(value: str) -> str:
    # Imported here: config.model imports this module for its `sharing` field.
    from config.model import _region as known_region

    return known_region(value)


OrganizationArn = Annotated[
    str,
    AfterValidator(_organization_arn),
    Field(json_schema_extra=json_schema_pattern(ORGANIZATION_ARN)),
]
OuArn = Annotated[
    str, AfterValidator(_ou_arn), Field(json_schema_extra=json_schema_pattern(OU_ARN))
]


class SharingMode(BaseModel):
    """How producers' shares reach consumers (default: per-account invitations)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    mode: Literal["invitations", "organization"] = Field(
        default=INVITATIONS, description=f"How shares reach consumers: {WHY_MODE}."
    )
    organization_arn: OrganizationArn | None = Field(
        default=None,
        description="Organization mode: the organization's ARN; its management account id "
        "(in the ARN) gets the stack that enables RAM sharing with AWS Organizations.",
    )
    ou_arns: ListAsTuple[OuArn] = Field(
        default=(),
        max_length=MAX_OUS,
        description="Organization mode: share with these OUs of the organization (and the OUs "
        "below them) instead of the whole organization.",
    )
    management_account_region: Annotated[str, AfterValidator(_region)] | None = Field(
        default=None,
        description="Organization mode: the region of the management account's stack (RAM's "
        "EnableSharingWithAwsOrganization is called there once for the organization).",
    )

    @model_validator(mode="after")
    def _fields_of_the_mode(self) -> SharingMode:
        problems = []
        if self.mode == ORGANIZATION:
            if self.organization_arn is None:
                problems.append("organization_arn is required with mode organization")
            if self.management_account_region is None:
                problems.append(
                    "management_account_region is required with mode organization (where the "
                    "management account's stack enables RAM sharing with AWS Organizations)"
                )
        else:
            for name in ("organization_arn", "ou_arns", "management_account_region"):
                if getattr(self, name):
                    problems.append(f"{name} applies only with mode organization")
        if self.organization_arn is not None:
            problems += list(_ou_problems(self.organization_arn, self.ou_arns))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def organization(self) -> bool:
        return self.mode == ORGANIZATION

    @property
    def principals(self) -> tuple[str, ...]:
        """The RAM principals an in-organization producer shares with: the OUs, else the org."""
        if not self.organization:
            return ()
        return self.ou_arns or (self.organization_arn,)  # type: ignore[return-value]

    @property
    def management_stack_name(self) -> str | None:
        """The management account's stack (stacks/organization_sharing_stack.py), if any."""
        return f"LineageSharingOrganization-{self.organization_id}" if self.organization else None

    @property
    def management_account(self) -> str | None:
        match = ORGANIZATION_ARN.fullmatch(self.organization_arn or "")
        return match["management"] if match else None

    @property
    def organization_id(self) -> str | None:
        match = ORGANIZATION_ARN.fullmatch(self.organization_arn or "")
        return match["org"] if match else None

    @property
    def partition(self) -> str | None:
        match = ORGANIZATION_ARN.fullmatch(self.organization_arn or "")
        return match["partition"] if match else None


def _ou_problems(organization_arn: str, ou_arns: tuple[str, ...]) -> list[str]:
    organization = ORGANIZATION_ARN.fullmatch(organization_arn)
    if organization is None:
        return []
    problems = []
    seen: set[str] = set()
    for index, ou_arn in enumerate(ou_arns):
        ou = OU_ARN.fullmatch(ou_arn)
        assert ou is not None  # the field's own validator ran first
        for part, what in (
            ("org", "organization id"),
            ("management", "management account"),
            ("partition", "partition"),
        ):
            if ou[part] != organization[part]:
                problems.append(
                    f"ou_arns[{index}]: {ou_arn!r} has {what} {ou[part]!r}, but organization_arn "
                    f"has {organization[part]!r}: RAM shares only with OUs of the sharing "
                    "account's own organization"
                )
                break
        if ou_arn in seen:
            problems.append(f"ou_arns[{index}]: {ou_arn!r} is listed twice")
        seen.add(ou_arn)
    return problems
