#!/usr/bin/env python3
"""CDK app: one stack per (account, region) from the sharing config.

Read top-down: config/model.py (what the file may say) -> this file -> stacks/ -> constructs/
(importable as `lineage_constructs`, see README) -> lambda/ (the handlers).

`-c stacks=...`, `-c accounts=...` and `-c regions=...` build only the selected stacks
(config/selection.py). More than `STACKS_PER_PROCESS` stacks are synthesized in batches, one
process each, and merged into one cloud assembly (stacks/batch_synthesis.py), so memory stays
bounded whatever the size of the fleet. Every synthesized template is then measured against
the limits that only bite at deploy time (cli/deploy_limits.py); one over a limit fails. The CDK is imported only where stacks are built: the
parent of a batched synthesis only plans and merges, and never starts the CDK's JavaScript
runtime.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from config.model import ConfigError, SharingConfig, StackPlan, load_config, plan_stacks
from config.selection import SelectionError, StackSelection
from stacks.batch_synthesis import (
    STACKS_PER_PROCESS,
    BatchSynthesisError,
    cdk_context_from_environment,
    output_directory,
    synthesize_in_batches,
)

if TYPE_CHECKING:
    from aws_cdk import App

    from stacks.lineage_sharing_stack import LineageSharingStack

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "example.yaml"


def build_app(
    app: App, config: SharingConfig, plans: Sequence[StackPlan] | None = None
) -> list[LineageSharingStack]:
    """Add the planned stacks (default: every stack of the config), with cdk-nag on all."""
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    from stacks.lineage_sharing_stack import LineageSharingStack

    plans = plan_stacks(config) if plans is None else plans
    stacks = [LineageSharingStack(app, plan=plan, config=config) for plan in plans]
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def synthesize_in_process(
    config: SharingConfig, outdir: Path, plans: Sequence[StackPlan] | None = None
) -> tuple[App, list]:
    """What `cdk synth` does, without the CLI: for tests and benchmarks.

    Uses cdk.json's context (the same feature flags as the CLI). Version reporting is off so
    the CDKMetadata resource does not change with every library bump.
    """
    from aws_cdk import App

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    stacks = build_app(app, config, plans)
    app.synth()
    return app, stacks


def main() -> int:
    context = cdk_context_from_environment()
    config_path = context.get("config") or DEFAULT_CONFIG
    try:
        config = load_config(config_path)
        plans = StackSelection.from_context(context.get).apply(plan_stacks(config))
    except (ConfigError, SelectionError) as error:
        # Fail before any construct exists, so no template is written.
        print(f"error: {error}", file=sys.stderr)
        return 1
    if len(plans) > STACKS_PER_PROCESS:
        try:
            synthesize_in_batches(plans, context=context, outdir=output_directory())
        except BatchSynthesisError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0
    from aws_cdk import App

    app = App()
    build_app(app, config, plans)
    assembly = app.synth()
    return refuse_what_would_not_deploy(Path(assembly.directory))


def refuse_what_would_not_deploy(cdk_out: Path) -> int:
    """Fail the synthesis if a template exceeds a limit that only bites at deploy time."""
    from cli.deploy_limits import measure_assembly

    exceeded = [m for m in measure_assembly(cdk_out) if m.exceeded]
    for measurement in exceeded:
        print(f"error: would not deploy: {measurement}", file=sys.stderr)
    return 1 if exceeded else 0


if __name__ == "__main__":
    sys.exit(main())
