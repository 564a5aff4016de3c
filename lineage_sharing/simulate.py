"""Roll the synthesized stacks out into an offline multi-account simulation and prove, per
producer→consumer pair, that the consumer can read the producer's lineage.

Every stack in cdk.out is deployed into its account (consumers first): the real share-manager
and invitation-acceptor handlers run against simulated RAM and SageMaker, and every call they
make is judged by the IAM policies from the templates. Then an hour passes (RAM events and the
acceptors' schedules fire) and each pair is checked by the same code `lineage-sharing status`
runs against real accounts. Not OK if a deployment failed, a call was denied, or a pair cannot
read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lineage_sharing.cloud_assembly import SynthesizedStack
from lineage_sharing.status import StatusReport, check_pairs, render_pairs
from simulation.estate import SimulatedEstate
from simulation.rollout import ResourceOutcome, deploy_all

# How long the simulation lets run after the last deployment: long enough for a sweep.
SETTLE_TIME = timedelta(hours=1)


@dataclass
class SimulationReport:
    failures: list[ResourceOutcome]
    denied: list[str]
    status: StatusReport

    @property
    def pairs(self):
        return self.status.pairs

    @property
    def ok(self) -> bool:
        return self.status.ok and not self.failures and not self.denied


def seed_existing_lineage(estate: SimulatedEstate, stacks: list[SynthesizedStack]) -> None:
    """Producers that do not bootstrap must already track lineage: give each one a context."""
    for stack in stacks:
        if stack.share is None or stack.bootstraps_lineage_group:
            continue
        label = estate.names.get(stack.account, stack.account)
        estate.operator_client("sagemaker", stack.account, stack.region).create_context(
            ContextName=f"{label}-training-pipeline",
            ContextType="Pipeline",
            Source={"SourceUri": f"s3://{label}-ml/pipelines/training"},
        )


def organization_from_templates(estate: SimulatedEstate, stacks: list[SynthesizedStack]) -> None:
    """Organization mode: the organization the templates name, with the accounts they put in it.

    The management stack names the organization; the producers' shares name its OUs. Every
    other stack's account is a member, in the first OU (the root without OUs), except the
    accounts an organization share lists by id: those are outside the organization.
    """
    management = next((s for s in stacks if s.organization_sharing is not None), None)
    if management is None:
        return
    organization_arn = management.organization_sharing[1]["OrganizationArn"]  # type: ignore[index]
    organization_id = organization_arn.rsplit("/", 1)[1]
    principals = {p for stack in stacks for p in stack.shares_with}
    ou_arns = sorted(p for p in principals if ":ou/" in p)
    outside = {
        p
        for stack in stacks
        if any(not q.isdigit() for q in stack.shares_with)
        for p in stack.shares_with
        if p.isdigit()
    }
    members = sorted(
        {s.account for s in stacks if s is not management and s.account not in outside}
        - {management.account}
    )
    units = {f"ou-{n}": ([] if n else members) for n in range(len(ou_arns))}
    organization = estate.world.create_organization(
        management.account,
        units,
        organization_id=organization_id,
        ou_ids={f"ou-{n}": arn.rsplit("/", 1)[1] for n, arn in enumerate(ou_arns)},
    )
    if not ou_arns:
        for account in members:
            estate.world.join_organization(organization, account, None)


def check_estate(
    estate: SimulatedEstate,
    stacks: list[SynthesizedStack],
    *,
    read_as_query_role: bool = False,
    **options,
) -> StatusReport:
    """`lineage-sharing status` against the simulated accounts, on the simulated clock."""
    lock = threading.Lock()

    def clients(service: str, account: str, region: str) -> Any:
        with lock:  # the simulation makes every client from one botocore session
            return estate.operator_client(service, account, region)

    def role_clients(service: str, region: str, credentials: Mapping[str, Any]) -> Any:
        with lock:
            return estate.world.client_for(service, credentials=credentials, region=region)

    return check_pairs(
        stacks,
        clients,
        names=estate.names,
        now=estate.world.clock.now,
        query_role_clients=role_clients if read_as_query_role else None,
        **options,
    )


def simulate(
    stacks: list[SynthesizedStack], names: Mapping[str, str], **status_options
) -> SimulationReport:
    """Everything comes from the templates: the accounts, what each one deploys and trusts."""
    estate = SimulatedEstate.start(sorted({stack.account for stack in stacks}), names)
    organization_from_templates(estate, stacks)
    seed_existing_lineage(estate, stacks)
    failures = deploy_all(estate.rollout, stacks)
    estate.rollout.advance(SETTLE_TIME)
    status = check_estate(estate, stacks, **status_options)
    return SimulationReport(failures, estate.denied_calls(), status)


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
