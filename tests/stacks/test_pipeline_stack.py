"""The CDK Pipelines stack built from config/example-pipeline.yaml: what it deploys, in which
order, with which synth step, and that `cdk deploy <stack>` keeps working next to it."""

from __future__ import annotations

import json

import pytest
import yaml
from aws_cdk import App, Validations
from aws_cdk.assertions import Match, Template
from cdk_nag import AwsSolutionsChecks

from app import REPO_ROOT
from config.model import parse_config, plan_stacks
from config.rollout_plan import CodePipelineQuotas, plan_rollout
from stacks.lineage_sharing_stack import LineageSharingStack
from stacks.pipeline_stack import pinned_cdk_cli_version
from stacks.rollout_stacks import add_rollout_stacks
from tests.conftest import CONNECTION_ARN, EXAMPLE_CONFIG, PIPELINE_ACCOUNT, ROLLOUT, read_assembly

CDK_OVERHEAD_STAGES = ["Source", "Build", "UpdatePipeline", "Assets"]


def resources(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


@pytest.fixture(scope="module")
def pipeline(rollout_app):
    return rollout_app.top_level("LineageSharingPipeline")


@pytest.fixture(scope="module")
def codepipeline(pipeline) -> dict:
    (resource,) = resources(pipeline.template, "AWS::CodePipeline::Pipeline").values()
    return resource["Properties"]


@pytest.fixture(scope="module")
def projects(rollout_app, pipeline) -> dict[str, dict]:
    """CodeBuild projects by what they do, with their build specs parsed."""
    found = {}
    for logical_id, project in resources(pipeline.template, "AWS::CodeBuild::Project").items():
        spec = project["Properties"]["Source"]["BuildSpec"]
        if spec.startswith("buildspec-"):  # CDK writes long build specs into the assembly
            spec = (rollout_app.outdir / spec).read_text()
        kind = next(k for k in ("Synth", "SelfMutation", "FileAsset") if k in logical_id)
        found[kind] = {"properties": project["Properties"], "spec": json.loads(spec)}
    return found


# ---------------------------------------------------------------------------- layout


def test_the_pipeline_has_cdks_stages_then_one_stage_per_planned_stage(
    codepipeline, rollout_config
):
    plan = plan_rollout(rollout_config)
    (planned,) = plan.pipelines

    names = [stage["Name"] for stage in codepipeline["Stages"]]
    assert names == CDK_OVERHEAD_STAGES + [s.codepipeline_stage_name for s in planned.stages]
    actions = [len(stage["Actions"]) for stage in codepipeline["Stages"]]
    assert actions == [1, 1, 1, 1] + [s.actions for s in planned.stages]
    assert sum(actions) == planned.actions


def test_each_stack_is_a_change_set_prepared_then_executed_with_its_accounts_bootstrap_roles(
    codepipeline, rollout_config
):
    plan = plan_rollout(rollout_config)
    for planned, stage in zip(plan.stages, codepipeline["Stages"][4:], strict=True):
        deploys = [a for a in stage["Actions"] if a["ActionTypeId"]["Provider"] == "CloudFormation"]
        for stack in planned.stacks:
            prepare, execute = [
                a for a in deploys if a["Configuration"]["StackName"] == stack.stack_name
            ]
            assert prepare["Configuration"]["ActionMode"] == "CHANGE_SET_REPLACE"
            assert execute["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
            assert prepare["RunOrder"] < execute["RunOrder"]
            account, region = stack.account.id, stack.region
            assert (
                f":iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-{region}"
                in json.dumps(prepare["RoleArn"])
            )
            assert (
                f":iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-{region}"
                in json.dumps(prepare["Configuration"]["RoleArn"])
            )
            assert prepare.get("Region", "us-east-1") == region


def test_a_manual_approval_runs_first_in_the_first_stage_of_wave_two_only(codepipeline):
    approvals = [
        (stage["Name"], action["RunOrder"])
        for stage in codepipeline["Stages"]
        for action in stage["Actions"]
        if action["ActionTypeId"]["Category"] == "Approval"
    ]
    assert approvals == [("Wave2-Consumers", 1)]


def test_artifacts_are_encrypted_with_a_rotated_cross_account_key(pipeline, codepipeline):
    template = Template.from_json(pipeline.template)
    template.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    stores = {store["Region"]: store["ArtifactStore"] for store in codepipeline["ArtifactStores"]}
    assert set(stores) == {"us-east-1", "eu-west-1"}
    assert all(store["EncryptionKey"]["Type"] == "KMS" for store in stores.values())
    assert codepipeline["PipelineType"] == "V2"


def test_the_source_is_the_configured_connection_repository_and_branch(codepipeline):
    (source,) = codepipeline["Stages"][0]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION_ARN,
        "FullRepositoryId": "my-org/ml-lineage-sharing",
        "BranchName": "main",
        "DetectChanges": True,
    }


# ---------------------------------------------------------------------------- CodeBuild steps


def test_synth_installs_with_make_runs_every_test_then_synthesizes_the_same_config(projects):
    synth = projects["Synth"]
    phases = synth["spec"]["phases"]

    assert phases["install"]["commands"] == ["make install"]
    assert phases["build"]["commands"][:2] == [
        "make test",
        "make synth CONFIG=config/example-pipeline.yaml",
    ]
    assert synth["spec"]["artifacts"]["base-directory"] == "cdk.out"


@pytest.mark.parametrize("kind", ["Synth", "SelfMutation", "FileAsset"])
def test_every_build_runs_on_a_current_image_with_the_projects_runtimes(projects, kind):
    project = projects[kind]
    assert project["properties"]["Environment"]["Image"] == "aws/codebuild/standard:8.0"
    assert project["spec"]["phases"]["install"]["runtime-versions"] == {
        "python": "3.11",
        "nodejs": "22",
    }


def test_self_mutation_installs_exactly_the_cli_package_json_pins(projects):
    commands = projects["SelfMutation"]["spec"]["phases"]["install"]["commands"]
    assert commands == [f"npm install -g aws-cdk@{pinned_cdk_cli_version()}"]
    package = json.loads((REPO_ROOT / "package.json").read_text())
    assert pinned_cdk_cli_version() == package["devDependencies"]["aws-cdk"] == "2.1148.1"


def test_assets_are_published_by_the_projects_pinned_cdk_assets(projects):
    spec = projects["FileAsset"]["spec"]
    # The pinned folder's own lock file first, then CDK's install links that folder.
    assert spec["phases"]["install"]["commands"] == [
        "npm ci --prefix cdk-assets --no-audit --no-fund",
        "npm install -g cdk-assets@file:cdk-assets",
    ]
    synth = projects["Synth"]["spec"]["phases"]["build"]["commands"]
    assert synth[-1] == (
        "mkdir -p cdk.out/cdk-assets && cp codebuild/cdk-assets/package.json "
        "codebuild/cdk-assets/package-lock.json codebuild/cdk-assets/cdk-assets.js cdk.out/cdk-assets/"
    )


# ---------------------------------------------------------------------------- next to cdk deploy


def construct_path_free(template: dict) -> dict:
    """The template without what CDK derives from the construct path, which differs under the
    pipeline's CDK Stage: Lambda permission logical ids, the Provider framework's function
    descriptions and the dead-letter queue policy's statement ids."""
    normalized = json.loads(json.dumps(template))
    permissions = []
    for logical_id in list(normalized["Resources"]):
        resource = normalized["Resources"][logical_id]
        if resource["Type"] == "AWS::Lambda::Permission":
            permissions.append(normalized["Resources"].pop(logical_id)["Properties"])
        elif resource["Type"] == "AWS::Lambda::Function":
            resource["Properties"].pop("Description", None)
        elif resource["Type"] == "AWS::SQS::QueuePolicy":
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                statement.pop("Sid", None)
    normalized["LambdaPermissions"] = sorted(permissions, key=json.dumps)
    return normalized


def test_the_pipeline_deploys_what_cdk_deploy_deploys(rollout_app, rollout_config):
    for plan in plan_stacks(rollout_config):
        top_level = rollout_app.top_level(plan.stack_name)
        in_stage = rollout_app.in_stage(plan.stack_name)
        assert (in_stage.account, in_stage.region) == (top_level.account, top_level.region)
        assert construct_path_free(in_stage.template) == construct_path_free(top_level.template)
        # The share itself is byte-identical: switching between `cdk deploy` and the pipeline
        # never re-runs, let alone replaces, it.
        share = {
            k: v
            for k, v in top_level.template["Resources"].items()
            if v["Type"].startswith("Custom::")
        }
        assert len(share) == (1 if plan.shares else 0)
        assert all(in_stage.template["Resources"][k] == v for k, v in share.items())


def test_cdk_deploy_selects_the_per_account_stack_by_its_name(rollout_app, rollout_config):
    manifest = json.loads((rollout_app.outdir / "manifest.json").read_text())
    stacks = {
        k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"
    }
    # The CLI matches `cdk deploy <pattern>` against top-level artifact ids; the pipeline's
    # copies live in nested assemblies (ids like LineageSharingPipeline/<stage>/<stack>).
    assert {p.stack_name for p in plan_stacks(rollout_config)} <= stacks


def test_without_a_pipeline_section_no_pipeline_stack_exists(rollout_app, example_app):
    assert not [name for name in example_app.templates if "Pipeline" in name]
    assert [s.name for s in rollout_app.named("LineageSharingPipeline")] == [
        "LineageSharingPipeline",
        "LineageSharingPipeline-support-eu-west-1",
    ]


# ---------------------------------------------------------------------------- several pipelines


@pytest.fixture(scope="module")
def chained_app(tmp_path_factory):
    """The example's three accounts with a pipeline quota that holds two stacks per pipeline."""
    raw = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    raw["rollout"] = {
        "pipeline": dict(ROLLOUT["rollout"]["pipeline"], manual_approval_before_waves=[])
    }
    config = parse_config(raw)
    outdir = tmp_path_factory.mktemp("cdk.out.chained")
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    for plan in plan_stacks(config):
        LineageSharingStack(app, plan=plan, config=config)
    quotas = CodePipelineQuotas(
        actions_per_stage=50, stages_per_pipeline=50, actions_per_pipeline=8
    )
    add_rollout_stacks(app, config, config_file=EXAMPLE_CONFIG, quotas=quotas)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()
    return read_assembly(outdir, app)


def test_a_second_pipeline_ignores_pushes_and_starts_when_the_first_succeeds(chained_app):
    first = chained_app.top_level("LineageSharingPipeline").template
    second = chained_app.top_level("LineageSharingPipeline-2").template

    def source_of(template):
        (pipeline,) = resources(template, "AWS::CodePipeline::Pipeline").values()
        return pipeline["Properties"]["Stages"][0]["Actions"][0]["Configuration"]

    assert source_of(first)["DetectChanges"] is True
    assert source_of(second)["DetectChanges"] is False
    assert not resources(first, "AWS::Events::Rule")
    Template.from_json(second).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.codepipeline"],
                "detail-type": ["CodePipeline Pipeline Execution State Change"],
                "detail": {"pipeline": ["LineageSharingPipeline"], "state": ["SUCCEEDED"]},
            },
            "Targets": [
                Match.object_like({"Arn": Match.any_value(), "RoleArn": Match.any_value()})
            ],
        },
    )
    Template.from_json(second).has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [Match.object_like({"Action": "codepipeline:StartPipelineExecution"})]
            }
        },
    )


def test_chained_pipelines_split_the_stacks_in_plan_order(chained_app):
    deployed = []
    for name in ("LineageSharingPipeline", "LineageSharingPipeline-2"):
        (pipeline,) = resources(
            chained_app.top_level(name).template, "AWS::CodePipeline::Pipeline"
        ).values()
        deployed.append(
            sorted(
                {
                    action["Configuration"]["StackName"]
                    for stage in pipeline["Properties"]["Stages"][4:]
                    for action in stage["Actions"]
                }
            )
        )
    assert deployed == [
        ["LineageSharing-production-us-east-1", "LineageSharing-staging-us-east-1"],
        ["LineageSharing-training-us-east-1"],
    ]
    assert chained_app.top_level("LineageSharingPipeline-2").account == PIPELINE_ACCOUNT
