"""The per-(account, region) CloudFormation execution policy stacks of config/example-pipeline.yaml:
they cover every resource type every template of that account and region uses, stay within
IAM's size limit, and deploy before (and without) the bootstrap they are for."""

from __future__ import annotations

import fnmatch
import json

import pytest

from config.rollout_plan import plan_rollout
from lineage_constructs.execution_policy_document import (
    ASSET_BUCKET,
    MANAGED_POLICY_MAX_CHARACTERS,
    DeploymentFootprint,
    dropped_permissions,
    uncovered_actions,
)
from lineage_sharing.cloud_assembly import SynthesizedStack
from simulation.iam_policies import resolve
from tests.conftest import PIPELINE_ACCOUNT

POLICY_PREFIX = "LineageSharingExecutionPolicy-"


def policy_stacks(rollout_app):
    return rollout_app.named(POLICY_PREFIX)


def deployed_stacks(rollout_app):
    """Everything the execution roles deploy: all stacks but the policy stacks themselves."""
    return [s for s in rollout_app.stacks if not s.name.startswith(POLICY_PREFIX)]


def resolved_policies(stack) -> list[dict]:
    synthesized = SynthesizedStack(stack.name, stack.account, stack.region, stack.template)
    partition = "aws-cn" if stack.region.startswith("cn-") else "aws"
    return [
        resolve(resource["Properties"]["PolicyDocument"], stack=synthesized, partition=partition)
        for resource in stack.template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    ]


def policy_for(rollout_app, account: str, region: str) -> list[dict]:
    (stack,) = [s for s in policy_stacks(rollout_app) if (s.account, s.region) == (account, region)]
    return resolved_policies(stack)


def statements(policies: list[dict]) -> list[dict]:
    return [statement for policy in policies for statement in policy["Statement"]]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------- coverage


def test_one_policy_stack_per_account_and_region_the_rollout_deploys_to(
    rollout_app, rollout_config
):
    planned = {
        (t.execution_policy_stack_name, t.account, t.region)
        for t in plan_rollout(rollout_config).targets
    }
    built = {(s.name, s.account, s.region) for s in policy_stacks(rollout_app)}
    assert built == planned
    deploys_to = {(s.account, s.region) for s in deployed_stacks(rollout_app)}
    assert {(a, r) for _, a, r in built} == deploys_to


def footprint_of(template: dict) -> DeploymentFootprint:
    """What the template creates, read from the template itself (not from the constructs)."""
    services = set()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Role":
            for statement in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                services |= set(as_list(statement["Principal"].get("Service", [])))
    types = {resource["Type"] for resource in template["Resources"].values()}
    return DeploymentFootprint(frozenset(types), role_services=frozenset(services))


@pytest.mark.parametrize("which", ["rollout_app", "stackset_app"])
def test_every_template_is_covered_by_the_policy_of_its_account_and_region(request, which):
    """The gate: a template that gains a resource type the policy does not grant fails here.

    stackset_app adds the StackSet stack and the regional code bucket stacks (administrator
    account) and the management account's organization stack."""
    assembly = request.getfixturevalue(which)
    for stack in deployed_stacks(assembly):
        policies = policy_for(assembly, stack.account, stack.region)
        uncovered = uncovered_actions(footprint_of(stack.template), stack.region, policies)
        assert uncovered == {}, stack.name
    if which == "stackset_app":
        names = {s.name for s in deployed_stacks(assembly)}
        assert {"LineageSharingStackSet", "LineageSharingStackSetAssets-eu-west-1"} <= names


def member_template(stackset_app) -> dict:
    (path,) = stackset_app.outdir.glob("LineageSharingStackSetMember*.template.json")
    return json.loads(path.read_text())


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_the_member_template_is_covered_by_the_policy_its_footprint_gives(stackset_app, region):
    """Service-managed StackSets deploy the member template with their own execution role
    (README "Path 3"); the policy the app builds for its footprint still covers it, so a
    self-managed or customized execution role could use it, and a new resource type in the
    member template that the generator cannot cover fails here."""
    from lineage_constructs.execution_policy_document import (
        document,
        execution_policy_statements,
    )
    from lineage_constructs.execution_policy_document import (
        resolve as resolve_text,
    )

    footprint = footprint_of(member_template(stackset_app))
    assert "Custom::LineageGroupShare" in footprint.resource_types
    text = json.dumps(document(execution_policy_statements(footprint, region)))
    policy = json.loads(resolve_text(text, account="222222222222", region=region))
    assert uncovered_actions(footprint, region, [policy]) == {}
    grown = DeploymentFootprint(footprint.resource_types | {"AWS::DynamoDB::Table"})
    assert list(uncovered_actions(grown, region, [policy])) == ["AWS::DynamoDB::Table"]


