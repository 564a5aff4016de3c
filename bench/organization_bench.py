"""Benchmark organization mode: simulated time to full access; write bench/organization_results.md.

Usage: python -m bench.organization_bench [--sizes 3 50 200 500]

Per mesh size, in organization mode (every account in one OU, the OU the principal): synthesis
of every stack (the management account's included), the simulated rollout (management stack
first, then every account's stack), and the simulated time until every consumer can read every
producer. Shares within the organization need no invitation, so access comes with the deploys;
compare bench/results.md (invitation mode). Full access is checked on the simulation's state
for every pair, and proved with the status check (DescribeContext and QueryLineage as the
consumer) on a sample of pairs.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.rollout_bench import GIVE_UP_AFTER, REGION, STEP, account_id, synthesize
from lineage_sharing.cloud_assembly import SynthesizedStack, directed_pairs
from lineage_sharing.status import pair_status
from simulation.estate import SimulatedEstate
from simulation.rollout import deploy_all

RESULTS = Path(__file__).resolve().parent / "organization_results.md"
MANAGEMENT = "900000000000"
ORGANIZATION_ID = "o-abc123defg"
OU_ID = "ou-ab12-cdef3456"
CHECKED_PAIRS = 100


def organization_mesh(size: int) -> dict:
    return {
        "sharing": {
            "mode": "organization",
            "organization_arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{ORGANIZATION_ID}",
            "ou_arns": [f"arn:aws:organizations::{MANAGEMENT}:ou/{ORGANIZATION_ID}/{OU_ID}"],
            "management_account_region": REGION,
        },
        "accounts": [
            {"id": account_id(i), "name": f"team-{i:03d}", "region": REGION} for i in range(size)
        ],
        "topology": {"type": "mesh"},
        "bootstrap_lineage_group": True,
    }


@dataclass
class OrganizationResult:
    accounts: int
    stacks: int
    synth_seconds: float
    rollout_seconds: float
    deploy_minutes: float  # simulated: the deploys one after the other (Provider polls)
    after_last_deploy_minutes: float  # simulated: from the last deploy to full access
    api_calls: int
    invitations: int
    pairs: int
    checked: int
    readable: int


def bench(size: int, workdir: Path) -> OrganizationResult:
    stacks, synth_seconds = synthesize(organization_mesh(size), workdir)
    started = time.perf_counter()
    estate = SimulatedEstate.start([MANAGEMENT])
    members = [account_id(i) for i in range(size)]
    estate.world.create_organization(
        MANAGEMENT, {"ml": members}, organization_id=ORGANIZATION_ID, ou_ids={"ml": OU_ID}
    )
    world = estate.world
    began = world.clock.now()
    failures = deploy_all(estate.rollout, stacks)
    deployed = world.clock.now()
    while not _every_pair_has_access(estate, stacks) and world.clock.now() - began < GIVE_UP_AFTER:
        estate.rollout.advance(STEP)
    converged = world.clock.now()
    pairs = directed_pairs(stacks)
    sample = random.Random(size).sample(pairs, min(CHECKED_PAIRS, len(pairs)))
    statuses = [pair_status(p, c, estate.operator_client, {}) for p, c in sample]
    rollout_seconds = time.perf_counter() - started
    if failures or estate.denied_calls():
        raise SystemExit(f"org mesh of {size}: {failures} {estate.denied_calls()[:3]}")
    return OrganizationResult(
        accounts=size,
        stacks=len(stacks),
        synth_seconds=synth_seconds,
        rollout_seconds=rollout_seconds,
        deploy_minutes=(deployed - began).total_seconds() / 60,
        after_last_deploy_minutes=(converged - deployed).total_seconds() / 60,
        api_calls=len(world.call_log),
        invitations=len(world.ram._records.invitations),
        pairs=len(pairs),
        checked=len(statuses),
        readable=sum(s.readable for s in statuses),
    )


def _every_pair_has_access(estate: SimulatedEstate, stacks: list[SynthesizedStack]) -> bool:
    world = estate.world
    accounts = [s.account for s in stacks if not s.enables_organization_sharing]
    for producer in stacks:
        if producer.enables_organization_sharing:
            continue
        group = world.lineage_group_arn(producer.account, producer.region)
        if group is None:
            return False
        if not all(world.ram.grants_access(group, a) for a in accounts if a != producer.account):
            return False
    return True


def render(results: list[OrganizationResult]) -> str:
    lines = [
        "# Benchmark: organization mode, simulated time to full access",
        "",
        f"Written by `python -m bench.organization_bench` on {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}. Wall times vary by machine; the "
        "simulated times and call counts do not.",
        "",
        "| accounts | stacks | synth (s) | rollout wall time (s) | simulated deploys (min) "
        "| simulated time to full access after the last deploy | invitations | AWS API calls "
        "| pairs | pairs proved readable |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.accounts} | {r.stacks} | {r.synth_seconds:.1f} | {r.rollout_seconds:.1f} "
        f"| {r.deploy_minutes:.1f} | {r.after_last_deploy_minutes:.0f} min | {r.invitations} "
        f"| {r.api_calls} | {r.pairs} | {r.readable}/{r.checked} |"
        for r in results
    ]
    lines += [
        "",
        "Every account in one OU, which is each producer's only principal; the management",
        "account's stack (RAM sharing with AWS Organizations) is deployed first. The simulation",
        "deploys the stacks one after the other, each custom resource polled every 15 s as the",
        "Provider framework does, so 'simulated deploys' is the sum of the deploys (real",
        "deploys in different accounts run in parallel). Access needs no invitation: every",
        "consumer can read every producer as soon as the producer's share exists, so the time",
        "to full access after the last deploy is 0 (invitation mode: bench/results.md).",
        f"Full access is checked on RAM's state for every pair; {CHECKED_PAIRS} random pairs",
        "(all, below that) are proved with the status check's live read.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3, 50, 200, 500])
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            results.append(bench(size, Path(scratch)))
            print(f"org mesh of {size}: {results[-1]}", flush=True)
            args.output.write_text(render(results))
    print(args.output.read_text())
    return 1 if any(r.readable != r.checked for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
