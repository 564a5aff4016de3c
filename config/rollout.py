"""The optional `rollout:` section: how the per-account stacks reach the accounts.

Two paths exist side by side and share the per-account stacks unchanged:
- `cdk deploy <stack>` per account (always available), and
- `pipeline:` a CDK Pipelines pipeline in a tooling account that deploys the same stacks in
  waves (config/rollout_plan.py computes the waves, stages and pipelines).

Any `rollout:` section also synthesizes, per (account, region), the least-privilege
CloudFormation execution policy for `cdk bootstrap --cloudformation-execution-policies`.

- `stack_set:` (config/stack_set.py) a service-managed StackSet that gives every account of the
  organization's target OUs, including accounts that join later, the member stack in
  organization mode (stacks/stack_set_stack.py).
"""

from __future__ import annotations

import functools
import re
from typing import Annotated, Any

import botocore.session
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.stack_set import StackSetConfig, stack_set_problems

# https://docs.aws.amazon.com/codepipeline/latest/userguide/action-reference-CodestarConnectionSource.html
# Connections moved from the codestar-connections to the codeconnections service prefix;
# both ARN forms are in use and CodePipeline accepts either.
CONNECTION_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:(codestar-connections|codeconnections):[a-z]{2}(-[a-z]+)+-\d:\d{12}:"
    r"connection/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
# owner/repository (GitHub, Bitbucket) or group/subgroup/repository (GitLab).
FULL_REPOSITORY_ID = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
# botocore's codecommit RepositoryName: [\w\.-]+, 1..100.
CODECOMMIT_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")
# git check-ref-format, the rules a branch name can break in a YAML file.
BRANCH = re.compile(
    r"^(?!/)(?!.*//)(?!.*\.\.)(?!.*@\{)(?!.*\.lock$)(?!.*/$)(?!.*\.$)[^\s~^:?*\[\\\x00-\x1f\x7f]{1,255}$"
)
# S3 general purpose bucket naming rules.
BUCKET_NAME = re.compile(
    r"^(?!xn--)(?!sthree-)(?!.*\.\.)(?!\d+\.\d+\.\d+\.\d+$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
)


def _account_id(value: Any) -> str:
    # Imported here: config.model imports this module for its `rollout` field.
    from config.model import _account_id as account_id

    return account_id(value)


@functools.cache
def pipeline_regions() -> frozenset[str]:
    """Regions where CodePipeline exists, from botocore's bundled endpoint data."""
    session = botocore.session.get_session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions("codepipeline", partition_name=partition)
    )


def _matching(pattern: re.Pattern[str], what: str) -> Any:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return AfterValidator(check)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ConnectionSource(_Strict):
    """GitHub, GitHub Enterprise, Bitbucket or GitLab through a CodeConnections connection."""

    arn: Annotated[
        str,
        _matching(
            CONNECTION_ARN,
            "a connection ARN (arn:aws:codeconnections:<region>:<account>:connection/<uuid>)",
        ),
    ]
    repository: Annotated[
        str, _matching(FULL_REPOSITORY_ID, "a repository id of the form owner/repository")
    ]
    branch: Annotated[str, _matching(BRANCH, "a valid git branch name")]


class CodeCommitSource(_Strict):
    """A CodeCommit repository in the pipeline account."""

    repository: Annotated[
        str,
        _matching(CODECOMMIT_REPOSITORY, "a CodeCommit repository name ([A-Za-z0-9_.-], 1-100)"),
    ]
    branch: Annotated[str, _matching(BRANCH, "a valid git branch name")]


class S3Source(_Strict):
    """A zip of the repository in a versioned S3 bucket of the pipeline account."""

    bucket: Annotated[str, _matching(BUCKET_NAME, "a valid S3 bucket name")]
    object_key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]

    @field_validator("object_key")
    @classmethod
    def _zip(cls, value: str) -> str:
        # CodePipeline's S3 source action reads a .zip object and hands its content on.
        if not value.endswith(".zip"):
            raise ValueError(f"object key {value!r} must name a .zip file of the repository")
        return value


class PipelineSource(_Strict):
    """Exactly one of the three; the key names the kind, so error paths match the file."""

    connection: ConnectionSource | None = None
    codecommit: CodeCommitSource | None = None
    s3: S3Source | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> PipelineSource:
        given = [name for name in ("connection", "codecommit", "s3") if getattr(self, name)]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of connection, codecommit or s3 (got {given or 'none'})"
            )
        return self

    @property
    def chosen(self) -> ConnectionSource | CodeCommitSource | S3Source:
        return self.connection or self.codecommit or self.s3  # type: ignore[return-value]


class PipelineConfig(_Strict):
    """A CDK Pipelines pipeline in a tooling account that deploys every stack in waves."""

    account: str = Field(description="The pipeline (tooling) account; need not share lineage.")
    region: str
    source: PipelineSource
    manual_approval_before_waves: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        default=(),
        description="Waves that wait for a manual approval in CodePipeline before deploying.",
    )

    @field_validator("account", mode="before")
    @classmethod
    def _check_account(cls, value: Any) -> str:
        return _account_id(value)

    @field_validator("region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        if value not in pipeline_regions():
            raise ValueError(
                f"unknown region {value!r}: expected a region where CodePipeline exists"
            )
        return value

    @field_validator("manual_approval_before_waves", mode="before")
    @classmethod
    def _waves_tuple(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(set(value)) != len(value):
                raise ValueError(f"{value} lists a wave twice")
            return tuple(value)
        return value


class RolloutConfig(_Strict):
    pipeline: PipelineConfig | None = None
    stack_set: StackSetConfig | None = None


def _against_accounts(rollout: RolloutConfig | None, info: ValidationInfo) -> RolloutConfig | None:
    """Checks that need the account list (validated before this field)."""
    accounts = info.data.get("accounts")
    if rollout is not None and rollout.stack_set is not None:
        problems = list(stack_set_problems(rollout.stack_set, info.data.get("sharing")))
        if problems:
            raise ValueError("\n  - ".join(problems))
    if rollout is None or rollout.pipeline is None or accounts is None:
        return rollout
    waves = sorted({account.wave for account in accounts})
    unknown = [w for w in rollout.pipeline.manual_approval_before_waves if w not in waves]
    if unknown:
        raise ValueError(
            f"pipeline.manual_approval_before_waves: no account is in wave(s) {unknown} "
            f"(the accounts' waves are {waves})"
        )
    return rollout


RolloutSection = Annotated[RolloutConfig | None, AfterValidator(_against_accounts)]
