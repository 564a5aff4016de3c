"""Review gates for the rollout stacks (pipeline, its support stack, execution policies):
snapshots, cdk-nag with exact acknowledgments, and cfn-lint."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from cfnlint.api import ManualArgs, lint_file
from syrupy.extensions.json import JSONSnapshotExtension

from tests.stacks.test_template_snapshots import masked

# CDK Pipelines writes long build specs to `buildspec-<hash>-<name>.yaml` in the assembly; the
# hash follows the asset hashes, so it is masked like them.
BUILDSPEC_FILE = re.compile(r"buildspec-[0-9a-f]{42}-")
ROLLOUT_STACKS = [
    "LineageSharingPipeline",
    "LineageSharingPipeline-support-eu-west-1",
    "LineageSharingExecutionPolicy-training-us-east-1",  # shares and receives
    "LineageSharingExecutionPolicy-audit-us-east-1",  # only receives
    "LineageSharingExecutionPolicy-research-eu-west-1",  # only shares
    "LineageSharingExecutionPolicy-999999999999-us-east-1",  # the pipeline
    "LineageSharingExecutionPolicy-999999999999-eu-west-1",  # its support stack
]
# Every policy stack has the same shape: lint the largest of a sharing account and the pipeline's.
LINTED_STACKS = [
    "LineageSharingPipeline",
    "LineageSharingPipeline-support-eu-west-1",
    "LineageSharingExecutionPolicy-training-us-east-1",
    "LineageSharingExecutionPolicy-999999999999-us-east-1",
]
# CDK writes CodePipeline action role ARNs as Fn::Join; E3703 validates them as if they had
# to be Fn::Sub. CloudFormation resolves either (every CDK Pipelines pipeline does this).
PIPELINE_LINT_IGNORED = ["W3005", "E3703"]


def rollout_masked(template: dict) -> dict:
    return json.loads(BUILDSPEC_FILE.sub("buildspec-<hash>-", json.dumps(masked(template))))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", ROLLOUT_STACKS)
def test_rollout_stack_snapshot(rollout_app, snapshot_json, stack_name):
    assert rollout_masked(rollout_app.top_level(stack_name).template) == snapshot_json


def test_masking_leaves_no_build_spec_hash(rollout_app):
    text = json.dumps(rollout_masked(rollout_app.top_level("LineageSharingPipeline").template))
    assert "buildspec-<hash>-FileAsset.yaml" in text
    assert not BUILDSPEC_FILE.search(text)


# ---------------------------------------------------------------------------- cdk-nag


def test_cdk_nag_reports_nothing_unacknowledged(rollout_app):
    report = json.loads((rollout_app.outdir / "validation-report.json").read_text())
    assert report["pluginReports"] == []


def nag_string(value) -> str:
    """A policy value the way cdk-nag prints it in a finding id."""
    if isinstance(value, str):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return f"<{argument}>"
    if function == "Fn::GetAtt":
        return f"<{argument[0]}.{argument[1]}>"
    if function == "Fn::Join":
        return argument[0].join(nag_string(part) for part in argument[1])
    if function == "Fn::Sub":
        return re.sub(r"\$\{([^}]+)\}", r"<\1>", argument)
    raise AssertionError(f"cannot render {value}")


def iam5_findings(document: dict) -> set[str]:
    findings = set()
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = statement.get("Resource", [])
        resources = resources if isinstance(resources, list) else [resources]
        findings |= {f"AwsSolutions-IAM5[Action::{a}]" for a in actions if "*" in a}
        findings |= {
            f"AwsSolutions-IAM5[Resource::{nag_string(r)}]"
            for r in resources
            if "*" in nag_string(r)
        }
    return findings


def test_every_iam_acknowledgment_names_a_finding_that_exists(rollout_app):
    """No acknowledgment outlives the grant it was written for (cdk-nag itself proves none is
    missing: synthesis would have failed)."""
    templates = {s.name: s.template for s in rollout_app.stacks if not s.assembly}
    checked = 0
    for node in rollout_app.app.node.find_all():
        if not isinstance(node, iam.Policy | iam.ManagedPolicy):
            continue
        stack = Stack.of(node)
        if stack.stack_name not in ROLLOUT_STACKS:
            continue
        acknowledged = {
            key.removeprefix("Annotation::")
            for entry in node.node.metadata
            if entry.type == "aws:cdk:acknowledged-rules"
            for key in entry.data
            if "IAM5" in key
        }
        logical_id = stack.resolve(stack.get_logical_id(node.node.default_child))
        document = templates[stack.stack_name]["Resources"][logical_id]["Properties"][
            "PolicyDocument"
        ]
        assert acknowledged == iam5_findings(document), node.node.path
        checked += 1
    assert checked >= 10


# ---------------------------------------------------------------------------- cfn-lint


@pytest.mark.parametrize("stack_name", LINTED_STACKS)
def test_cfn_lint_reports_no_error_or_warning(rollout_app, stack_name):
    stack = rollout_app.top_level(stack_name)
    template_file = rollout_app.outdir / stack.artifact["properties"]["templateFile"]
    ignored = PIPELINE_LINT_IGNORED if stack_name == "LineageSharingPipeline" else ["W3005"]
    matches = lint_file(
        Path(template_file), config=ManualArgs(regions=[stack.region], ignore_checks=ignored)
    )
    assert [str(m) for m in matches] == []
