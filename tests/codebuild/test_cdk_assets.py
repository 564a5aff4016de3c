"""The `cdk-assets` command of the pipeline's Assets stage (codebuild/cdk-assets) reads the
manifests this app synthesizes and selects exactly what CDK Pipelines asks it to publish.

Publishing needs AWS; listing runs the same manifest loading and selection offline."""

from __future__ import annotations

import json
import shlex
import subprocess
from collections import defaultdict

import pytest

from app import REPO_ROOT

CDK_ASSETS = REPO_ROOT / "codebuild" / "cdk-assets" / "cdk-assets.js"


def run(arguments: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["node", str(CDK_ASSETS), *arguments], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def publish_commands(rollout_app) -> dict[str, list[str]]:
    """Manifest path -> the asset selectors the pipeline's FileAsset build publishes."""
    (spec_file,) = rollout_app.outdir.glob("buildspec-*-FileAsset.yaml")
    spec = json.loads(spec_file.read_text())
    selectors = defaultdict(list)
    for command in spec["phases"]["build"]["commands"]:
        program, path_flag, path, verbose, verb, selector = shlex.split(command)
        assert (program, path_flag, verbose, verb) == (
            "cdk-assets",
            "--path",
            "--verbose",
            "publish",
        )
        selectors[path].append(selector)
    return dict(selectors)


def test_the_assets_stage_publishes_every_lambda_asset_of_every_deployed_stack(
    publish_commands, rollout_app, rollout_config
):
    from config.model import plan_stacks

    assert len(publish_commands) == len(plan_stacks(rollout_config))  # one manifest per stack
    for path, selectors in publish_commands.items():
        manifest = json.loads((rollout_app.outdir / path).read_text())
        code = {
            f"{asset_id}:{destination}"
            for asset_id, asset in manifest["files"].items()
            if asset["source"]["packaging"] == "zip"  # Lambda code; templates go as artifacts
            for destination in asset["destinations"]
        }
        assert set(selectors) == code, path


def test_the_pinned_cdk_assets_reads_and_selects_what_the_pipeline_publishes(
    publish_commands, rollout_app
):
    for path, selectors in publish_commands.items():
        listed = run(["--path", path, "ls", *selectors], cwd=rollout_app.outdir)
        assert listed.returncode == 0, listed.stderr
        for selector in selectors:
            asset, destination = selector.split(":")
            assert f"{asset}:{destination}" in listed.stdout


def test_a_selector_that_matches_nothing_fails_instead_of_publishing_nothing(
    publish_commands, rollout_app
):
    path = next(iter(publish_commands))
    listed = run(["--path", path, "publish", "0" * 64 + ":nowhere"], cwd=rollout_app.outdir)
    assert listed.returncode == 2
    assert "no asset matches" in listed.stderr
