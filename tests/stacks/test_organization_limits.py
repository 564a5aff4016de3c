"""Organization mode within every deploy-time limit, whatever the size of the organization.

A producer's share has one principal, the organization or OU, however many accounts it stands
for: its template is the same for 3 accounts as for 5,000 in scope. Proved on single stacks
(selective synthesis) of a 500-account org-mode mesh, measured with the limit checker, and by
deploying one producer into a simulated OU of 5,000 accounts, where any of them reads.
"""

from __future__ import annotations

import random

import pytest

import app as cdk_app
from config.model import parse_config, plan_stacks
from lineage_sharing.cloud_assembly import read_cloud_assembly
from lineage_sharing.deploy_limits import measure_assembly
from simulation.estate import SimulatedEstate
from simulation.rollout import deploy_all
from tests.stacks.test_fleet_limits import assert_within_every_limit

MANAGEMENT = "100000000000"
ORGANIZATION_ID = "o-abc123defg"
OU_ID = "ou-ab12-cdef3456"
OU = f"arn:aws:organizations::{MANAGEMENT}:ou/{ORGANIZATION_ID}/{OU_ID}"
REGION = "us-east-1"
IN_SCOPE = 5_000


def member(n: int) -> str:
    return f"{200000000000 + n:012d}"


def org_mesh(accounts: int) -> dict:
    return {
        "sharing": {
            "mode": "organization",
            "organization_arn": f"arn:aws:organizations::{MANAGEMENT}:organization/{ORGANIZATION_ID}",
            "ou_arns": [OU],
            "management_account_region": REGION,
        },
        "accounts": [
            {"id": member(n), "name": f"team-{n}", "region": REGION} for n in range(accounts)
        ],
        "topology": {"type": "mesh"},
        "bootstrap_lineage_group": True,
    }


def first_producer_and_management_stack(raw: dict, outdir):
    """The first account's stack and the management stack, planned from the whole config."""
    config = parse_config(raw)
    plans = [plan for plan in plan_stacks(config) if plan.account.id == member(0)]
    cdk_app.synthesize_in_process(config, outdir, plans=plans, organization_stack=True)
    return {stack.account: stack for stack in read_cloud_assembly(outdir)}


@pytest.fixture(scope="module")
def producer_of_500(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out.org500")
    return outdir, first_producer_and_management_stack(org_mesh(500), outdir)


@pytest.fixture(scope="module")
def producer_of_3(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("cdk.out.org3")
    return outdir, first_producer_and_management_stack(org_mesh(3), outdir)


def test_an_org_mode_producer_in_a_500_account_mesh_is_within_every_limit(producer_of_500):
    outdir, stacks = producer_of_500
    stack = stacks[member(0)]
    assert stack.shares_with == (OU,)
    assert not stack.acceptor_event_patterns  # in the organization: nothing to accept
    # Both stacks: the producer and the management account's.
    assert {m.stack for m in measure_assembly(outdir)} == {s.name for s in stacks.values()}
    assert_within_every_limit(measure_assembly(outdir))


def test_the_template_does_not_grow_with_the_accounts_in_scope(producer_of_500, producer_of_3):
    sizes = [
        {(m.limit, m.subject): m.size for m in measure_assembly(outdir)}
        for outdir, _ in (producer_of_3, producer_of_500)
    ]
    assert sizes[0] == sizes[1]


def test_one_producer_reaches_an_ou_of_5000_accounts(producer_of_3):
    _, stacks = producer_of_3
    members = [member(n) for n in range(IN_SCOPE)]
    estate = SimulatedEstate.start([MANAGEMENT])
    estate.world.create_organization(
        MANAGEMENT, {"ml": members}, organization_id=ORGANIZATION_ID, ou_ids={"ml": OU_ID}
    )
    assert deploy_all(estate.rollout, list(stacks.values())) == []

    share = estate.rollout.deployed[stacks[member(0)].name].share_physical_id
    associations = estate.operator_client("ram", member(0), REGION).get_resource_share_associations(
        associationType="PRINCIPAL", resourceShareArns=[share]
    )["resourceShareAssociations"]
    assert [(a["associatedEntity"], a["status"]) for a in associations] == [(OU, "ASSOCIATED")]
    context = estate.operator_client("sagemaker", member(0), REGION).list_contexts()[
        "ContextSummaries"
    ][0]["ContextArn"]
    for reader in random.Random(9).sample(members[1:], 5):
        sagemaker = estate.operator_client("sagemaker", reader, REGION)
        assert sagemaker.describe_context(ContextName=context)["ContextArn"] == context
    assert estate.denied_calls() == []
