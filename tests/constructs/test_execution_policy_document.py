"""The pure execution-policy core: registry permissions to scoped statements, split to fit IAM."""

from __future__ import annotations

import pytest

from lineage_constructs.execution_policy_document import (
    ASSET_BUCKET,
    MANAGED_POLICY_MAX_CHARACTERS,
    WITHOUT_REGISTRY_HANDLERS,
    DeploymentFootprint,
    Statement,
    UnknownResourceType,
    execution_policy_statements,
    handler_permissions,
    iam_reference,
    required_actions,
    resolved_length,
    split_into_policies,
)

REGION, ACCOUNT = "us-east-1", "111111111111"
SHARING_TYPES = frozenset(
    {
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Lambda::Function",
        "AWS::Logs::LogGroup",
        "Custom::LineageGroupShare",
        "AWS::CDK::Metadata",
    }
)


def by_sid(statements: list[Statement]) -> dict[str, Statement]:
    return {s.sid: s for s in statements}


def test_registry_handler_permissions_are_the_deploy_time_actions():
    permissions = handler_permissions("AWS::SQS::Queue", REGION)
    assert {"sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes"} <= permissions
    assert "sqs:ListQueues" not in permissions  # the `list` handler is not a deploy step


def test_custom_resources_need_only_to_invoke_their_provider():
    assert required_actions("Custom::LineageGroupShare", REGION) == {"lambda:InvokeFunction"}
    assert required_actions("AWS::CloudFormation::CustomResource", REGION) == {
        "lambda:InvokeFunction"
    }
    assert required_actions("AWS::CDK::Metadata", REGION) == frozenset()


def test_a_type_the_registry_gives_no_handlers_needs_an_explicit_entry():
    assert (
        required_actions("AWS::CodeBuild::Project", REGION)
        == WITHOUT_REGISTRY_HANDLERS["AWS::CodeBuild::Project"]
    )
    with pytest.raises(UnknownResourceType, match="no CloudFormation registry schema"):
        required_actions("AWS::Made::Up", REGION)


def test_actions_are_scoped_to_this_account_and_region_by_service():
    statements = by_sid(execution_policy_statements(DeploymentFootprint(SHARING_TYPES), REGION))

    assert statements["LambdaInThisAccount"].resources == (
        "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:*",
    )
    # IAM ARNs have no region.
    assert statements["IamInThisAccount"].resources == (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:*",
    )
    assert "lambda:CreateFunction" in statements["LambdaInThisAccount"].actions
    # Only actions IAM's reference gives no resource type get '*'.
    for action in statements["NoResourceTypeInIam"].actions:
        service, name = action.split(":")
        assert not iam_reference()[service]["Actions"][name.lower()].get("Resources"), action


def test_lambda_code_is_read_from_the_cdk_asset_bucket_only():
    statements = execution_policy_statements(DeploymentFootprint(SHARING_TYPES), REGION)
    reads = [s for s in statements if "s3:GetObject" in s.actions]
    (read,) = reads
    buckets = [r for r in read.resources if r.startswith("arn:${AWS::Partition}:s3:::")]
    assert buckets == [
        f"arn:${{AWS::Partition}}:s3:::{ASSET_BUCKET}",
        f"arn:${{AWS::Partition}}:s3:::{ASSET_BUCKET}/*",
    ]


def test_bucket_management_is_limited_to_the_footprints_buckets():
    footprint = DeploymentFootprint(
        frozenset({"AWS::S3::Bucket"}), bucket_names=frozenset({"lineagesharingpipeline*"})
    )
    statements = execution_policy_statements(footprint, REGION)
    (create,) = [s for s in statements if "s3:CreateBucket" in s.actions]
    assert create.resources == (
        "arn:${AWS::Partition}:s3:::lineagesharingpipeline*",
        "arn:${AWS::Partition}:s3:::lineagesharingpipeline*/*",
    )
    assert not any(ASSET_BUCKET in r for s in statements for r in s.resources)


def test_pass_role_only_to_the_services_the_templates_roles_trust():
    with_roles = DeploymentFootprint(
        SHARING_TYPES, role_services=frozenset({"lambda.amazonaws.com"})
    )
    passing = by_sid(execution_policy_statements(with_roles, REGION))["PassRolesToTheirServices"]
    assert passing.actions == ("iam:PassRole",)
    assert passing.condition == {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}}
    without = execution_policy_statements(DeploymentFootprint(SHARING_TYPES), REGION)
    assert not [s for s in without if "iam:PassRole" in s.actions]


def test_the_bootstrap_version_parameter_is_readable():
    statements = by_sid(execution_policy_statements(DeploymentFootprint(SHARING_TYPES), REGION))
    assert statements["ReadCdkBootstrapVersion"].resources == (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/cdk-bootstrap/hnb659fds/version",
    )


def test_resolved_length_counts_the_resolved_text_without_whitespace():
    statement = Statement(
        "S", ("s3:GetObject",), ("arn:${AWS::Partition}:s3:::b-${AWS::AccountId}",)
    )
    expected = (
        '{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow",'
        '"Action":["s3:GetObject"],"Resource":["arn:aws-cn:s3:::b-111111111111"]}]}'
    )
    assert resolved_length([statement], account=ACCOUNT, region="cn-north-1") == len(expected)


def test_statements_are_split_over_policies_that_each_fit_the_limit():
    many = [
        Statement(f"S{i}", tuple(f"lambda:Action{i}x{j}" for j in range(40)), ("*",))
        for i in range(12)
    ]
    policies = split_into_policies(many, account=ACCOUNT, region=REGION)

    assert len(policies) > 1
    assert [s for policy in policies for s in policy] == many  # order kept, nothing lost
    for policy in policies:
        assert (
            resolved_length(policy, account=ACCOUNT, region=REGION) <= MANAGED_POLICY_MAX_CHARACTERS
        )


def test_a_statement_too_long_for_one_policy_is_split_by_actions():
    huge = Statement("Huge", tuple(f"lambda:VeryLongActionName{j:04d}" for j in range(400)), ("*",))
    policies = split_into_policies([huge], account=ACCOUNT, region=REGION)

    parts = [s for policy in policies for s in policy]
    assert [p.sid for p in parts] == [f"Huge{n}" for n in range(1, len(parts) + 1)]
    assert [a for p in parts for a in p.actions] == list(huge.actions)
    for policy in policies:
        assert (
            resolved_length(policy, account=ACCOUNT, region=REGION) <= MANAGED_POLICY_MAX_CHARACTERS
        )
