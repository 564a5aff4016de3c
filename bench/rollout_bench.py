"""Benchmark the simulated rollout and the acceptor's AWS API budget; write bench/results.md.

Usage: python -m bench.rollout_bench [--sizes 3 10 50] [--pending 0 1 5 20]

Per mesh size: synthesis time (in process, cdk-nag included), wall time of the full simulated
rollout (every stack deployed, events and schedules until every pair has access, every pair
checked), the simulated time that took, and the AWS calls it made. Above 20 consumers per
producer, RAM's pending-invitation quota makes the producers invite in rounds. Per number k of pending invitations: the AWS calls of one acceptor run, which
must be 1 paged list plus at most 2 per pending invitation.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import app as cdk_app  # noqa: E402
from config.model import parse_config  # noqa: E402
from lineage_sharing.cloud_assembly import SynthesizedStack, read_cloud_assembly  # noqa: E402
from simulation.estate import SimulatedEstate  # noqa: E402
from simulation.rollout import deploy_all  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.md"
REGION = "us-east-1"
STEP = timedelta(minutes=15)
GIVE_UP_AFTER = timedelta(hours=12)


def account_id(index: int) -> str:
    return f"{100000000000 + index:012d}"


def mesh_config(size: int) -> dict:
    return {
        "accounts": [
            {"id": account_id(i), "name": f"team-{i:02d}", "region": REGION} for i in range(size)
        ],
        "topology": {"type": "mesh"},
        "bootstrap_lineage_group": True,
    }


def hub_config(spokes: int) -> dict:
    """One consumer (the hub) and `spokes` producers sharing with it."""
    accounts = [{"id": account_id(0), "name": "hub", "region": REGION}]
    accounts += [
        {"id": account_id(i), "name": f"producer-{i:02d}", "region": REGION}
        for i in range(1, spokes + 1)
    ]
    return {
        "accounts": accounts,
        "topology": {"type": "hub-and-spoke", "hub": "hub", "direction": "spokes-to-hub"},
        "bootstrap_lineage_group": True,
    }


def synthesize(raw: dict, workdir: Path) -> tuple[list[SynthesizedStack], float]:
    started = time.perf_counter()
    outdir = Path(tempfile.mkdtemp(dir=workdir))
    cdk_app.synthesize_in_process(parse_config(raw), outdir)
    return read_cloud_assembly(outdir), time.perf_counter() - started


@dataclass
class RolloutResult:
    accounts: int
    stacks: int
    synth_seconds: float
    rollout_seconds: float
    simulated_minutes: int
    api_calls: int
    pairs: int
    readable: int


def bench_rollout(size: int, workdir: Path) -> RolloutResult:
    stacks, synth_seconds = synthesize(mesh_config(size), workdir)
    started = time.perf_counter()
    estate = SimulatedEstate.start(account_id(i) for i in range(size))
    world = estate.world
    began = world.clock.now()
    failures = deploy_all(estate.rollout, stacks)
    while not _every_pair_has_access(estate, stacks) and world.clock.now() - began < GIVE_UP_AFTER:
        estate.rollout.advance(STEP)
    simulated = world.clock.now() - began
    statuses = estate.pair_statuses(stacks)
    rollout_seconds = time.perf_counter() - started
    if failures or estate.denied_calls():
        raise SystemExit(f"mesh of {size}: {failures} {estate.denied_calls()[:3]}")
    return RolloutResult(
        size,
        len(stacks),
        synth_seconds,
        rollout_seconds,
        int(simulated.total_seconds() // 60),
        len(estate.world.call_log),
        len(statuses),
        sum(s.readable for s in statuses),
    )


def _every_pair_has_access(estate: SimulatedEstate, stacks: list[SynthesizedStack]) -> bool:
    """Cheap convergence check on the simulation's state; the real check runs at the end."""
    world = estate.world
    for producer in stacks:
        group = world.lineage_group_arn(producer.account, producer.region)
        if group is None:
            return False
        if not all(world.ram.grants_access(group, consumer) for consumer in producer.shares_with):
            return False
    return True


@dataclass
class AcceptorBudget:
    pending: int
    calls: int
    accepted: int

    @property
    def budget(self) -> int:
        return 1 + 2 * self.pending


def bench_acceptor(pending: int, workdir: Path) -> AcceptorBudget:
    """Producers share while the hub's events are lost; then one sweep is counted."""
    stacks, _ = synthesize(hub_config(max(pending, 1)), workdir)
    hub_stack = next(s for s in stacks if s.account == account_id(0))
    producers = [s for s in stacks if s is not hub_stack][:pending]
    estate = SimulatedEstate.start(s.account for s in stacks)
    rollout = estate.rollout
    rollout.drop_events = lambda event: True
    rollout.deploy(hub_stack)
    for producer in producers:
        rollout.deploy(producer)
    before = len(estate.world.call_log)
    run = rollout.sweep_now(hub_stack.name)
    hub_calls = [
        call
        for call in estate.world.call_log[before:]
        if call.account == hub_stack.account and call.service == "ram"
    ]
    return AcceptorBudget(pending, len(hub_calls), (run.summary or {}).get("accepted", 0))


def render(rollouts: list[RolloutResult], budgets: list[AcceptorBudget]) -> str:
    lines = [
        "# Benchmark: simulated rollout",
        "",
        f"Written by `make bench` ({Path(__file__).name}) on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}. Wall times vary by machine; "
        "the call counts do not.",
        "",
        "## Full mesh rollout",
        "",
        "| accounts | stacks | synth (s) | rollout wall time (s) | simulated time to full access "
        "| AWS API calls | pairs readable |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.accounts} | {r.stacks} | {r.synth_seconds:.1f} | {r.rollout_seconds:.2f} "
        f"| {r.simulated_minutes} min | {r.api_calls} | {r.readable}/{r.pairs} |"
        for r in rollouts
    ]
    lines += [
        "",
        "Rollout: every stack deployed in turn (custom resource Create polled every 15 s as the",
        "Provider framework does; RAM events reach the acceptors meanwhile), then simulated time",
        "advances in 15-minute steps (events, sweeps, the producers' reconcile schedule) until",
        "every consumer has access; then every pair is checked with DescribeContext and",
        "QueryLineage. Default sweep interval (60 min). Synthesis runs cdk-nag on every",
        "stack. With more than 20 consumers, producers invite 20 at a time (RAM's pending",
        "invitation quota) and the rest on their hourly reconcile as invitations get accepted.",
        "",
        "## AWS API calls per acceptor run",
        "",
        "| pending invitations k | calls | budget 1 + 2k | accepted |",
        "|---:|---:|---:|---:|",
    ]
    lines += [f"| {b.pending} | {b.calls} | {b.budget} | {b.accepted} |" for b in budgets]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 10, 50])
    parser.add_argument("--pending", type=int, nargs="+", default=[0, 1, 5, 20])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = Path(scratch)
        rollouts = []
        for size in args.sizes:
            rollouts.append(bench_rollout(size, workdir))
            print(f"mesh of {size}: {rollouts[-1]}", flush=True)
        budgets = [bench_acceptor(k, workdir) for k in args.pending]
    over_budget = [b for b in budgets if b.calls > b.budget]
    args.output.write_text(render(rollouts, budgets))
    print(args.output.read_text())
    return 1 if over_budget or any(r.readable != r.pairs for r in rollouts) else 0


if __name__ == "__main__":
    sys.exit(main())