def test_the_gate_reports_a_resource_type_or_a_passed_role_the_policy_does_not_grant(rollout_app):
    policies = policy_for(rollout_app, "111111111111", "us-east-1")
    grown = DeploymentFootprint(frozenset({"AWS::Lambda::Function", "AWS::DynamoDB::Table"}))
    uncovered = uncovered_actions(grown, "us-east-1", policies)
    assert list(uncovered) == ["AWS::DynamoDB::Table"]
    assert "dynamodb:CreateTable" in uncovered["AWS::DynamoDB::Table"]
    made_up = DeploymentFootprint(frozenset({"AWS::Made::Up"}))
    unknown = uncovered_actions(made_up, "us-east-1", policies)
    assert "no CloudFormation registry schema" in unknown["AWS::Made::Up"][0]
    new_service = DeploymentFootprint(
        frozenset({"AWS::Lambda::Function"}), role_services=frozenset({"glue.amazonaws.com"})
    )
    assert uncovered_actions(new_service, "us-east-1", policies) == {
        "AWS::Lambda::Function": ["iam:PassRole to ['glue.amazonaws.com']"]
    }


def test_custom_resources_may_invoke_their_provider_in_this_account_and_region(rollout_app):
    granted = statements(policy_for(rollout_app, "111111111111", "us-east-1"))
    (invoke,) = [s for s in granted if s["Sid"] == "InvokeCustomResourceProviders"]
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == "arn:aws:lambda:us-east-1:111111111111:function:*"
    # A consumer-only account has no custom resource, so no invoke permission either.
    audit = statements(policy_for(rollout_app, "555555555555", "us-east-1"))
    assert "InvokeCustomResourceProviders" not in {s["Sid"] for s in audit}


# ---------------------------------------------------------------------------- least privilege


@pytest.mark.parametrize("which", ["rollout_app", "stackset_app"])
def test_each_policy_fits_iams_managed_policy_limit_resolved(request, which):
    for stack in policy_stacks(request.getfixturevalue(which)):
        for policy in resolved_policies(stack):
            text = json.dumps(policy, separators=(",", ":"))
            assert len(text) <= MANAGED_POLICY_MAX_CHARACTERS, stack.name


@pytest.mark.parametrize("which", ["rollout_app", "stackset_app"])
def test_no_action_wildcard_and_every_resource_is_this_account_or_a_named_bucket(request, which):
    rollout_app = request.getfixturevalue(which)
    for stack in policy_stacks(rollout_app):
        for statement in statements(resolved_policies(stack)):
            assert statement["Effect"] == "Allow"
            assert all("*" not in action for action in as_list(statement["Action"])), statement
            for resource in as_list(statement["Resource"]):
                if resource == "*":
                    continue
                _, _, service, _, account, *_ = resource.split(":")
                assert account == stack.account or (service == "s3" and not account), resource


def test_roles_may_only_be_passed_to_the_services_they_trust(rollout_app):
    def passed_to(account, region):
        granted = statements(policy_for(rollout_app, account, region))
        (passing,) = [s for s in granted if "iam:PassRole" in as_list(s["Action"])]
        assert passing["Resource"] == f"arn:aws:iam::{account}:role/*"
        return set(passing["Condition"]["StringEquals"]["iam:PassedToService"])

    assert passed_to("111111111111", "us-east-1") == {
        "lambda.amazonaws.com",
        "states.amazonaws.com",
    }
    assert passed_to(PIPELINE_ACCOUNT, "us-east-1") == {
        "codebuild.amazonaws.com",
        "codepipeline.amazonaws.com",
    }
    support = statements(policy_for(rollout_app, PIPELINE_ACCOUNT, "eu-west-1"))
    assert not [s for s in support if "iam:PassRole" in as_list(s["Action"])]


