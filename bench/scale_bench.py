"""Benchmark synthesis at fleet scale and the largest deploy-time sizes; write bench/scale_results.md.

Usage: python -m bench.scale_bench [--sizes 3 50 200 500] [--repeats 3]

Per mesh size (invitation mode, one region), each measured in a subprocess through the real
CDK CLI (`npx cdk synth`), as a user runs it:
- full synthesis: wall time and peak memory (RSS sampled from /proc every 0.2 s, summed over
  the processes: the app's own, i.e. the Python app, its batch processes and their JavaScript
  runtimes; and the whole tree, with the CLI and npx);
- one stack synthesized with `-c stacks=<name>` (what `cdk deploy <name> -c stacks=<name>`
  runs), as a multiple of the floor: a CDK app with one stack and one Lambda
  (bench/floor_app/), measured in the same run, with the same CLI and cdk.json settings,
  alternating with it, median of `--repeats` runs;
- the largest resolved policy, environment, rule input, SSM value and template of the full
  synthesis against their limits (lineage_sharing/deploy_limits.py);
- simulated time to full access (invitation mode): one producer and its `size - 1` consumers
  synthesized in process and rolled out in the simulation (consumers first), with the
  producer's reconcile-on-RAM-event rule and with it disabled (schedule only). Each account's
  pending-invitation quota is its own, so this is what every producer of a mesh of that size
  does; rolling out a whole 200- or 500-account mesh in the simulation takes hours (every
  pair is simulated), so `--access-only` measures just this part and rewrites its section.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import yaml

from lineage_sharing.deploy_limits import (
    EVENTBRIDGE_INPUT,
    LAMBDA_ENVIRONMENT,
    MANAGED_POLICY_SIZE,
    ROLE_INLINE_POLICIES,
    ROLE_MANAGED_POLICIES,
    SSM_PARAMETER_VALUE,
    TEMPLATE_RESOURCES,
    TEMPLATE_SIZE,
    Limit,
    Measurement,
    largest,
    measure_assembly,
)
from stacks.batch_synthesis import STACKS_PER_PROCESS

ACCESS_SECTION = "## Simulated time to full access (invitation mode)"

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "scale_results.md"
FLOOR_APP = Path(__file__).resolve().parent / "floor_app" / "app.py"
REGION = "us-east-1"
REPORTED_LIMITS = (
    ROLE_INLINE_POLICIES,
    MANAGED_POLICY_SIZE,
    ROLE_MANAGED_POLICIES,
    LAMBDA_ENVIRONMENT,
    EVENTBRIDGE_INPUT,
    SSM_PARAMETER_VALUE,
    TEMPLATE_SIZE,
    TEMPLATE_RESOURCES,
)
CLI_ENVIRONMENT = {
    "CDK_DISABLE_VERSION_CHECK": "1",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
}
MIB = 2**20


def mesh_config(size: int) -> dict:
    return {
        "accounts": [
            {"id": f"{100000000000 + i:012d}", "name": f"team-{i:03d}", "region": REGION}
            for i in range(size)
        ],
        "topology": {"type": "mesh"},
    }


# ---------------------------------------------------------------------------- one measured run


@dataclass
class Run:
    seconds: float
    app_peak_bytes: int  # the app's processes: everything below the CDK CLI's own process
    tree_peak_bytes: int  # everything, the CLI and npx included
    largest_process_bytes: int
    # Templates the app refused after synthesizing them all (over a deploy-time limit).
    refused: int = 0


class _TreeSampler:
    """Peak RSS of a process tree, sampled from /proc (Linux)."""

    def __init__(self, root: int, interval: float = 0.2) -> None:
        self.root, self.interval = root, interval
        self.app_peak = self.tree_peak = self.largest = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(self.interval)

    def _sample(self) -> None:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        tree = app = 0
        pending = [(self.root, False)]
        while pending:
            pid, below_cli = pending.pop()
            rss, command = _rss_and_command(pid)
            tree += rss
            app += rss if below_cli else 0
            self.largest = max(self.largest, rss)
            # The CLI is the `node .../cdk` process; the app and its runtimes run below it.
            is_cli = "node" in command and "/cdk " in f"{command} "
            pending += [(child, below_cli or is_cli) for child in children.get(pid, [])]
        self.tree_peak = max(self.tree_peak, tree)
        self.app_peak = max(self.app_peak, app)


def _rss_and_command(pid: int) -> tuple[int, str]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return 0, ""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024, command
    return 0, command


def measured(command: Sequence[str]) -> Run:
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env={**os.environ, **CLI_ENVIRONMENT},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = _TreeSampler(process.pid)
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    sampler.stop()
    refused = errors.count("error: would not deploy:")
    if process.returncode != 0 and not refused:
        raise RuntimeError(f"{' '.join(command)} failed:\n{errors}")
    return Run(seconds, sampler.app_peak, sampler.tree_peak, sampler.largest, refused)


def cdk_synth(outdir: Path, *arguments: str) -> list[str]:
    return ["npx", "cdk", "synth", "--quiet", "-o", str(outdir), *arguments]


# ---------------------------------------------------------------------------- per fleet size


@dataclass
class SizeResult:
    accounts: int
    stacks: int
    full: Run
    single_seconds: float
    floor_seconds: float
    largest: dict[Limit, Measurement]
    exceeded: int
    over: list[Measurement]  # the largest over-limit measurement of each kind

    @property
    def ratio(self) -> float:
        return self.single_seconds / self.floor_seconds


def bench_size(size: int, workdir: Path, repeats: int) -> SizeResult:
    config = workdir / f"mesh-{size}.yaml"
    config.write_text(yaml.safe_dump(mesh_config(size)))
    full_out = workdir / f"cdk.out.{size}"
    full = measured(cdk_synth(full_out, "-c", f"config={config}"))
    measurements = measure_assembly(full_out)
    stack = f"LineageSharing-team-{size // 2:03d}-{REGION}"
    single, floor = [], []
    for attempt in range(repeats):
        single_out = workdir / f"cdk.out.{size}.single.{attempt}"
        floor_out = workdir / f"cdk.out.floor.{size}.{attempt}"
        single.append(
            measured(
                cdk_synth(single_out, stack, "-c", f"config={config}", "-c", f"stacks={stack}")
            ).seconds
        )
        floor_app = f"{sys.executable} {FLOOR_APP}"
        floor.append(measured(cdk_synth(floor_out, "--app", floor_app)).seconds)
    return SizeResult(
        accounts=size,
        stacks=len({m.stack for m in measurements}),
        full=full,
        single_seconds=statistics.median(single),
        floor_seconds=statistics.median(floor),
        largest=largest(measurements),
        exceeded=sum(m.exceeded for m in measurements),
        over=list(largest(m for m in measurements if m.exceeded).values()),
    )


# ---------------------------------------------------------------------------- time to access


@dataclass
class AccessResult:
    accounts: int
    with_events: timedelta | None  # None: not every consumer had access within the give-up
    schedule_only: timedelta | None
    wall_seconds: float


def producer_config(size: int) -> dict:
    """One producer sharing with `size - 1` consumers: one producer of a mesh of `size`."""
    config = mesh_config(size)
    config["topology"] = {"type": "hub-and-spoke", "hub": "team-000", "direction": "hub-to-spokes"}
    config["bootstrap_lineage_group"] = True  # fresh simulated accounts have no lineage group
    return config


def bench_access(size: int, workdir: Path) -> AccessResult:
    import app as cdk_app  # the CDK app in process: only this part needs it
    from config.model import parse_config
    from lineage_sharing.cloud_assembly import read_cloud_assembly
    from simulation.estate import SimulatedEstate
    from simulation.rollout import without_reconcile_event_rule

    started = time.perf_counter()
    outdir = workdir / f"cdk.out.access.{size}"
    cdk_app.synthesize_in_process(parse_config(producer_config(size)), outdir)
    stacks = read_cloud_assembly(outdir)
    producer = min(stacks, key=lambda stack: stack.name)  # team-000
    times = []
    for variant in (
        stacks,
        [without_reconcile_event_rule(s) if s is producer else s for s in stacks],
    ):
        estate = SimulatedEstate.start(stack.account for stack in stacks)
        times.append(estate.roll_out_until_full_access(variant, give_up_after=timedelta(hours=48)))
        if estate.denied_calls():
            raise SystemExit(f"{size} accounts: {estate.denied_calls()[:3]}")
    return AccessResult(size, times[0], times[1], time.perf_counter() - started)


def _minutes(value: timedelta | None) -> str:
    return "not within 48 h" if value is None else f"{value.total_seconds() / 60:.1f} min"


def render_access(results: list[AccessResult]) -> str:
    lines = [
        ACCESS_SECTION,
        "",
        "| accounts | consumers per producer | simulated time to full access (invitation mode) "
        "| schedule only (event rule disabled) | wall time (s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.accounts} | {r.accounts - 1} | {_minutes(r.with_events)} "
        f"| {_minutes(r.schedule_only)} | {r.wall_seconds:.0f} |"
        for r in results
    ]
    lines += [
        "",
        "One producer and its consumers (what each producer of a mesh of that size does: the "
        "pending-invitation quota of 20 is per sharing account), rolled out in the simulation, "
        "consumers first; time from the first deployment until RAM grants every consumer the "
        "producer's lineage group, in 1-minute steps. The producer's Create is polled every 15 s "
        "as the Provider framework does; RAM events reach the acceptors and the producer's "
        "reconcile rule within the same step (EventBridge takes seconds); schedules hourly "
        "(the default). With the event rule, each answered invitation frees quota and the next "
        "consumers are invited at once; schedule only, 20 more each hour.",
        "",
    ]
    return "\n".join(lines)


def replace_access_section(report: str, section: str) -> str:
    """The report with its access section replaced by `section` (or appended)."""
    if ACCESS_SECTION not in report:
        return report.rstrip("\n") + "\n\n" + section
    head, _, tail = report.partition(ACCESS_SECTION)
    rest = tail.partition("\n## ")
    return head + section + (f"\n## {rest[2]}" if rest[1] else "")


# ---------------------------------------------------------------------------- report


def render(results: list[SizeResult]) -> str:
    lines = [
        "# Benchmark: synthesis at scale and deploy-time sizes",
        "",
        f"Written by `make bench` (scale_bench.py) on CPython {platform.python_version()}, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other work. Wall times vary "
        "by machine and load; sizes do not.",
        "",
        "## Synthesis (`npx cdk synth`, invitation-mode mesh, one region)",
        "",
        "| accounts | stacks | full synth (s) | peak memory, app (MiB) | peak memory, with CLI "
        "and npx (MiB) | largest process (MiB) | one stack (s) | one-Lambda floor (s) | "
        "one stack / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.accounts} | {r.stacks} | {r.full.seconds:.1f} | {r.full.app_peak_bytes / MIB:.0f} "
            f"| {r.full.tree_peak_bytes / MIB:.0f} | {r.full.largest_process_bytes / MIB:.0f} "
            f"| {r.single_seconds:.1f} | {r.floor_seconds:.1f} | {r.ratio:.2f} |"
        )
    lines += [
        "",
        f"Full synth: every stack; above {STACKS_PER_PROCESS} stacks the app synthesizes in "
        f"batches of {STACKS_PER_PROCESS}, one process each (stacks/batch_synthesis.py). Peak memory, app: the summed RSS of the "
        "app's processes (Python, batch processes, their JavaScript runtimes); with CLI and "
        "npx: the whole process tree of the command. Every CDK app process here carries the "
        "built-in CloudFormation validation (about 340 MiB and 2.5 s; `cdk synth "
        "--no-validation` skips it). One stack: `npx cdk synth <stack> -c stacks=<stack>`, "
        "median of the runs, alternating with the floor app (bench/floor_app/, one Lambda, "
        "same CLI and cdk.json).",
        "",
        "## Largest deploy-time sizes against their limits",
        "",
        "Resolved as deployed, measured as AWS counts them (lineage_sharing/deploy_limits.py); the "
        "producer and consumer parts of every mesh stack are at their largest "
        "(accounts - 1 partners).",
        "",
        "| accounts | " + " | ".join(limit.name for limit in REPORTED_LIMITS) + " | over a limit |",
        "|---:|" + "---:|" * len(REPORTED_LIMITS) + "---:|",
    ]
    for r in results:
        cells = []
        for limit in REPORTED_LIMITS:
            found = r.largest.get(limit)
            cells.append(f"{found.size:,} / {limit.maximum:,}" if found else "none")
        lines.append(f"| {r.accounts} | " + " | ".join(cells) + f" | {r.exceeded} |")
    over = [(r.accounts, m) for r in results for m in r.over]
    lines += ["", "Over a limit (the largest of each kind; the count is of all stacks):", ""]
    lines += [f"- {accounts} accounts: {m}" for accounts, m in over] or ["- none"]
    lines += [
        "",
        "Where the largest of each sits: "
        + "; ".join(
            f"{limit.name}: {m.stack} {m.subject}"
            for limit in REPORTED_LIMITS
            if (m := results[-1].largest.get(limit)) is not None
        )
        + f" (at {results[-1].accounts} accounts).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 50, 200, 500])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--access-only",
        action="store_true",
        help="measure only the simulated time to full access; rewrite only its section",
    )
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="scale-bench-") as workdir:
        access = []
        for size in args.sizes:
            access.append(bench_access(size, Path(workdir)))
            print(
                f"{size} accounts: full access after {_minutes(access[-1].with_events)}, "
                f"schedule only {_minutes(access[-1].schedule_only)}",
                flush=True,
            )
        if args.access_only:
            previous = args.output.read_text() if args.output.exists() else ""
            args.output.write_text(replace_access_section(previous, render_access(access)))
            print(f"wrote {args.output}")
            return 0
        for size in args.sizes:
            result = bench_size(size, Path(workdir), args.repeats)
            print(
                f"{size} accounts: full {result.full.seconds:.1f} s, "
                f"{result.full.app_peak_bytes / MIB:.0f} MiB app / "
                f"{result.full.tree_peak_bytes / MIB:.0f} MiB all; one stack "
                f"{result.ratio:.2f} x floor; {result.exceeded} over a limit",
                flush=True,
            )
            results.append(result)
    args.output.write_text(render(results) + "\n" + render_access(access))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
