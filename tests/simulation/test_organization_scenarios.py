"""Organization mode end to end: the synthesized org-mode stacks rolled out into a simulated
organization. The management stack enables RAM sharing with AWS Organizations, producers share
with the OU, and consumers read with no invitation at all; membership of the OU, not the
templates, decides who reads. Every call is judged by the synthesized IAM policies."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from lineage_sharing.cloud_assembly import read_cloud_assembly
from lineage_sharing.status import PairStatus
from simulation.estate import SimulatedEstate
from simulation.rollout import deploy_all
from tests.organization_configs import MANAGEMENT, PARTNER, RAW, in_organization_only
from tests.simulation.scenario_configs import REGION, stacks_of

TRAINING, PRODUCTION = "222222222222", "333333333333"
NEWCOMER = "444444444444"  # joins the OU after the rollout; no config names it
NAMES = {
    TRAINING: "training",
    PRODUCTION: "production",
    PARTNER: "partner",
    MANAGEMENT: "management",
}
ORGANIZATION_ID = RAW["sharing"]["organization_arn"].rsplit("/", 1)[1]
OU_ARN = RAW["sharing"]["ou_arns"][0]
HOUR = timedelta(hours=1)


@pytest.fixture(scope="session")
def in_org(synthesize_config):
    return stacks_of(synthesize_config(in_organization_only(RAW)))


@pytest.fixture(scope="session")
def mixed(synthesize_config):
    return stacks_of(synthesize_config(RAW))


def organization_estate(members=(TRAINING, PRODUCTION), elsewhere=()):
    """The config's organization and OU ("ml"); `elsewhere`: members of another OU."""
    estate = SimulatedEstate.start([MANAGEMENT, TRAINING, PRODUCTION, PARTNER, NEWCOMER], NAMES)
    organization = estate.world.create_organization(
        MANAGEMENT,
        {"ml": list(members), "sandbox": list(elsewhere)},
        organization_id=ORGANIZATION_ID,
        ou_ids={"ml": OU_ARN.rsplit("/", 1)[1]},
    )
    assert organization.ou_arns["ml"] == OU_ARN  # the OU the config names
    return estate, organization


def readable(statuses: list[PairStatus]) -> set[tuple[str, str]]:
    return {(s.producer.split()[0], s.consumer.split()[0]) for s in statuses if s.readable}


def pairs(*names: str) -> set[tuple[str, str]]:
    return set(itertools.permutations(names, 2))


def invitations(estate) -> int:
    return sum(
        record.operation == "AcceptResourceShareInvitation" for record in estate.world.call_log
    ) + len(estate.world.ram._records.invitations)


def assert_clean(estate):
    assert [o for o in estate.rollout.outcomes if not o.succeeded] == []
    assert estate.denied_calls() == []


def test_an_org_mode_mesh_is_readable_with_zero_invitations(in_org):
    estate, organization = organization_estate()
    stacks = list(in_org.values())

    assert deploy_all(estate.rollout, stacks) == []

    assert organization.ram_sharing_enabled  # by the management stack, as its own role
    statuses = estate.pair_statuses(stacks)
    assert readable(statuses) == pairs("training", "production")
    assert {(s.principal_association, s.invitation, s.policy_names_consumer) for s in statuses} == {
        ("ASSOCIATED", "none", True)
    }
    assert invitations(estate) == 0
    assert not any(stack.acceptor_event_patterns for stack in stacks)
    assert_clean(estate)


def test_an_account_joining_the_ou_gains_access_with_no_template_change(in_org):
    estate, organization = organization_estate(members=(TRAINING,), elsewhere=(PRODUCTION,))
    stacks = list(in_org.values())
    assert deploy_all(estate.rollout, stacks) == []
    # production is in another OU: it reads nothing, though its own share reaches training.
    assert readable(estate.pair_statuses(stacks)) == {("production", "training")}
    training_context = estate.rollout.deployed[in_org[TRAINING].name]  # deployed, unchanged

    organization.move(PRODUCTION, OU_ARN)  # from the sandbox OU into the shared one
    estate.world.join_organization(organization, NEWCOMER, OU_ARN)  # new to the organization

    assert readable(estate.pair_statuses(stacks)) == pairs("training", "production")
    # An account no config names reads too: the OU is the principal, not a list of accounts.
    probe = estate.operator_client("sagemaker", TRAINING, REGION).list_contexts()[
        "ContextSummaries"
    ][0]["ContextArn"]
    newcomer = estate.operator_client("sagemaker", NEWCOMER, REGION)
    assert newcomer.describe_context(ContextName=probe)["ContextArn"] == probe
    assert estate.rollout.deployed[in_org[TRAINING].name] is training_context
    assert len([o for o in estate.rollout.outcomes if o.request_type == "Update"]) == 0
    assert_clean(estate)