def test_s3_is_limited_to_the_asset_bucket_and_the_buckets_the_templates_create(rollout_app):
    def s3_resources(account, region):
        return {
            resource
            for statement in statements(policy_for(rollout_app, account, region))
            if any(action.startswith("s3:") for action in as_list(statement["Action"]))
            for resource in as_list(statement["Resource"])
            if resource.startswith("arn:aws:s3:::")
        }

    asset_bucket = ASSET_BUCKET.replace("${AWS::AccountId}", "111111111111").replace(
        "${AWS::Region}", "us-east-1"
    )
    assert s3_resources("111111111111", "us-east-1") == {
        f"arn:aws:s3:::{asset_bucket}",
        f"arn:aws:s3:::{asset_bucket}/*",
    }
    # The buckets the pipeline's templates create match what the policy names.
    for stack in rollout_app.named("LineageSharingPipeline"):
        granted = s3_resources(stack.account, stack.region)
        for logical_id, bucket in stack.template["Resources"].items():
            if bucket["Type"] != "AWS::S3::Bucket":
                continue
            # CloudFormation's generated names: <stack name>-<logical id>-<random>, lower case.
            name = (
                bucket["Properties"].get("BucketName")
                or (f"{stack.name}-{logical_id}-1a2b3c4d5e6f".lower()[:63])
            )
            assert any(fnmatch.fnmatchcase(f"arn:aws:s3:::{name}", arn) for arn in granted), name


def test_registry_entries_that_are_not_iam_actions_are_left_out(rollout_app):
    types = {
        resource["Type"]
        for stack in deployed_stacks(rollout_app)
        for resource in stack.template["Resources"].values()
    }
    # Each was checked by hand: not in IAM's reference (cfn-lint W3037 would flag it), and the
    # S3 API names are authorized by an IAM action the registry lists as well.
    assert dropped_permissions(types, "us-east-1") == {
        "lambda:AssociateRuntimeAlias",
        "s3:REST.PUT.OBJECT",
        "s3:DeleteBucketAnalyticsConfiguration",  # authorized as s3:PutAnalyticsConfiguration
        "s3:DeleteBucketCors",  # s3:PutBucketCORS
        "s3:DeleteBucketEncryption",  # s3:PutEncryptionConfiguration
        "s3:DeleteBucketLifecycle",  # s3:PutLifecycleConfiguration
        "s3:DeleteBucketMetricsConfiguration",  # s3:PutMetricsConfiguration
        "s3:DeleteBucketReplication",  # s3:PutReplicationConfiguration
        "s3:PutBucketReplication",  # s3:PutReplicationConfiguration
        "s3:PutObjectLockConfiguration",  # s3:PutBucketObjectLockConfiguration
    }


# ---------------------------------------------------------------------------- before the bootstrap


@pytest.mark.parametrize("which", ["training-us-east-1", "999999999999-us-east-1"])
def test_the_policy_stack_deploys_with_the_callers_credentials_and_no_bootstrap(rollout_app, which):
    (stack,) = [s for s in policy_stacks(rollout_app) if s.name == POLICY_PREFIX + which]
    assert "Rules" not in stack.template and "Parameters" not in stack.template
    assert "assumeRoleArn" not in stack.artifact["properties"]
    assert not stack.artifact["properties"].get("additionalDependencies")
    types = {r["Type"] for r in stack.template["Resources"].values()}
    assert types == {"AWS::IAM::ManagedPolicy"}


def test_the_stack_outputs_the_bootstrap_command_without_administrator_access(rollout_app):
    def command(name):
        (stack,) = [s for s in policy_stacks(rollout_app) if s.name == POLICY_PREFIX + name]
        synthesized = SynthesizedStack(stack.name, stack.account, stack.region, stack.template)
        # A managed policy's Ref is its ARN; the simulation's resolver knows no policies.
        text = json.dumps(stack.template["Outputs"]["BootstrapCommand"]["Value"])
        for logical_id, resource in stack.template["Resources"].items():
            policy_name = resolve(
                resource["Properties"]["ManagedPolicyName"], stack=synthesized, partition="aws"
            )
            arn = f"arn:aws:iam::{stack.account}:policy/{policy_name}"
            text = text.replace(json.dumps({"Ref": logical_id}), json.dumps(arn))
        return resolve(json.loads(text), stack=synthesized, partition="aws")

    # Two policies: what training deploys needs more than IAM's 6,144 characters.
    assert command("training-us-east-1") == (
        "npx cdk bootstrap aws://111111111111/us-east-1 --trust 999999999999 "
        "--cloudformation-execution-policies "
        "arn:aws:iam::111111111111:policy/LineageSharingCfnExecution-us-east-1-1,"
        "arn:aws:iam::111111111111:policy/LineageSharingCfnExecution-us-east-1-2"
    )
    # The pipeline account deploys its own stacks: it trusts nobody.
    assert command("999999999999-us-east-1").startswith(
        "npx cdk bootstrap aws://999999999999/us-east-1 --cloudformation-execution-policies "
    )
    assert "AdministratorAccess" not in json.dumps([s.template for s in policy_stacks(rollout_app)])
