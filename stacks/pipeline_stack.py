"""One pipeline of the rollout plan: its source, its synth step and its waves of stacks."""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Environment, Stack, Stage, pipelines
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline_actions as codepipeline_actions
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config.model import ConfigError, SharingConfig
from config.rollout import PipelineConfig
from config.rollout_plan import PipelinePlan, deployment_stage_id
from lineage_constructs.rollout_pipeline import CDK_ASSETS_FOLDER, RolloutPipeline
from stacks.lineage_sharing_stack import LineageSharingStack

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Assets stage's `cdk-assets` command and its lock file (README: "Pipeline assets").
CDK_ASSETS_FILES = ("package.json", "package-lock.json", "cdk-assets.js")
# What `make` exports for every CDK CLI call, for the synth step's shell too.
CDK_CLI_ENVIRONMENT = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
}


def repository_path(config_file: str | Path) -> str:
    """The config file as the synth step sees it: relative to the repository root."""
    path = Path(config_file).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        raise ConfigError(
            f"{config_file}: rollout.pipeline: the pipeline synthesizes from its source "
            f"repository, so the config file must be inside it ({REPO_ROOT})"
        ) from None


def pinned_cdk_cli_version() -> str:
    """The CDK CLI package.json pins: self-mutation installs exactly this one."""
    package = json.loads((REPO_ROOT / "package.json").read_text())
    return package["devDependencies"]["aws-cdk"]


class LineageSharingPipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        plan: PipelinePlan,
        settings: PipelineConfig,
        config: SharingConfig,
        config_file: str | Path,
    ) -> None:
        super().__init__(
            scope,
            plan.name,
            stack_name=plan.name,
            env=Environment(account=settings.account, region=settings.region),
            description=f"CDK Pipelines rollout of SageMaker lineage sharing ({plan.name})",
        )
        copy_assets_tool = (
            f"mkdir -p cdk.out/{CDK_ASSETS_FOLDER} && cp "
            + " ".join(f"codebuild/cdk-assets/{name}" for name in CDK_ASSETS_FILES)
            + f" cdk.out/{CDK_ASSETS_FOLDER}/"
        )
        pipeline = RolloutPipeline(
            self,
            "Rollout",
            pipeline_name=plan.name,
            source=_source(self, settings, trigger=plan.started_by is None),
            install_commands=["make install"],
            commands=[
                "make test",
                f"make synth CONFIG={repository_path(config_file)}",
                copy_assets_tool,
            ],
            env=CDK_CLI_ENVIRONMENT,
            cli_version=pinned_cdk_cli_version(),
            started_by_pipeline=plan.started_by,
        )
        for stage_plan in plan.stages:
            stages = []
            for stack_plan in stage_plan.stacks:
                stage = Stage(
                    self,
                    deployment_stage_id(stack_plan),
                    env=Environment(account=stack_plan.account.id, region=stack_plan.region),
                )
                LineageSharingStack(stage, plan=stack_plan, config=config)
                stages.append(stage)
            pipeline.add_wave(stage_plan.name, stages, approval=stage_plan.approval)
        pipeline.build()
        self.rollout = pipeline


def _source(
    scope: Construct, settings: PipelineConfig, *, trigger: bool
) -> pipelines.CodePipelineSource:
    """The config's source; a continuing pipeline leaves triggering to its predecessor."""
    source = settings.source
    if source.connection is not None:
        return pipelines.CodePipelineSource.connection(
            source.connection.repository,
            source.connection.branch,
            connection_arn=source.connection.arn,
            trigger_on_push=trigger,
        )
    if source.codecommit is not None:
        return pipelines.CodePipelineSource.code_commit(
            codecommit.Repository.from_repository_name(
                scope, "SourceRepository", source.codecommit.repository
            ),
            source.codecommit.branch,
            trigger=codepipeline_actions.CodeCommitTrigger.EVENTS
            if trigger
            else codepipeline_actions.CodeCommitTrigger.NONE,
        )
    assert source.s3 is not None
    return pipelines.CodePipelineSource.s3(
        s3.Bucket.from_bucket_name(scope, "SourceBucket", source.s3.bucket),
        source.s3.object_key,
        trigger=codepipeline_actions.S3Trigger.EVENTS
        if trigger
        else codepipeline_actions.S3Trigger.NONE,
    )
