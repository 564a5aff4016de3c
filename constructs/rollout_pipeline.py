"""A CDK Pipelines pipeline that tests, synthesizes and deploys the app in waves.

The synth step runs the project's own install and test targets, so a failing test stops the
rollout before anything deploys. Each wave is one CodePipeline stage whose CDK Stages (one
per account and region) deploy in parallel, optionally after a manual approval. A pipeline
that continues another one (more stacks than one pipeline holds) ignores source changes and
starts when its predecessor succeeds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, Stack, Stage, Validations, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from constructs import Construct

from lineage_constructs.nag_findings import finding_partition

# aws/codebuild/standard:8.0 carries Python 3.11-3.14 and Node.js 22/24 (the jsii runtime
# no longer supports Node 20). Python 3.11 is what the project's pins are tested with.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_8_0
RUNTIME_VERSIONS = {"python": "3.11", "nodejs": "22"}
# Where the synth step puts codebuild/cdk-assets in the cloud assembly for the Assets stage.
CDK_ASSETS_FOLDER = "cdk-assets"


class RolloutPipeline(Construct):
    """CodePipeline (cross-account keys) with a tested synth step and waves of CDK Stages."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        pipeline_name: str,
        source: pipelines.CodePipelineSource,
        install_commands: Sequence[str],
        commands: Sequence[str],
        env: Mapping[str, str],
        cli_version: str,
        started_by_pipeline: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.pipeline_name = pipeline_name
        runtimes = codebuild.BuildSpec.from_object(
            {"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}}
        )
        assets_install = codebuild.BuildSpec.from_object(
            {
                "phases": {
                    "install": {
                        "runtime-versions": RUNTIME_VERSIONS,
                        # Runs before CDK's own `npm install -g cdk-assets@<version>` (partial
                        # build specs come first), which then links this pinned folder.
                        "commands": [
                            f"npm ci --prefix {CDK_ASSETS_FOLDER} --no-audit --no-fund",
                        ],
                    }
                }
            }
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            cross_account_keys=True,
            enable_key_rotation=True,
            # One Assets action for every file asset: the plan counts exactly one.
            publish_assets_in_parallel=False,
            cli_version=cli_version,
            cdk_assets_cli_version=f"file:{CDK_ASSETS_FOLDER}",
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=runtimes,
            ),
            asset_publishing_code_build_defaults=pipelines.CodeBuildOptions(
                partial_build_spec=assets_install
            ),
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                install_commands=list(install_commands),
                commands=list(commands),
                env=dict(env),
            ),
        )
        self._started_by = started_by_pipeline

    def add_wave(self, name: str, stages: Sequence[Stage], *, approval: bool) -> None:
        pre = [pipelines.ManualApprovalStep(f"Approve{name}")] if approval else []
        wave = self.pipeline.add_wave(name, pre=pre)
        for stage in stages:
            wave.add_stage(stage)

    def build(self) -> None:
        """Create the CodePipeline resources now (CDK would at synth): the chaining rule and
        the acknowledgments need them."""
        self.pipeline.build_pipeline()
        if self._started_by is not None:
            events.Rule(
                self,
                "StartAfterPreviousPipeline",
                description=f"Starts {self.pipeline_name} when {self._started_by} succeeds.",
                event_pattern=events.EventPattern(
                    source=["aws.codepipeline"],
                    detail_type=["CodePipeline Pipeline Execution State Change"],
                    detail={"pipeline": [self._started_by], "state": ["SUCCEEDED"]},
                ),
                targets=[targets.CodePipeline(self.pipeline.pipeline)],
            )
        _acknowledge(self)


# CDK's grants on the pipeline's own artifact bucket and key (bucket.grantReadWrite /
# grantRead, key.grantEncryptDecrypt): the action wildcards are CDK's standard object sets.
ARTIFACT_READ = ("s3:GetBucket*", "s3:GetObject*", "s3:List*")
ARTIFACT_WRITE = ("s3:Abort*", "s3:DeleteObject*")
ARTIFACT_KEY = ("kms:GenerateDataKey*", "kms:ReEncrypt*")
ARTIFACT_REASON = (
    "CDK Pipelines' grant on this pipeline's own artifact bucket (and its cross-region "
    "replication buckets) and their KMS key only: CodePipeline artifacts are objects with "
    "generated keys, read and written with versions, tags and multipart uploads."
)


