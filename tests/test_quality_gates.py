"""Gates a review relies on: cdk-nag and cfn-lint on every template, ruff on every Python file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_iam as iam
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint_file

# CDK adds explicit DependsOn that a GetAtt already implies; harmless noise.
CFN_LINT_IGNORED = ["W3005"]


def test_cdk_nag_runs_and_the_example_app_has_no_unacknowledged_finding(example_app):
    # synthesize() would have raised if AwsSolutions reported an unacknowledged finding.
    report = (example_app.outdir / "validation-report.json").read_text()
    assert '"pluginReports": []' in report


def test_cdk_nag_gate_is_live():
    """Proof that the plugin in build_app would stop a real violation."""
    app = App(analytics_reporting=False)
    stack = Stack(app, "Probe")
    iam.Role(
        stack,
        "TooBroad",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        inline_policies={
            "p": iam.PolicyDocument(
                statements=[iam.PolicyStatement(actions=["ram:*"], resources=["*"])]
            )
        },
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    with pytest.raises(Exception, match="AwsSolutions-IAM5"):
        app.synth()


@pytest.mark.parametrize("which", ["example_app", "hub_app"])
def test_cfn_lint_reports_no_error_or_warning(request, which):
    synthesized = request.getfixturevalue(which)
    for stack_name in synthesized.templates:
        region = stack_name.rsplit("-", 3)[-3:]
        matches = lint_file(
            Path(synthesized.template_path(stack_name)),
            config=ManualArgs(regions=["-".join(region)], ignore_checks=CFN_LINT_IGNORED),
        )
        assert [str(m) for m in matches] == [], stack_name


@pytest.mark.parametrize(
    "ruff_arguments", [["check", "."], ["format", "--check", "."]], ids=["lint", "format"]
)
def test_python_sources_pass_ruff(ruff_arguments):
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *ruff_arguments],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_cdk_json_sets_every_recommended_feature_flag_of_the_pinned_aws_cdk_lib():
    """A flag left unset means old behaviour and a warning on every `cdk synth`."""
    import importlib.util
    import json
    import tarfile

    jsii_folder = Path(importlib.util.find_spec("aws_cdk._jsii").origin).parent
    (bundle,) = jsii_folder.glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(bundle) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        recommended = json.load(member)
    repo = Path(__file__).resolve().parent.parent
    context = json.loads((repo / "cdk.json").read_text())["context"]
    assert {k: context.get(k) for k in recommended} == recommended