def test_an_account_leaving_the_ou_or_the_organization_loses_access(in_org):
    estate, organization = organization_estate()
    stacks = list(in_org.values())
    assert deploy_all(estate.rollout, stacks) == []
    assert readable(estate.pair_statuses(stacks)) == pairs("training", "production")

    organization.move(PRODUCTION, None)  # out of the OU, still in the organization
    statuses = {
        (s.producer.split()[0], s.consumer.split()[0]): s for s in estate.pair_statuses(stacks)
    }
    assert not statuses[("training", "production")].readable
    assert (
        f"check that production (333333333333) is in {OU_ARN}"
        in statuses[("training", "production")].fix
    )
    assert statuses[("production", "training")].readable  # its own share still reaches the OU

    organization.remove(TRAINING)  # leaves the organization: its OU share reaches nobody
    assert readable(estate.pair_statuses(stacks)) == set()


def test_producers_cannot_share_with_the_ou_before_the_management_stack_ran(in_org):
    estate, organization = organization_estate()
    producer = in_org[TRAINING]

    outcome = estate.rollout.deploy(producer)

    assert not outcome.succeeded
    assert "OperationNotPermittedException" in outcome.reason
    assert "EnableSharingWithAwsOrganization" in outcome.reason
    management = next(s for s in in_org.values() if s.enables_organization_sharing)
    assert estate.rollout.deploy(management).succeeded
    assert estate.rollout.deploy(producer).succeeded
    # Deploying the management stack again (same template) and destroying it change nothing.
    estate.rollout.deploy(management)
    assert estate.rollout.destroy(management.name).succeeded
    assert organization.ram_sharing_enabled
    assert estate.denied_calls() == []


def test_a_mixed_config_invites_only_the_account_outside_the_organization(mixed):
    estate, _ = organization_estate()
    stacks = list(mixed.values())

    assert deploy_all(estate.rollout, stacks) == []
    estate.rollout.advance(HOUR)

    statuses = estate.pair_statuses(stacks)
    assert readable(statuses) == pairs("training", "production", "partner")
    by_pair = {(s.producer.split()[0], s.consumer.split()[0]): s.invitation for s in statuses}
    assert by_pair[("training", "production")] == "none"
    assert {by_pair[p] for p in by_pair if "partner" in p} == {"ACCEPTED"}
    sent = estate.world.ram._records.invitations.values()
    assert sorted((i.sender, i.receiver) for i in sent) == sorted(
        [(TRAINING, PARTNER), (PRODUCTION, PARTNER), (PARTNER, TRAINING), (PARTNER, PRODUCTION)]
    )
    assert_clean(estate)


def test_ram_refuses_an_outside_account_on_a_share_without_external_principals(in_org):
    estate, _ = organization_estate()
    assert deploy_all(estate.rollout, list(in_org.values())) == []
    share_arn = estate.rollout.deployed[in_org[TRAINING].name].share_physical_id
    with pytest.raises(ClientError) as refused:
        estate.operator_client("ram", TRAINING, REGION).associate_resource_share(
            resourceShareArn=share_arn, principals=[PARTNER]
        )
    assert refused.value.response["Error"]["Code"] == "OperationNotPermittedException"


def test_switching_an_invitation_mesh_to_organization_mode_updates_the_shares_in_place(
    synthesize_config,
):
    from tests.simulation.scenario_configs import EXAMPLE, example_with

    training, staging, production = (a["id"] for a in EXAMPLE["accounts"])
    sharing = {
        "mode": "organization",
        # training's account manages the organization: it may be a listed account too. It is in
        # no OU, so the whole organization is the principal (an OU would not reach it).
        "organization_arn": f"arn:aws:organizations::{training}:organization/{ORGANIZATION_ID}",
        "management_account_region": REGION,
    }
    before = stacks_of(synthesize_config(EXAMPLE))
    # By name: training's account holds the management stack too.
    after = read_cloud_assembly(synthesize_config(example_with(sharing=sharing)).outdir)
    estate = SimulatedEstate.start(
        [training, staging, production],
        {training: "training", staging: "staging", production: "production"},
    )
    estate.world.create_organization(
        training,
        {"ml": [staging, production]},
        organization_id=ORGANIZATION_ID,
        ou_ids={"ml": "ou-ab12-cdef3456"},
    )
    assert deploy_all(estate.rollout, list(before.values())) == []
    estate.rollout.advance(HOUR)
    shares = {a: estate.rollout.deployed[s.name].share_physical_id for a, s in before.items()}

    stacks = after
    assert deploy_all(estate.rollout, stacks) == []

    assert {a: estate.rollout.deployed[before[a].name].share_physical_id for a in before} == shares
    ram = estate.world.ram._records
    for arn in shares.values():
        assert ram.shares[arn].allow_external_principals is False
        live = [
            a.entity
            for a in ram.principal_associations(ram.shares[arn])
            if a.is_live(estate.world.clock.now())
        ]
        assert live == [sharing["organization_arn"]]
    assert readable(estate.pair_statuses(stacks)) == pairs("training", "staging", "production")
    assert_clean(estate)
