"""The StackSet path in the simulation: StackSets' part (one member stack per account and region
of the target OU, at creation and whenever an account joins; deleted when it leaves, with
RetainStacksOnAccountRemoval false) is played by the test, everything else is the real member
template run by the real handlers against the simulated RAM, SageMaker and IAM.

The member template is the one config/example-stackset.yaml synthesizes; its OU ARN is
replaced by the simulated organization's (which makes its own ids), nothing else."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lineage_sharing.cloud_assembly import SynthesizedStack
from simulation.estate import SimulatedEstate
from tests.stacks.test_stack_set_stack import OU_ARN, REGIONS

MANAGEMENT, TRAINING, PRODUCTION, NEWCOMER = (
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
)
HOUR = timedelta(hours=1)
BOOTSTRAP_CONTEXT = "lineage-sharing-bootstrap"  # the marker context bootstrap_lineage_group makes


@pytest.fixture(scope="module")
def member_template(stackset_app) -> dict:
    (path,) = stackset_app.outdir.glob("LineageSharingStackSetMember*.template.json")
    return json.loads(path.read_text())


class StackSets:
    """What a service-managed StackSet with auto-deployment does with the member template."""

    def __init__(self, estate: SimulatedEstate, template: dict, ou_arn: str) -> None:
        self.estate = estate
        self.template = json.loads(json.dumps(template).replace(OU_ARN, ou_arn))

    @staticmethod
    def instance_name(account: str, region: str) -> str:
        return f"StackSet-LineageSharingMember-{account}-{region}"

    def deploy_instances(self, account: str) -> None:
        for region in REGIONS:
            stack = SynthesizedStack(
                self.instance_name(account, region), account, region, self.template
            )
            outcome = self.estate.rollout.deploy(stack)
            assert outcome is not None and outcome.succeeded, outcome

    def delete_instances(self, account: str) -> None:
        for region in REGIONS:
            outcome = self.estate.rollout.destroy(self.instance_name(account, region))
            assert outcome is None or outcome.succeeded, outcome


def reads(estate: SimulatedEstate, reader: str, owner: str, region: str) -> bool:
    """Can `reader` describe `owner`'s lineage marker context by ARN (the seed's check)?"""
    client = estate.operator_client("sagemaker", reader, region)
    arn = f"arn:aws:sagemaker:{region}:{owner}:context/{BOOTSTRAP_CONTEXT}"
    try:
        client.describe_context(ContextName=arn)
    except client.exceptions.ClientError:
        return False
    return True


def created_stack_set(member_template: dict):
    """An organization with an OU of two accounts, and the StackSet created: an instance in
    every account of the OU, in every region."""
    estate = SimulatedEstate.start([])
    organization = estate.world.create_organization(
        MANAGEMENT, {"ml": [TRAINING, PRODUCTION]}, ram_sharing_enabled=True
    )
    stack_sets = StackSets(estate, member_template, organization.ou_arns["ml"])
    for account in (TRAINING, PRODUCTION):
        stack_sets.deploy_instances(account)
    estate.rollout.advance(HOUR)
    return estate, organization, stack_sets


def test_an_account_that_joins_the_ou_gets_the_member_stack_and_access_with_no_command(
    member_template,
):
    estate, organization, stack_sets = created_stack_set(member_template)
    for region in REGIONS:
        assert reads(estate, TRAINING, PRODUCTION, region)
        assert reads(estate, PRODUCTION, TRAINING, region)
    # No invitation anywhere: the shares name the OU.
    ram = estate.operator_client("ram", PRODUCTION, REGIONS[0])
    assert ram.get_resource_share_invitations()["resourceShareInvitations"] == []

    # Next month: an account is created in the OU; auto-deployment gives it its member stacks.
    estate.world.join_organization(organization, NEWCOMER, organization.ou_arns["ml"])
    assert reads(estate, NEWCOMER, TRAINING, REGIONS[0])  # the OU share covers it at once
    stack_sets.deploy_instances(NEWCOMER)
    estate.rollout.advance(HOUR)
    for region in REGIONS:
        assert reads(estate, TRAINING, NEWCOMER, region)
        assert reads(estate, NEWCOMER, PRODUCTION, region)
    assert estate.denied_calls() == []

    # It leaves the OU (RetainStacksOnAccountRemoval false): StackSets deletes its stacks.
    estate.world.leave_organization(NEWCOMER)
    stack_sets.delete_instances(NEWCOMER)
    estate.rollout.advance(HOUR)
    for region in REGIONS:
        assert not reads(estate, NEWCOMER, TRAINING, region)
        assert not reads(estate, TRAINING, NEWCOMER, region)
        assert reads(estate, TRAINING, PRODUCTION, region)
    assert estate.denied_calls() == []


def test_deleting_the_stack_set_ends_every_members_share(member_template):
    estate, _, stack_sets = created_stack_set(member_template)
    # Teardown step 1 of path 3: the StackSet's stack deletes every instance.
    for account in (TRAINING, PRODUCTION):
        stack_sets.delete_instances(account)
    for region in REGIONS:
        assert not reads(estate, TRAINING, PRODUCTION, region)
        assert not reads(estate, PRODUCTION, TRAINING, region)
    ram = estate.operator_client("ram", TRAINING, REGIONS[0])
    shares = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    assert {share["status"] for share in shares} <= {"DELETING", "DELETED"}
