"""The deploy-time limit checker: what it measures, how it resolves, when it fails."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lineage_sharing import deploy_limits
from lineage_sharing.cloud_assembly import SynthesizedStack
from lineage_sharing.deploy_limits import (
    CUSTOM_RESOURCE_REQUEST,
    EVENTBRIDGE_INPUT,
    LAMBDA_ENVIRONMENT,
    MANAGED_POLICY_SIZE,
    ROLE_INLINE_POLICIES,
    ROLE_MANAGED_POLICIES,
    ROLE_TRUST_POLICY,
    SSM_PARAMETER_VALUE,
    TEMPLATE_LIMITS,
    TEMPLATE_RESOURCES,
    TEMPLATE_SIZE,
    compact_json_size,
    custom_resource_response_bytes,
    measure_stack,
)
from simulation.iam_policies import UnresolvableIntrinsic

ACCOUNT, REGION = "111111111111", "eu-west-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(resource) -> dict:
    return {"Effect": "Allow", "Action": "ram:GetResourceShares", "Resource": resource}


def stack_of(resources: dict) -> SynthesizedStack:
    return SynthesizedStack("S", ACCOUNT, REGION, {"Resources": resources})


def by_limit(measurements, limit) -> dict[str, int]:
    return {m.subject: m.size for m in measurements if m.limit == limit}


def test_inline_policies_of_a_role_are_summed_on_the_resolved_text_without_whitespace():
    arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":ram:*:*:*"]]}
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": TRUST,
                "Policies": [{"PolicyName": "a", "PolicyDocument": document(allow("*"))}],
            },
        },
        "Extra": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyDocument": document(allow(arn)), "Roles": [{"Ref": "Role"}]},
        },
    }
    measurements = measure_stack(stack_of(resources), template_bytes=100)
    expected = compact_json_size(document(allow("*"))) + compact_json_size(
        document(allow("arn:aws:ram:*:*:*"))
    )
    assert by_limit(measurements, ROLE_INLINE_POLICIES) == {"role Role": expected}
    assert by_limit(measurements, ROLE_TRUST_POLICY) == {"Role": compact_json_size(TRUST)}
    assert by_limit(measurements, TEMPLATE_SIZE) == {"template": 100}
    assert by_limit(measurements, TEMPLATE_RESOURCES) == {"template": 2}


def test_managed_policies_are_measured_each_and_counted_per_role():
    big = document(
        *[allow(f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/{n:04d}") for n in range(90)]
    )
    resources = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": TRUST,
                "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
            },
        },
        "Part": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"PolicyDocument": big, "Roles": [{"Ref": "Role"}]},
        },
    }
    measurements = measure_stack(stack_of(resources), template_bytes=100)
    (part,) = [m for m in measurements if m.limit == MANAGED_POLICY_SIZE]
    assert part.size == compact_json_size(big) and part.exceeded
    assert "EXCEEDED" in str(part) and "6,144" in str(part)
    assert by_limit(measurements, ROLE_MANAGED_POLICIES) == {"role Role": 2}


def test_lambda_environment_is_measured_as_the_json_lambda_reports():
    variables = {"A": "x" * 4_000, "B": {"Ref": "AWS::Region"}}
    resources = {
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Environment": {"Variables": variables}},
        }
    }
    (measurement,) = [
        m for m in measure_stack(stack_of(resources), 1) if m.limit == LAMBDA_ENVIRONMENT
    ]
    assert measurement.size == len(
        json.dumps({"A": "x" * 4_000, "B": REGION}, separators=(",", ":"))
    )
    assert not measurement.exceeded


def test_rule_inputs_resolve_deploy_time_values_at_their_longest():
    share_input = {
        "Fn::Join": [
            "",
            [
                '{"StackId":"',
                {"Ref": "AWS::StackId"},
                '","PhysicalResourceId":"',
                {"Ref": "Share"},
                '"}',
            ],
        ]
    }
    resources = {
        "Share": {"Type": "Custom::LineageGroupShare", "Properties": {"ServiceToken": "x"}},
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {"Targets": [{"Id": "Target0", "Arn": "x", "Input": share_input}]},
        },
    }
    measurements = measure_stack(stack_of(resources), 1)
    (rule,) = [m for m in measurements if m.limit == EVENTBRIDGE_INPUT]
    stack_id = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/S/{'0' * 36}"
    share = f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/{'0' * 36}"
    assert rule.size == len(f'{{"StackId":"{stack_id}","PhysicalResourceId":"{share}"}}')
    assert rule.subject == "Rule target Target0"
    assert [m.subject for m in measurements if m.limit == CUSTOM_RESOURCE_REQUEST] == ["Share"]


def test_standard_parameters_are_measured_and_advanced_ones_are_not():
    resources = {
        "P1": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Type": "String", "Value": "x" * 4_097},
        },
        "P2": {
            "Type": "AWS::SSM::Parameter",
            "Properties": {"Type": "String", "Value": "x" * 5_000, "Tier": "Advanced"},
        },
    }
    measurements = measure_stack(stack_of(resources), 1)
    assert by_limit(measurements, SSM_PARAMETER_VALUE) == {"P1": 4_097}


def test_a_reference_it_cannot_resolve_is_an_error_not_a_zero():
    resources = {
        "Other": {"Type": "Custom::Something", "Properties": {}},
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Environment": {"Variables": {"A": {"Ref": "Other"}}}},
        },
    }
    with pytest.raises(UnresolvableIntrinsic, match="Custom::Something"):
        measure_stack(stack_of(resources), 1)


def test_the_provider_frameworks_response_body_is_what_is_measured():
    event = {"StackId": "s" * 100, "RequestId": "r" * 36, "LogicalResourceId": "Share"}
    result = {"PhysicalResourceId": "p" * 90, "Data": {"A": "a" * 3_800}}
    assert custom_resource_response_bytes(event, result) > 4_096
    assert custom_resource_response_bytes(event, {"PhysicalResourceId": "p"}) < 300


def test_every_example_template_is_within_every_limit(example_app, capsys):
    assert deploy_limits.main(["--cdk-out", str(example_app.outdir)]) == 0
    out = capsys.readouterr().out
    assert "OK: 0 limit(s) exceeded in 3 stack(s)" in out
    # Everything is measured; the example has no customer managed policy to measure.
    unmeasured = [limit for limit in TEMPLATE_LIMITS if f"{limit.name} " not in out]
    assert unmeasured == [MANAGED_POLICY_SIZE]


def test_the_command_fails_naming_what_is_over(tmp_path, capsys, monkeypatch, example_app):
    strict = dataclasses.replace(deploy_limits.ROLE_INLINE_POLICIES, maximum=100)
    monkeypatch.setattr(deploy_limits, "ROLE_INLINE_POLICIES", strict)
    assert deploy_limits.main(["--cdk-out", str(example_app.outdir)]) == 1
    err = capsys.readouterr().err
    assert "IAM inline policies per role, summed" in err and "EXCEEDED" in err
    assert deploy_limits.main(["--cdk-out", str(tmp_path)]) == 1
    assert "has no cloud assembly" in capsys.readouterr().err
