"""Roll the synthesized stacks out into an offline multi-account simulation and prove, per
producer→consumer pair, that the consumer can read the producer's lineage.

Usage: python -m cli.simulate [--config PATH] [--cdk-out DIR]   (the config only names accounts)

Every stack in cdk.out is deployed into its account (consumers first): the real share-manager
and invitation-acceptor handlers run against simulated RAM and SageMaker, and every call they
make is judged by the IAM policies from the templates. Then an hour passes (RAM events and the
acceptors' schedules fire) and each pair is checked the way the status command checks real
accounts. Exits 1 if a deployment failed, a call was denied, or a pair cannot read.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta

from cli.cloud_assembly import SynthesizedStack, command_inputs
from cli.lineage_status import PairStatus, render_pairs
from simulation.estate import SimulatedEstate
from simulation.rollout import ResourceOutcome, deploy_all

# How long the simulation lets run after the last deployment: long enough for a sweep.
SETTLE_TIME = timedelta(hours=1)


@dataclass
class SimulationReport:
    failures: list[ResourceOutcome]
    denied: list[str]
    pairs: list[PairStatus]

    @property
    def ok(self) -> bool:
        return (
            bool(self.pairs)
            and not self.failures
            and not self.denied
            and all(p.readable for p in self.pairs)
        )


def seed_existing_lineage(estate: SimulatedEstate, stacks: list[SynthesizedStack]) -> None:
    """Producers that do not bootstrap must already track lineage: give each one a context."""
    for stack in stacks:
        if stack.share is None or stack.share[1].get("BootstrapLineageGroup") == "true":
            continue
        label = estate.names.get(stack.account, stack.account)
        estate.operator_client("sagemaker", stack.account, stack.region).create_context(
            ContextName=f"{label}-training-pipeline",
            ContextType="Pipeline",
            Source={"SourceUri": f"s3://{label}-ml/pipelines/training"},
        )


def simulate(stacks: list[SynthesizedStack], names: dict[str, str]) -> SimulationReport:
    """Everything comes from the templates: the accounts, what each one deploys and trusts."""
    estate = SimulatedEstate.start(sorted({stack.account for stack in stacks}), names)
    seed_existing_lineage(estate, stacks)
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
    inputs = command_inputs(__doc__.splitlines()[0], argv)
    if inputs is None:
        return 1
    report = simulate(inputs.stacks, inputs.names)
    print(render(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
