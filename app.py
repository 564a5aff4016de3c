#!/usr/bin/env python3
"""CDK app: one stack per (account, region) from the sharing config.

Read top-down: config/model.py (what the file may say) -> this file -> stacks/ -> constructs/
(importable as `lineage_constructs`, see README) -> lambda/ (the handlers).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from config.model import ConfigError, SharingConfig, load_config, plan_stacks
from lineage_sharing.config_record import ConfigRecord, record_config
from stacks.lineage_sharing_stack import LineageSharingStack
from stacks.rollout_stacks import add_rollout_stacks

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "example.yaml"
# The `-c key=value` keys this app reads. CDK's own keys are namespaced ("@aws-cdk/...",
# "aws:cdk:...", lookups with ":"), so any other key is a typo that must not be ignored:
# `-c cfg=mine.yaml` would otherwise synthesize the example config without a word.
CONTEXT_KEYS = ("config", "stacks", "accounts", "regions")


def build_app(
    app: App, config: SharingConfig, config_path: str | Path | None = None
) -> list[LineageSharingStack]:
    """Add every stack the config asks for, with cdk-nag checking all of them.

    Each stack records which config it came from (cloud-assembly metadata, not the template),
    so the `lineage-sharing` commands can refuse a cdk.out that another config produced.
    """
    stacks = [LineageSharingStack(app, plan=plan, config=config) for plan in plan_stacks(config)]
    record = ConfigRecord.of(config, config_path)
    for stack in stacks:
        record_config(stack, record)
    if config.rollout is not None:  # pipelines and execution policies, stacks/rollout_stacks.py
        add_rollout_stacks(app, config, config_file=config_path or DEFAULT_CONFIG)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def synthesize_in_process(
    config: SharingConfig, outdir: Path, config_path: str | Path | None = None
) -> tuple[App, list]:
    """What `cdk synth` does, without the CLI: for tests and benchmarks.

    Uses cdk.json's context (the same feature flags as the CLI). Version reporting is off so
    the CDKMetadata resource does not change with every library bump.
    """
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    stacks = build_app(app, config, config_path)
    app.synth()
    return app, stacks


def unknown_context_keys(context: Mapping[str, Any]) -> list[str]:
    return sorted(
        key
        for key in context
        if key not in CONTEXT_KEYS and not key.startswith("@") and ":" not in key
    )


def main(app: App | None = None) -> int:
    app = app or App()  # the CLI passes context and outdir in the environment
    unknown = unknown_context_keys(app.node.get_all_context())
    if unknown:
        print(
            f"error: unknown context key {', '.join(map(repr, unknown))} (-c KEY=VALUE); this "
            f"app reads {', '.join(CONTEXT_KEYS)}, e.g. -c config=path/to/config.yaml",
            file=sys.stderr,
        )
        return 1
    given = app.node.try_get_context("config")
    config_path = given or _shown_path(DEFAULT_CONFIG)
    try:
        config = load_config(config_path)
        stacks = build_app(app, config, config_path)
    except ConfigError as error:
        # Fail before anything is synthesized, so no template is written.
        print(f"error: {error}", file=sys.stderr)
        return 1
    default_note = "" if given else " (the example; pass -c config=PATH for yours)"
    print(
        f"lineage-sharing: {len(stacks)} stacks from config {config_path}{default_note}",
        file=sys.stderr,
    )
    app.synth()
    return 0


def _shown_path(path: Path) -> str:
    """Relative to the working directory when under it, as a user would type it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