def _acknowledge(rollout: RolloutPipeline) -> None:
    """CDK Pipelines' generated roles, one acknowledgment per finding on each role's policy."""
    stack = Stack.of(rollout)
    code_pipeline = rollout.pipeline.pipeline
    partition = finding_partition(stack)
    region, account = stack.region, stack.account
    bucket_objects = f"<{_logical_id(code_pipeline.artifact_bucket)}.Arn>/*"
    replication_objects = [
        f"arn:{partition}:s3:::{stack.resolve(support.replication_bucket.bucket_name)}/*"
        for support in code_pipeline.cross_region_support.values()
    ]

    def codebuild_logs(project: codebuild.IProject | None) -> list[tuple[str, str]]:
        name = f"<{_logical_id(project)}>" if project is not None else ""
        log_group = f"arn:{partition}:logs:{region}:{account}:log-group:/aws/codebuild/"
        report_group = f"arn:{partition}:codebuild:{region}:{account}:report-group/"
        return [
            (
                f"Resource::{log_group}{name}:*" if name else f"Resource::{log_group}*",
                "CodeBuild writes the build's log streams (named per build) to the project's "
                "log group; CDK limits the grant to that log group"
                + ("." if name else " prefix: the shared asset role serves every asset project."),
            ),
            (
                f"Resource::{report_group}{name}-*" if name else f"Resource::{report_group}*",
                "CodeBuild test reports go to report groups CodeBuild names after the project; "
                "CDK grants them in this account and region only.",
            ),
        ]

    def artifacts(*, write: bool, key: bool) -> list[tuple[str, str]]:
        actions = ARTIFACT_READ + (ARTIFACT_WRITE if write else ()) + (ARTIFACT_KEY if key else ())
        return [(f"Action::{action}", ARTIFACT_REASON) for action in actions] + [
            (f"Resource::{bucket_objects}", ARTIFACT_REASON)
        ]

    findings = {
        "Pipeline/Pipeline/Role": [
            *artifacts(write=True, key=True),
            *((f"Resource::{objects}", ARTIFACT_REASON) for objects in replication_objects),
            (
                "Resource::*",
                "CDK refers to the cross-region replication buckets' KMS keys by alias, which "
                "IAM cannot name in a Resource; the keys' policies admit only this account and "
                "the target accounts' deploy roles.",
            ),
        ],
        "Pipeline/Pipeline/Source/": artifacts(write=True, key=True),
        "Pipeline/Pipeline/Build/Synth/CdkBuildProject/Role": [
            *artifacts(write=True, key=True),
            *codebuild_logs(rollout.pipeline.synth_project),
        ],
        "Pipeline/UpdatePipeline/SelfMutation/Role": [
            *artifacts(write=False, key=True),
            *codebuild_logs(rollout.pipeline.self_mutation_project),
            (
                f"Resource::arn:*:iam::{account}:role/*",
                "Self-mutation runs `cdk deploy` of the pipeline stack, which assumes the CDK "
                "bootstrap roles of this account; the grant is limited by the condition "
                "iam:ResourceTag/aws-cdk:bootstrap-role to exactly those roles.",
            ),
            (
                "Resource::*",
                "cloudformation:DescribeStacks (the CLI looks up stacks by name before it knows "
                "their ids) and s3:ListBucket; both read-only.",
            ),
        ],
        "Pipeline/Assets/FileRole": [
            *artifacts(write=False, key=False),
            *codebuild_logs(None),
            (
                "Resource::*",
                "codebuild:StartBuild/StopBuild/BatchGetBuilds for the asset projects, which CDK "
                "creates after this shared role; the role can only be assumed by CodeBuild and "
                "this pipeline.",
            ),
        ],
    }
    for node in rollout.node.find_all():
        if not isinstance(node, iam.Policy) or not node.node.path.endswith("/DefaultPolicy"):
            continue
        role_path = node.node.path.removesuffix("/DefaultPolicy")
        for suffix, role_findings in findings.items():
            matches = (
                role_path.endswith("/CodePipelineActionRole") and f"/{suffix}" in role_path
                if suffix.endswith("/")
                else role_path.endswith(f"/{suffix}")
            )
            if matches:
                for finding, reason in role_findings:
                    Validations.of(node).acknowledge(
                        Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
                    )
    artifact_buckets = [code_pipeline.artifact_bucket] + [
        support.replication_bucket for support in code_pipeline.cross_region_support.values()
    ]
    for bucket in artifact_buckets:
        Validations.of(bucket).acknowledge(
            Acknowledgment(
                id="AwsSolutions-S1",
                reason="A pipeline artifact bucket: only this pipeline's roles read and write "
                "it (public access blocked, TLS enforced, KMS-encrypted with the pipeline's "
                "key), each access is a step of a pipeline execution that CodePipeline records, "
                "and CloudTrail data events can audit it; access logs would add a second "
                "bucket without new information.",
            )
        )


def _logical_id(construct: Construct) -> str:
    element = construct.node.default_child
    return Stack.of(element).resolve(Stack.of(element).get_logical_id(element))
