"""The execution policy construct on its own: several managed policies when one is too small,
named for the bootstrap command, every wildcard acknowledged so cdk-nag passes."""

from __future__ import annotations

from aws_cdk import App, Environment, Stack, Validations
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from lineage_constructs.execution_policy import CloudFormationExecutionPolicy
from lineage_constructs.execution_policy_document import DeploymentFootprint

# A pipeline account that also shares lineage: the pipeline's and the sharing stacks' types.
BOTH = DeploymentFootprint(
    resource_types=frozenset(
        {
            "AWS::IAM::Role",
            "AWS::IAM::Policy",
            "AWS::Lambda::Function",
            "AWS::Logs::LogGroup",
            "AWS::Events::Rule",
            "AWS::SQS::Queue",
            "AWS::StepFunctions::StateMachine",
            "Custom::LineageGroupShare",
            "AWS::CodeBuild::Project",
            "AWS::CodePipeline::Pipeline",
            "AWS::KMS::Key",
            "AWS::S3::Bucket",
            "AWS::S3::BucketPolicy",
        }
    ),
    bucket_names=frozenset({"lineagesharingpipeline*"}),
    role_services=frozenset({"lambda.amazonaws.com", "codebuild.amazonaws.com"}),
)


def test_a_footprint_too_big_for_one_policy_gets_several_each_acknowledged(tmp_path):
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Policy", env=Environment(account="111111111111", region="us-east-1"))
    construct = CloudFormationExecutionPolicy(
        stack, "ExecutionPolicy", footprint=BOTH, name_prefix="LineageSharingCfnExecution"
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    app.synth()  # raises on any unacknowledged cdk-nag finding

    assert len(construct.policies) == 2
    names = [
        stack.resolve(policy.node.default_child.managed_policy_name)
        for policy in construct.policies
    ]
    assert names == [
        {"Fn::Join": ["", ["LineageSharingCfnExecution-", {"Ref": "AWS::Region"}, f"-{n}"]]}
        for n in (1, 2)
    ]
    Template.from_stack(stack).resource_count_is("AWS::IAM::ManagedPolicy", 2)
