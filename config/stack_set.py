"""The optional `rollout.stack_set:` section: a service-managed StackSet for organizations.

Every account in the target OUs, including one created next month, gets the member stack
(stacks/stack_set_stack.py) in each listed region from StackSets' auto-deployment: no command
is run for it. The member stack shares the account's own default lineage group with the
organization/OU principals of `sharing:` (organization mode, so no invitation and no acceptor).

Field ranges come from botocore's CloudFormation model (StackSetOperationPreferences:
MaxConcurrentCount >= 1, MaxConcurrentPercentage 1-100, FailureToleranceCount >= 0,
FailureTolerancePercentage 0-100; OrganizationalUnitId's pattern), read at import so they
cannot drift from the API.
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any, Literal

import botocore.session
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from config.yaml_lists import ListAsTuple

DEFAULT_STACK_SET_NAME = "LineageSharingMember"
DEFAULT_ASSET_BUCKET_PREFIX = "lineage-sharing-stackset-assets"
# An OU (or the root) by id, or an OU by ARN (the id is its last path segment).
OU_ARN = re.compile(
    r"^arn:aws[a-z-]*:organizations::\d{12}:ou/(?P<org>o-[a-z0-9]{10,32})/(?P<ou>ou-[a-z0-9-]+)$"
)
# 34 + "-" + 12 digits + "-" + the longest region name (15, us-isof-south-1) = S3's 63.
ASSET_BUCKET_PREFIX = re.compile(r"^[a-z0-9][a-z0-9-]{0,33}$")


@functools.cache
def _cloudformation_shape(name: str) -> Any:
    model = botocore.session.get_session().get_service_model("cloudformation")
    return model.shape_for(name)


def api_range(shape: str) -> tuple[int, int | None]:
    metadata = _cloudformation_shape(shape).metadata
    return metadata["min"], metadata.get("max")


def api_enum(shape: str) -> tuple[str, ...]:
    return tuple(_cloudformation_shape(shape).enum)


def _ou_id_pattern() -> re.Pattern[str]:
    return re.compile(_cloudformation_shape("OrganizationalUnitId").metadata["pattern"])


def organizational_unit_id(value: str) -> str:
    """An OU id or the root id as DeploymentTargets.OrganizationalUnitIds takes it."""
    matched = OU_ARN.fullmatch(value)
    ou_id = matched.group("ou") if matched else value
    if not _ou_id_pattern().fullmatch(ou_id):
        raise ValueError(
            f"{value!r} is not an OU id (ou-<root>-<id>), the root id (r-<id>) or an OU ARN "
            "(arn:aws:organizations::<management account>:ou/o-<org>/ou-<root>-<id>)"
        )
    return ou_id


def _ou_target(value: str) -> str:
    organizational_unit_id(value)
    return value  # as given: an ARN's organization is checked against `sharing:`


def _region(value: Any) -> str:
    from config.model import _region as known_region  # config.model imports this module

    return known_region(value)


def _in_range(shape: str, what: str) -> Any:
    def check(value: int) -> int:
        low, high = api_range(shape)
        if value < low or (high is not None and value > high):
            bound = f"{low}-{high}" if high is not None else f"at least {low}"
            raise ValueError(f"{what} {value} is out of range: CloudFormation's {shape} is {bound}")
        return value

    return AfterValidator(check)


Region = Annotated[str, AfterValidator(_region)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class MaxConcurrent(_Strict):
    """Accounts per region deployed at once: a count or a percentage (exactly one)."""

    count: Annotated[int, _in_range("MaxConcurrentCount", "count")] | None = None
    percentage: Annotated[int, _in_range("MaxConcurrentPercentage", "percentage")] | None = None

    @model_validator(mode="after")
    def _one(self) -> MaxConcurrent:
        _exactly_one(self)
        return self


class FailureTolerance(_Strict):
    """Failed accounts per region before the operation stops there: a count or a percentage."""

    count: Annotated[int, _in_range("FailureToleranceCount", "count")] | None = None
    percentage: Annotated[int, _in_range("FailureTolerancePercentage", "percentage")] | None = None

    @model_validator(mode="after")
    def _one(self) -> FailureTolerance:
        _exactly_one(self)
        return self


def _exactly_one(model: MaxConcurrent | FailureTolerance) -> None:
    if (model.count is None) == (model.percentage is None):
        raise ValueError("give exactly one of count or percentage (the API takes one, not both)")


class OperationPreferences(_Strict):
    """StackSetOperationPreferences for the StackSet's create and update operations.

    They do not apply to auto-deployment (botocore's documentation of the shape says so):
    an account joining an OU is deployed on its own, whatever these say.
    """

    max_concurrent: MaxConcurrent | None = Field(
        default=None, description="Default (API): 1 account at a time per region."
    )
    failure_tolerance: FailureTolerance | None = Field(
        default=None, description="Default (API): 0, the first failure stops the region."
    )
    region_concurrency: Literal["SEQUENTIAL", "PARALLEL"] | None = Field(
        default=None, description="Regions one at a time (API default) or in parallel."
    )
    region_order: ListAsTuple[Region] = Field(
        default=(), description="The order of the regions (each one of stack_set.regions)."
    )
    concurrency_mode: Literal["STRICT_FAILURE_TOLERANCE", "SOFT_FAILURE_TOLERANCE"] | None = None

    @model_validator(mode="after")
    def _strict_concurrency(self) -> OperationPreferences:
        # "MaxConcurrentCount is at most one more than the FailureToleranceCount if you're
        # using STRICT_FAILURE_TOLERANCE" (the API reference; STRICT is the default mode).
        strict = self.concurrency_mode in (None, "STRICT_FAILURE_TOLERANCE")
        concurrent = self.max_concurrent.count if self.max_concurrent else None
        tolerated = self.failure_tolerance.count if self.failure_tolerance else 0
        if (
            strict
            and concurrent is not None
            and tolerated is not None
            and concurrent > tolerated + 1
        ):
            raise ValueError(
                f"max_concurrent.count {concurrent} is more than failure_tolerance.count "
                f"{tolerated} + 1, which STRICT_FAILURE_TOLERANCE (the default "
                "concurrency_mode) does not allow: raise failure_tolerance.count or set "
                "concurrency_mode: SOFT_FAILURE_TOLERANCE"
            )
        if len(set(self.region_order)) != len(self.region_order):
            raise ValueError(f"region_order {list(self.region_order)} lists a region twice")
        return self

    def cfn_properties(self) -> dict[str, Any]:
        """AWS::CloudFormation::StackSet OperationPreferences (only what is set)."""
        properties: dict[str, Any] = {}
        if self.max_concurrent is not None:
            if self.max_concurrent.count is not None:
                properties["MaxConcurrentCount"] = self.max_concurrent.count
            else:
                properties["MaxConcurrentPercentage"] = self.max_concurrent.percentage
        if self.failure_tolerance is not None:
            if self.failure_tolerance.count is not None:
                properties["FailureToleranceCount"] = self.failure_tolerance.count
            else:
                properties["FailureTolerancePercentage"] = self.failure_tolerance.percentage
        if self.region_concurrency is not None:
            properties["RegionConcurrencyType"] = self.region_concurrency
        if self.region_order:
            properties["RegionOrder"] = list(self.region_order)
        if self.concurrency_mode is not None:
            properties["ConcurrencyMode"] = self.concurrency_mode
        return properties


class StackSetConfig(_Strict):
    """A service-managed StackSet that deploys the member stack to every account of the OUs."""

    account: str | None = Field(
        default=None,
        description="Where the StackSet is administered: the management account (default, "
        "from sharing.organization_arn) or a CloudFormation delegated administrator (then "
        "CallAs DELEGATED_ADMIN).",
    )
    region: Region = Field(description="The StackSet's home region (its stack deploys there).")
    regions: ListAsTuple[Region] = Field(
        min_length=1, description="Regions every member account gets the member stack in."
    )
    organizational_units: ListAsTuple[Annotated[str, AfterValidator(_ou_target)]] = Field(
        default=(),
        description="Target OU ids or ARNs, or the root id (r-...) for the whole "
        "organization; default: the OUs of sharing.ou_arns.",
    )
    retain_stacks_on_account_removal: bool = Field(
        default=False,
        description="false: an account leaving the OUs gets its member stacks deleted (its "
        "share ends); true: they stay, no longer managed by the StackSet.",
    )
    operation_preferences: OperationPreferences = Field(default_factory=OperationPreferences)
    stack_set_name: Annotated[str, Field(pattern=r"^[a-zA-Z][a-zA-Z0-9-]{0,127}$")] = (
        DEFAULT_STACK_SET_NAME
    )
    asset_bucket_prefix: Annotated[str, AfterValidator(lambda v: _asset_prefix(v))] = Field(
        default=DEFAULT_ASSET_BUCKET_PREFIX,
        description="Lambda code buckets are named <prefix>-<account>-<region>, one per region.",
    )

    @model_validator(mode="after")
    def _within_regions(self) -> StackSetConfig:
        if len(set(self.regions)) != len(self.regions):
            raise ValueError(f"regions {list(self.regions)} lists a region twice")
        unknown = [r for r in self.operation_preferences.region_order if r not in self.regions]
        if unknown:
            raise ValueError(
                f"operation_preferences.region_order: {unknown} not in regions {list(self.regions)}"
            )
        if len(set(self.organizational_units)) != len(self.organizational_units):
            raise ValueError(
                f"organizational_units {list(self.organizational_units)} lists one twice"
            )
        return self

    @model_validator(mode="before")
    @classmethod
    def _account_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("account") is not None:
            from config.model import _account_id

            data = {**data, "account": _account_id(data["account"])}
        return data

    def target_ou_ids(self, sharing_ou_arns: tuple[str, ...]) -> tuple[str, ...]:
        """DeploymentTargets.OrganizationalUnitIds: as configured, else sharing's OUs."""
        return tuple(
            organizational_unit_id(ou) for ou in self.organizational_units or sharing_ou_arns
        )

    def asset_bucket_name(self, account: str, region: str) -> str:
        return f"{self.asset_bucket_prefix}-{account}-{region}"


def _asset_prefix(value: str) -> str:
    if not ASSET_BUCKET_PREFIX.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a bucket name prefix (lower-case letters, digits and '-', "
            "at most 34 characters, so <prefix>-<account>-<region> fits S3's 63)"
        )
    return value


def stack_set_problems(stack_set: StackSetConfig, sharing: Any) -> list[str]:
    """Checks against `sharing:` (organization mode), each naming its field."""
    if sharing is None or not getattr(sharing, "organization", False):
        return [
            "rollout.stack_set: needs `sharing: {mode: organization, ...}`: the member stack "
            "shares with the organization or its OUs, which StackSets' accounts belong to (an "
            "invitation per account cannot name an account created later)"
        ]
    problems = []
    management = sharing.management_account
    if stack_set.account == management:
        problems.append(
            f"rollout.stack_set.account: {management} is the management account already "
            "(the default); leave it out, or name a delegated administrator"
        )
    organization_id = sharing.organization_arn.rsplit("/", 1)[1]
    for index, given in enumerate(stack_set.organizational_units):
        matched = OU_ARN.fullmatch(given)
        if matched and matched.group("org") != organization_id:
            problems.append(
                f"rollout.stack_set.organizational_units[{index}]: {given!r} is an OU of "
                f"organization {matched.group('org')}, not of {sharing.organization_arn}"
            )
    if not stack_set.organizational_units and not sharing.ou_arns:
        problems.append(
            "rollout.stack_set.organizational_units: required when sharing shares with the "
            "whole organization (no sharing.ou_arns): give the root id (r-...) to target every "
            "account, or the OU ids; the organization ARN does not name its root"
        )
    return problems
