"""Batched synthesis: one process per batch of stacks, merged into one cloud assembly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import app as cdk_app
from config.model import plan_stacks
from lineage_sharing.cloud_assembly import read_cloud_assembly
from stacks.batch_synthesis import BatchSynthesisError, batches, synthesize_in_batches

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = REPO_ROOT / "config" / "example.yaml"
CLI_ENVIRONMENT = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}


def cdk_json_context(**extra) -> dict:
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    # Like synthesize_in_process: no CDKMetadata resource, so templates compare equal.
    return {**context, "aws:cdk:version-reporting": False, **extra}


@pytest.fixture(scope="module")
def batched(example_config, tmp_path_factory) -> Path:
    """The example's three stacks synthesized two per process: two batches."""
    outdir = tmp_path_factory.mktemp("cdk.out.batched")
    with pytest.MonkeyPatch.context() as patch:
        # The built-in template validation costs each batch process ~2 s and does not change
        # a template: what is tested here is the merge.
        patch.setenv("CDK_VALIDATION", "false")
        synthesize_in_batches(
            plan_stacks(example_config),
            context=cdk_json_context(config=str(EXAMPLE_CONFIG)),
            outdir=outdir,
            size=2,
        )
    return outdir


def test_batches_keep_config_order_and_size(example_config):
    names = [plan.stack_name for plan in plan_stacks(example_config)]
    assert batches(plan_stacks(example_config), 2) == [names[:2], names[2:]]


def test_the_merged_assembly_holds_every_stack_exactly_as_one_process_builds_it(
    batched, example_app
):
    stacks = {stack.name: stack.template for stack in read_cloud_assembly(batched)}
    assert stacks == example_app.templates
    manifest = json.loads((batched / "manifest.json").read_text())
    for name in example_app.templates:
        assert manifest["artifacts"][name]["dependencies"] == [f"{name}.assets"]
        assert (batched / manifest["artifacts"][f"{name}.assets"]["properties"]["file"]).exists()
    assert not list(batched.glob(".batch-*"))


def test_the_construct_tree_and_validation_report_cover_every_batch(batched, example_app):
    tree = json.loads((batched / "tree.json").read_text())
    assert set(example_app.templates) <= set(tree["tree"]["children"])
    report = json.loads((batched / "validation-report.json").read_text())
    assert report["title"] == "Validation Report"


def test_the_cdk_cli_reads_the_merged_assembly(batched, example_app):
    listed = subprocess.run(
        ["npx", "cdk", "ls", "--app", str(batched)],
        cwd=REPO_ROOT,
        env={**os.environ, **CLI_ENVIRONMENT},
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(listed.stdout.split()) == sorted(example_app.templates)


def test_a_failing_batch_stops_the_synthesis_and_names_its_stacks(example_config, tmp_path):
    context = cdk_json_context(config=str(tmp_path / "missing.yaml"))
    with pytest.raises(BatchSynthesisError, match="LineageSharing-training-us-east-1 .. "):
        synthesize_in_batches(plan_stacks(example_config), context=context, outdir=tmp_path, size=2)
    assert not (tmp_path / "manifest.json").exists()


def test_the_app_refuses_an_unknown_stack_before_building_anything(tmp_path):
    context = cdk_json_context(config=str(EXAMPLE_CONFIG), stacks="LineageSharing-stagin")
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "app.py")],
        env={**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "did you mean LineageSharing-staging-us-east-1" in completed.stderr
    assert not list(tmp_path.iterdir())


def test_a_selected_stack_is_the_same_as_in_a_full_synthesis(example_config, example_app, tmp_path):
    (plan,) = [p for p in plan_stacks(example_config) if p.account.name == "staging"]
    _, (stack,) = cdk_app.synthesize_in_process(example_config, tmp_path, plans=[plan])
    template = json.loads((tmp_path / stack.template_file).read_text())
    assert template == example_app.templates[plan.stack_name]
