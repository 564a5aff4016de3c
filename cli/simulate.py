"""Roll the synthesized stacks out into an offline multi-account simulation and prove, per
producer→consumer pair, that the consumer can read the producer's lineage.

Usage: python -m cli.simulate [--config PATH] [--cdk-out DIR]

Every stack in cdk.out is deployed into its account (consumers first): the real share-manager
and invitation-acceptor handlers run against simulated RAM and SageMaker, and every call they
make is judged by the IAM policies from the templates. Then an hour passes (RAM events and the
acceptors' schedules fire) and each pair is checked the way the status command checks real
accounts. Exits 1 if a deployment failed, a call was denied, or a pair cannot read.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cli.cloud_assembly import SynthesizedStack, read_cloud_assembly
from cli.lineage_status import PairStatus, render_pairs
from config.model import ConfigError, SharingConfig, load_config
from simulation.estate import SimulatedEstate
from simulation.rollout import ResourceOutcome, deploy_all

REPO_ROOT = Path(__file__).resolve().parent.parent
# How long the simulation lets run after the last deployment: long enough for a sweep.
SETTLE_TIME = timedelta(hours=1)


@dataclass
class SimulationReport:
    failures: list[ResourceOutcome]
    denied: list[str]
    pairs: list[PairStatus]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.denied and all(p.readable for p in self.pairs)


def seed_existing_lineage(estate: SimulatedEstate, config: SharingConfig) -> None:
    """Accounts that do not bootstrap must already track lineage: give each one a context."""
    if config.bootstrap_lineage_group:
        return
    for account in config.accounts:
        for region in account.regions:
            sagemaker = estate.operator_client("sagemaker", account.id, region)
            sagemaker.create_context(
                ContextName=f"{account.name}-training-pipeline",
                ContextType="Pipeline",
                Source={"SourceUri": f"s3://{account.name}-ml/pipelines/training"},
            )


def simulate(stacks: list[SynthesizedStack], config: SharingConfig) -> SimulationReport:
    estate = SimulatedEstate.start(
        (account.id for account in config.accounts),
        names={account.id: account.name for account in config.accounts},
    )
    seed_existing_lineage(estate, config)
    failures = deploy_all(estate.rollout, stacks)
    estate.rollout.advance(SETTLE_TIME)
    return SimulationReport(failures, estate.denied_calls(), estate.pair_statuses(stacks))


def render(report: SimulationReport) -> str:
    lines = ["Simulated rollout of cdk.out (offline: simulated RAM, SageMaker and IAM)", ""]
    lines.append(render_pairs(report.pairs))
    lines.append("")
    for failure in report.failures:
        lines.append(f"FAILED {failure.stack} {failure.request_type}: {failure.reason}")
    for denial in report.denied:
        lines.append(f"DENIED {denial}")
    readable = sum(p.readable for p in report.pairs)
    verdict = "OK" if report.ok else "FAILED"
    lines.append(
        f"{verdict}: {readable}/{len(report.pairs)} pairs can read lineage, "
        f"{len(report.failures)} failed deployments, {len(report.denied)} denied calls"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO_ROOT / "config" / "example.yaml"))
    parser.add_argument("--cdk-out", default=str(REPO_ROOT / "cdk.out"))
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").exists():
        print(f"error: no cloud assembly in {cdk_out}: run `make synth` first", file=sys.stderr)
        return 1
    report = simulate(read_cloud_assembly(cdk_out), config)
    print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
