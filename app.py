#!/usr/bin/env python3
"""CDK app: one stack per (account, region) from the sharing config.

Read top-down: config/model.py (what the file may say) -> this file -> stacks/ -> constructs/
(importable as `lineage_constructs`, see README) -> lambda/ (the handlers).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from config.model import ConfigError, SharingConfig, load_config, plan_stacks
from stacks.lineage_sharing_stack import LineageSharingStack
from stacks.rollout_stacks import add_rollout_stacks

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "example.yaml"


def build_app(
    app: App, config: SharingConfig, config_file: str | Path = DEFAULT_CONFIG
) -> list[LineageSharingStack]:
    """Add every stack the config asks for, with cdk-nag checking all of them."""
    stacks = [LineageSharingStack(app, plan=plan, config=config) for plan in plan_stacks(config)]
    if config.rollout is not None:  # pipelines and execution policies, stacks/rollout_stacks.py
        add_rollout_stacks(app, config, config_file=config_file)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def synthesize_in_process(
    config: SharingConfig, outdir: Path, config_file: str | Path = DEFAULT_CONFIG
) -> tuple[App, list]:
    """What `cdk synth` does, without the CLI: for tests and benchmarks.

    Uses cdk.json's context (the same feature flags as the CLI). Version reporting is off so
    the CDKMetadata resource does not change with every library bump.
    """
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    stacks = build_app(app, config, config_file)
    app.synth()
    return app, stacks


def main() -> int:
    app = App()
    config_path = app.node.try_get_context("config") or DEFAULT_CONFIG
    try:
        config = load_config(config_path)
        build_app(app, config, config_path)
    except ConfigError as error:
        # Fail before anything is synthesized, so no template is written.
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
