#!/usr/bin/env python3
"""CDK app: one stack per (account, region) from the sharing config.

Read top-down: config/model.py (what the file may say) -> this file -> stacks/ -> constructs/
(importable as `lineage_constructs`, see README) -> lambda/ (the handlers).

`-c stacks=...`, `-c accounts=...` and `-c regions=...` build only the selected stacks
(config/selection.py). More than `STACKS_PER_PROCESS` stacks are synthesized in batches, one
process each, and merged into one cloud assembly (stacks/batch_synthesis.py), so memory stays
bounded whatever the size of the fleet. Every synthesized template is then measured against
the limits that only bite at deploy time (lineage_sharing/deploy_limits.py); one over a limit
fails. The CDK is imported only where stacks are built: the parent of a batched synthesis
only plans and merges, and never starts the CDK's JavaScript runtime.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.model import ConfigError, SharingConfig, StackPlan, load_config, plan_stacks
from config.selection import SELECTOR_KEYS, SelectionError, StackSelection
from stacks.batch_synthesis import (
    STACKS_PER_PROCESS,
    BatchSynthesisError,
    cdk_context_from_environment,
    is_batch_process,
    output_directory,
    synthesize_in_batches,
)

if TYPE_CHECKING:
    from aws_cdk import App, Stack

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "example.yaml"
# The `-c key=value` keys this app reads. CDK's own keys are namespaced ("@aws-cdk/...",
# "aws:cdk:...", lookups with ":"), so any other key is a typo that must not be ignored:
# `-c cfg=mine.yaml` would otherwise synthesize the example config without a word.
CONTEXT_KEYS = ("config", *SELECTOR_KEYS)


def build_app(
    app: App,
    config: SharingConfig,
    config_path: str | Path | None = None,
    *,
    plans: Sequence[StackPlan] | None = None,
    organization_stack: bool | None = None,
) -> list[Stack]:
    """Add the planned stacks (default: every stack of the config), with cdk-nag on all.

    In organization mode the management account's stack comes too: always with the whole
    config, and with a selection when `organization_stack` says it was selected.

    Each stack records which config it came from (cloud-assembly metadata, not the template),
    so the `lineage-sharing` commands can refuse a cdk.out that another config produced. The
    rollout section's pipelines and execution policies cover every stack of the config, so
    they are built with the whole config only, never with a selection of its stacks.
    """
    from aws_cdk import Validations
    from cdk_nag import AwsSolutionsChecks

    from lineage_sharing.config_record import ConfigRecord, record_config
    from stacks.lineage_sharing_stack import LineageSharingStack

    whole_config = plans is None
    plans = plan_stacks(config) if plans is None else plans
    stacks = [LineageSharingStack(app, plan=plan, config=config) for plan in plans]
    record = ConfigRecord.of(config, config_path)
    stacks_built: list[Stack] = list(stacks)
    if config.sharing.organization and (
        whole_config if organization_stack is None else organization_stack
    ):
        from stacks.organization_sharing_stack import OrganizationSharingStack

        # First: it must be deployed before any producer stack (`lineage-sharing plan`).
        stacks_built.insert(0, OrganizationSharingStack(app, config=config))
    for stack in stacks_built:
        record_config(stack, record)
    if config.rollout is not None and whole_config:
        from stacks.rollout_stacks import add_rollout_stacks  # pipelines: only when configured

        add_rollout_stacks(app, config, config_file=config_path or DEFAULT_CONFIG)
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks_built


def synthesize_in_process(
    config: SharingConfig,
    outdir: Path,
    config_path: str | Path | None = None,
    *,
    plans: Sequence[StackPlan] | None = None,
    organization_stack: bool | None = None,
) -> tuple[App, list]:
    """What `cdk synth` does, without the CLI: for tests and benchmarks.

    Uses cdk.json's context (the same feature flags as the CLI). Version reporting is off so
    the CDKMetadata resource does not change with every library bump.
    """
    from aws_cdk import App

    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    app = App(outdir=str(outdir), analytics_reporting=False, context=context)
    stacks = build_app(app, config, config_path, plans=plans, organization_stack=organization_stack)
    app.synth()
    return app, stacks


def unknown_context_keys(context: Mapping[str, Any]) -> list[str]:
    return sorted(
        key
        for key in context
        if key not in CONTEXT_KEYS and not key.startswith("@") and ":" not in key
    )


def main(app: App | None = None) -> int:
    # The CLI passes context and outdir in the environment; read it without starting the CDK,
    # which a batched synthesis leaves to its batch processes.
    context = (
        dict(app.node.get_all_context()) if app is not None else cdk_context_from_environment()
    )
    unknown = unknown_context_keys(context)
    if unknown:
        print(
            f"error: unknown context key {', '.join(map(repr, unknown))} (-c KEY=VALUE); this "
            f"app reads {', '.join(CONTEXT_KEYS)}, e.g. -c config=path/to/config.yaml",
            file=sys.stderr,
        )
        return 1
    given = context.get("config")
    config_path = given or _shown_path(DEFAULT_CONFIG)
    try:
        config = load_config(config_path)
        selection, organization_stack = organization_stack_selected(
            StackSelection.from_context(context.get), config
        )
        plans = [] if selection is None else selection.apply(plan_stacks(config))
    except (ConfigError, SelectionError) as error:
        # Fail before anything is synthesized, so no template is written.
        print(f"error: {error}", file=sys.stderr)
        return 1
    default_note = "" if given else " (the example; pass -c config=PATH for yours)"
    count = len(plans) + int(organization_stack)
    print(
        f"lineage-sharing: {count} stacks from config {config_path}{default_note}",
        file=sys.stderr,
    )
    # A pipeline holds a copy of every stack, so a config with a rollout section is one app.
    if app is None and len(plans) > STACKS_PER_PROCESS and config.rollout is None:
        outdir = output_directory()
        extra = [config.sharing.management_stack_name] if organization_stack else []
        try:
            synthesize_in_batches(plans, context=context, outdir=outdir, extra_stacks=extra)
        except BatchSynthesisError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        return refuse_what_would_not_deploy(outdir)
    if app is None:
        from aws_cdk import App

        app = App()
    whole = selection is not None and selection.everything
    try:
        build_app(
            app,
            config,
            config_path,
            plans=None if whole else plans,
            organization_stack=None if whole else organization_stack,
        )
    except ConfigError as error:  # e.g. a pipeline's config file outside its repository
        print(f"error: {error}", file=sys.stderr)
        return 1
    assembly = app.synth()
    # A batch's stacks are checked by the parent, with every other batch's, once merged.
    return 0 if is_batch_process() else refuse_what_would_not_deploy(Path(assembly.directory))


def organization_stack_selected(
    selection: StackSelection, config: SharingConfig
) -> tuple[StackSelection | None, bool]:
    """(the selection of per-account stacks, None if only the management stack is selected;
    whether the management account's stack is built). `-c stacks=` may name it like any stack."""
    name = config.sharing.management_stack_name
    if name is None:
        return selection, False
    if selection.everything:
        return selection, True
    if name not in selection.stacks:
        return selection, False
    rest = replace(selection, stacks=tuple(s for s in selection.stacks if s != name))
    return (None if rest.everything else rest), True


def refuse_what_would_not_deploy(cdk_out: Path) -> int:
    """Fail the synthesis if a template exceeds a limit that only bites at deploy time."""
    from lineage_sharing.deploy_limits import measure_assembly

    exceeded = [m for m in measure_assembly(cdk_out) if m.exceeded]
    for measurement in exceeded:
        print(f"error: would not deploy: {measurement}", file=sys.stderr)
    return 1 if exceeded else 0


def _shown_path(path: Path) -> str:
    """Relative to the working directory when under it, as a user would type it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
