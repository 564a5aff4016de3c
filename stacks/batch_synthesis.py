"""Synthesize a large fleet in batches, one process per batch, into one cloud assembly.

The CDK keeps every construct of an app in one JavaScript runtime until synthesis ends, about
2 MB per stack here, on top of what any CDK app process costs (measured: Python ~120 MB, the
runtime with aws-cdk-lib ~130 MB, the built-in template validation ~340 MB). A 500-stack app
in one process peaked at 1.1 GB in its runtime alone. So above `STACKS_PER_PROCESS` stacks
this module runs `app.py` once per batch, each time selecting that batch's stacks with
`-c stacks=...` (config/selection.py), one batch after the other into the same output
directory, and then merges what each run wrote into the single assembly the CDK CLI reads:
the manifest's artifacts, the construct tree and the validation report. Templates and assets
need no merging: each stack writes its own files, and assets are content-addressed, so a
batch finds an asset it shares already staged. Memory is then bounded by the batch, not by
the fleet; each batch pays the process's fixed start-up (a few seconds), so batches are large.

Nothing here imports the CDK: the parent process plans and merges, the batches build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from config.model import StackPlan

# Measured (bench/scale_results.md): at 500 accounts a batch process of 75 stacks stays under
# about 850 MiB; each batch costs a few seconds of start-up, so batches are not smaller.
STACKS_PER_PROCESS = 75

# How the CDK CLI hands context and the output directory to the app (cx-api).
CONTEXT_ENV = "CDK_CONTEXT_JSON"
CONTEXT_OVERFLOW_LOCATION_ENV = "CONTEXT_OVERFLOW_LOCATION_ENV"
OUTDIR_ENV = "CDK_OUTDIR"
# Set for the batch processes: the parent checks the merged assembly once, for all batches.
BATCH_PROCESS_ENV = "LINEAGE_SHARING_BATCH_PROCESS"
SELECTOR_KEYS = ("stacks", "accounts", "regions")

MANIFEST = "manifest.json"
TREE = "tree.json"
VALIDATION_REPORT = "validation-report.json"
APP = Path(__file__).resolve().parent.parent / "app.py"


class BatchSynthesisError(RuntimeError):
    """A batch's synthesis failed; its own error output is above this message."""


def cdk_context_from_environment() -> dict[str, Any]:
    """The context the CLI passed, read the way aws-cdk-lib's App reads it."""
    context: dict[str, Any] = {}
    overflow = os.environ.get(CONTEXT_OVERFLOW_LOCATION_ENV)
    if overflow and Path(overflow).exists():
        context.update(json.loads(Path(overflow).read_text()))
    if os.environ.get(CONTEXT_ENV):
        context.update(json.loads(os.environ[CONTEXT_ENV]))
    return context


def output_directory() -> Path:
    """Where the CLI wants the assembly; a fresh temporary one when run without the CLI."""
    return Path(os.environ.get(OUTDIR_ENV) or tempfile.mkdtemp(prefix="cdk.out"))


def batches(plans: Sequence[StackPlan], size: int = STACKS_PER_PROCESS) -> list[list[str]]:
    names = [plan.stack_name for plan in plans]
    return [names[start : start + size] for start in range(0, len(names), size)]


def is_batch_process() -> bool:
    return os.environ.get(BATCH_PROCESS_ENV) == "1"


def synthesize_in_batches(
    plans: Sequence[StackPlan],
    *,
    context: Mapping[str, Any],
    outdir: Path,
    size: int = STACKS_PER_PROCESS,
    extra_stacks: Sequence[str] = (),
) -> None:
    """`extra_stacks`: stacks that are not per-account plans (the management account's stack
    in organization mode), built with the first batch."""
    outdir.mkdir(parents=True, exist_ok=True)
    parts = []
    planned = batches(plans, size)
    planned[0] = [*extra_stacks, *planned[0]]
    for number, names in enumerate(planned, start=1):
        _run_batch(names, context=context, outdir=outdir)
        parts.append(_set_aside(outdir, number))
    _merge(outdir, parts)


def _run_batch(names: Sequence[str], *, context: Mapping[str, Any], outdir: Path) -> None:
    batch_context = {k: v for k, v in context.items() if k not in SELECTOR_KEYS}
    batch_context["stacks"] = list(names)
    environment = {k: v for k, v in os.environ.items() if k != CONTEXT_OVERFLOW_LOCATION_ENV}
    environment |= {
        CONTEXT_ENV: json.dumps(batch_context),
        OUTDIR_ENV: str(outdir),
        BATCH_PROCESS_ENV: "1",
    }
    completed = subprocess.run([sys.executable, str(APP)], env=environment, check=False)
    if completed.returncode != 0:
        raise BatchSynthesisError(
            f"synthesizing {len(names)} stacks ({names[0]} .. {names[-1]}) failed with exit "
            f"status {completed.returncode}"
        )


def _set_aside(outdir: Path, number: int) -> dict[str, Path]:
    """Move the files every batch writes under the same name out of the next batch's way."""
    kept = {}
    for name in (MANIFEST, TREE, VALIDATION_REPORT):
        path = outdir / name
        if path.exists():
            kept[name] = path.replace(outdir / f".batch-{number}.{name}")
    return kept


def _merge(outdir: Path, parts: Sequence[Mapping[str, Path]]) -> None:
    manifests = [json.loads(part[MANIFEST].read_text()) for part in parts]
    manifest = dict(manifests[-1])
    manifest["artifacts"] = {
        name: artifact for each in manifests for name, artifact in each["artifacts"].items()
    }
    _merge_trees(outdir / TREE, [part[TREE] for part in parts if TREE in part])
    reports = [
        json.loads(part[VALIDATION_REPORT].read_text())
        for part in parts
        if VALIDATION_REPORT in part
    ]
    if reports:
        merged_report = {
            **reports[-1],
            "pluginReports": [r for each in reports for r in each["pluginReports"]],
        }
        (outdir / VALIDATION_REPORT).write_text(json.dumps(merged_report, indent=2))
    # The manifest last: the CLI reads the assembly only once the app has exited, and a
    # manifest that exists is a complete assembly.
    (outdir / MANIFEST).write_text(json.dumps(manifest, indent=2))
    for part in parts:
        for path in part.values():
            path.unlink(missing_ok=True)


def _merge_trees(target: Path, trees: Sequence[Path]) -> None:
    """One construct tree: every batch's stacks under one App node, read one batch at a time."""
    if not trees:
        return
    with target.open("w") as out:
        root: dict[str, Any] | None = None
        written: set[str] = set()
        for path in trees:
            tree = json.loads(path.read_text())
            if root is None:
                root = {k: v for k, v in tree["tree"].items() if k != "children"}
                out.write(json.dumps({"version": tree["version"]})[:-1] + ',"tree":')
                out.write(json.dumps(root)[:-1] + ',"children":{')
            for name, child in tree["tree"].get("children", {}).items():
                if name in written:  # every batch has the app-level nodes (the Tree itself)
                    continue
                out.write(("," if written else "") + json.dumps(name) + ":" + json.dumps(child))
                written.add(name)
        out.write("}}}")
