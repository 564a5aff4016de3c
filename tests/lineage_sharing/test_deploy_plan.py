"""The deploy order: consumers before their producers; cycles are one step."""

from __future__ import annotations

from lineage_sharing.cloud_assembly import (
    SHARE_RESOURCE_TYPE,
    SynthesizedStack,
    read_cloud_assembly,
)
from lineage_sharing.deploy_plan import cdk_command, deploy_command, deploy_steps


def names(step) -> list[str]:
    return [stack.name for stack in step.stacks]


def test_a_consumer_only_hub_comes_first(hub_app):
    steps = deploy_steps(read_cloud_assembly(hub_app.outdir))
    assert [names(s) for s in steps] == [
        ["LineageSharing-governance-eu-west-1"],
        ["LineageSharing-team-a-eu-west-1", "LineageSharing-team-b-eu-west-1"],
    ]
    assert not any(s.cycle for s in steps)


def sharing_stack(name: str, account: str, principals: list[str]) -> SynthesizedStack:
    """Just what the order reads of a template: the share's principals."""
    share = {"Type": SHARE_RESOURCE_TYPE, "Properties": {"Principals": principals}}
    template = {"Resources": {"Share": share} if principals else {}}
    return SynthesizedStack(f"LineageSharing-{name}-us-east-1", account, "us-east-1", template)


def test_a_chain_of_edges_deploys_from_the_last_consumer_back():
    # training -> staging -> production, and research shares with nobody in this region.
    stacks = [
        sharing_stack("training", "111111111111", ["222222222222"]),
        sharing_stack("staging", "222222222222", ["333333333333"]),
        sharing_stack("production", "333333333333", []),
        sharing_stack("research", "444444444444", []),
    ]
    assert [names(s) for s in deploy_steps(stacks)] == [
        ["LineageSharing-production-us-east-1", "LineageSharing-research-us-east-1"],
        ["LineageSharing-staging-us-east-1"],
        ["LineageSharing-training-us-east-1"],
    ]


def test_a_mesh_is_one_step_marked_as_a_cycle(example_app):
    [step] = deploy_steps(read_cloud_assembly(example_app.outdir))
    assert step.cycle and len(step.stacks) == 3


def test_a_deploy_command_builds_only_the_stack_it_deploys(example_app):
    stack = read_cloud_assembly(example_app.outdir)[0]
    command = deploy_command(stack, "config/example.yaml")
    assert command.endswith(f" -c stacks={stack.name}")
    assert command.startswith(f"npx cdk deploy {stack.name} -c config=config/example.yaml")


def test_commands_quote_what_the_shell_would_split():
    command = cdk_command("deploy", "LineageSharing-a-us-east-1", "my configs/a.yaml", "ml admin")
    assert command == (
        "npx cdk deploy LineageSharing-a-us-east-1 -c 'config=my configs/a.yaml' "
        "--profile 'ml admin'"
    )


def test_in_organization_mode_the_management_stack_goes_first(mixed_app):
    from tests.organization_configs import MANAGEMENT_STACK

    steps = deploy_steps(read_cloud_assembly(mixed_app.outdir))
    assert names(steps[0]) == [MANAGEMENT_STACK]
    # The partner is invited by both producers and invites them: a consumer-first cycle.
    assert sorted(n for step in steps[1:] for n in names(step)) == [
        "LineageSharing-partner-us-east-1",
        "LineageSharing-production-us-east-1",
        "LineageSharing-training-us-east-1",
    ]
