"""The pure rollout planner: CodePipeline quotas, deploy order in waves, chained pipelines,
the invitations that wait for a later wave, and the teardown order."""

from __future__ import annotations

import copy
import itertools

import pytest

from config.model import Account, StackPlan, parse_config, plan_stacks
from config.rollout import RolloutConfig
from config.rollout_plan import (
    ACTIONS_PER_STACK,
    CODEPIPELINE_QUOTAS,
    PIPELINE_OVERHEAD_ACTIONS,
    PIPELINE_OVERHEAD_STAGES,
    CodePipelineQuotas,
    Step,
    TeardownKind,
    plan_pipelines,
    plan_rollout,
    step_of,
)
from tests.conftest import ROLLOUT

REGION = "us-east-1"


def mesh_plans(count: int, waves: int) -> list[StackPlan]:
    """A full mesh of `count` accounts in one region, spread evenly over `waves` waves.

    Built directly (plan_stacks of a 500-account mesh is the scale issue's to speed up)."""
    accounts = [
        Account.model_validate(
            {
                "id": f"{100000000000 + i}",
                "name": f"account{i:03d}",
                "regions": (REGION,),
                "wave": 1 + i * waves // count,
            }
        )
        for i in range(count)
    ]
    ids = [a.id for a in accounts]
    return [
        StackPlan(a, REGION, tuple(i for i in ids if i != a.id), tuple(i for i in ids if i != a.id))
        for a in accounts
    ]


def stage_actions(stage) -> int:
    return ACTIONS_PER_STACK * len(stage.stacks) + (1 if stage.approval else 0)


# ---------------------------------------------------------------------------- quotas at scale


@pytest.mark.parametrize(
    ("accounts", "pipelines", "stages"),
    [(10, 1, 3), (100, 1, 6), (500, 3, 21)],
    ids=["10-accounts", "100-accounts", "500-accounts"],
)
def test_every_stack_deploys_once_within_codepipeline_quotas(accounts, pipelines, stages):
    plans = mesh_plans(accounts, waves=3)

    planned = plan_pipelines(plans, approvals_before_waves=[2, 3])

    deployed = [p.stack_name for pipeline in planned for p in pipeline.stacks]
    assert sorted(deployed) == sorted(p.stack_name for p in plans)
    assert len(planned) == pipelines
    assert sum(len(p.stages) for p in planned) == stages
    for pipeline in planned:
        # Counted here from the stages, not taken from the plan's own properties.
        actions = PIPELINE_OVERHEAD_ACTIONS + sum(stage_actions(s) for s in pipeline.stages)
        assert actions == pipeline.actions <= CODEPIPELINE_QUOTAS.actions_per_pipeline
        assert PIPELINE_OVERHEAD_STAGES + len(pipeline.stages) <= 50
        for stage in pipeline.stages:
            assert stage_actions(stage) <= CODEPIPELINE_QUOTAS.actions_per_stage


def test_a_stage_is_filled_to_the_action_quota_and_an_approval_costs_one_stack():
    planned = plan_pipelines(mesh_plans(100, waves=2), approvals_before_waves=[2])
    stages = [stage for pipeline in planned for stage in pipeline.stages]

    assert [(s.wave, len(s.stacks), s.approval) for s in stages] == [
        (1, 25, False),  # 50 actions: two per stack
        (1, 25, False),
        (2, 24, True),  # 49 actions: 24 stacks after the approval
        (2, 25, False),
        (2, 1, False),
    ]


def test_beyond_one_pipeline_later_pipelines_start_when_the_previous_one_succeeds():
    planned = plan_pipelines(mesh_plans(500, waves=3), approvals_before_waves=[2, 3])

    assert [p.name for p in planned] == [
        "LineageSharingPipeline",
        "LineageSharingPipeline-2",
        "LineageSharingPipeline-3",
    ]
    assert [p.started_by for p in planned] == [None, *[p.name for p in planned[:-1]]]
    # Waves stay in order across pipelines, so a chain deploys them one after the other.
    waves = [stage.wave for pipeline in planned for stage in pipeline.stages]
    assert waves == sorted(waves)


def test_each_approval_runs_once_before_the_first_stage_of_its_wave():
    planned = plan_pipelines(mesh_plans(500, waves=3), approvals_before_waves=[2, 3])
    stages = [stage for pipeline in planned for stage in pipeline.stages]

    approved = [(s.wave, s.part) for s in stages if s.approval]
    assert approved == [(2, 1), (3, 1)]
    first_of_wave = {w: next(s for s in stages if s.wave == w) for w in (1, 2, 3)}
    assert [first_of_wave[w].approval for w in (1, 2, 3)] == [False, True, True]


def test_smaller_quotas_split_pipelines_earlier():
    quotas = CodePipelineQuotas(
        actions_per_stage=50, stages_per_pipeline=50, actions_per_pipeline=8
    )
    planned = plan_pipelines(mesh_plans(3, waves=1), quotas=quotas)
    # 4 overhead actions + 2 per stack: two stacks fit, the third goes to a second pipeline.
    assert [len(p.stacks) for p in planned] == [2, 1]


# ---------------------------------------------------------------------------- order in a wave


def edges_config(edges: dict[str, list[str]], waves: dict[str, int] | None = None) -> dict:
    names = sorted({*edges, *itertools.chain.from_iterable(edges.values())})
    return {
        "accounts": [
            {
                "id": f"{200000000000 + i}",
                "name": name,
                "region": REGION,
                "wave": (waves or {}).get(name, 1),
            }
            for i, name in enumerate(names)
        ],
        "topology": {"type": "edges", "edges": edges},
        "rollout": copy.deepcopy(ROLLOUT["rollout"]) | {},
    }


def stage_index(plan) -> dict[str, int]:
    return {
        stack.stack_name: index for index, stage in enumerate(plan.stages) for stack in stage.stacks
    }


def test_in_a_wave_consumers_deploy_before_anyone_invites_them():
    # 60 accounts: receivers, sharers and both, enough to split a step over two stages.
    edges = {f"p{i}": [f"c{i % 20}", f"b{i % 20}"] for i in range(20)}
    edges |= {f"b{i}": [f"c{i}", f"b{(i + 1) % 20}"] for i in range(20)}
    raw = edges_config(edges)
    raw["rollout"]["pipeline"]["manual_approval_before_waves"] = []
    config = parse_config(raw)
    plan = plan_rollout(config)
    position = stage_index(plan)

    by_name = {p.stack_name: p for p in plan_stacks(config)}
    for producer in by_name.values():
        for consumer_id in producer.consumers:
            (consumer,) = [p for p in by_name.values() if p.account.id == consumer_id]
            if position[consumer.stack_name] > position[producer.stack_name]:
                # Only stacks that both share and receive can meet a mesh edge in this order;
                # the consumer's schedule accepts within sweep_interval_minutes.
                assert step_of(producer) == step_of(consumer) == Step.PRODUCERS_AND_CONSUMERS
    assert [s.name for s in plan.stages] == [
        "Wave1-Consumers",
        "Wave1-ProducersAndConsumers",
        "Wave1-Producers",
    ]


def test_hub_and_spoke_deploys_the_consuming_hub_before_the_spokes_share():
    config = parse_config(
        {
            "accounts": [
                {"id": "444444444444", "name": "governance", "region": REGION},
                {"id": "555555555555", "name": "team-a", "region": REGION},
                {"id": "666666666666", "name": "team-b", "region": REGION},
            ],
            "topology": {
                "type": "hub-and-spoke",
                "hub": "governance",
                "direction": "spokes-to-hub",
            },
            "rollout": {
                "pipeline": copy.deepcopy(ROLLOUT["rollout"]["pipeline"])
                | {"manual_approval_before_waves": []}
            },
        }
    )
    plan = plan_rollout(config)

    assert [[s.stack_name for s in stage.stacks] for stage in plan.stages] == [
        ["LineageSharing-governance-us-east-1"],
        ["LineageSharing-team-a-us-east-1", "LineageSharing-team-b-us-east-1"],
    ]
    # CDK Pipelines names a single-stage wave after that stage.
    assert [s.codepipeline_stage_name for s in plan.stages] == [
        "governance-us-east-1",
        "Wave1-Producers",
    ]


def test_invitations_to_later_waves_are_listed_as_waiting(rollout_config):
    waits = plan_rollout(rollout_config).waits

    assert {(w.producer_stack, w.consumer_stack) for w in waits} == {
        ("LineageSharing-training-us-east-1", "LineageSharing-production-us-east-1"),
        ("LineageSharing-training-us-east-1", "LineageSharing-audit-us-east-1"),
        ("LineageSharing-staging-us-east-1", "LineageSharing-production-us-east-1"),
    }
    assert {(w.producer_wave, w.consumer_wave) for w in waits} == {(1, 2)}


# ---------------------------------------------------------------------------- targets, teardown


def test_targets_are_every_account_and_region_the_rollout_deploys_to(rollout_config):
    targets = {(t.label, t.region) for t in plan_rollout(rollout_config).targets}

    assert targets == {
        ("training", "us-east-1"),
        ("staging", "us-east-1"),
        ("production", "us-east-1"),
        ("production", "eu-west-1"),
        ("research", "eu-west-1"),
        ("audit", "us-east-1"),
        # the pipeline account: its own region, and eu-west-1 for CDK's support stack
        ("999999999999", "us-east-1"),
        ("999999999999", "eu-west-1"),
    }


def test_teardown_removes_pipelines_then_producers_then_consumers_then_bootstrap_then_policies(
    rollout_config,
):
    steps = plan_rollout(rollout_config).teardown

    # Without a stack_set section (and organization mode) their steps are left out.
    stack_set_steps = {
        TeardownKind.STACK_SET,
        TeardownKind.STACK_SET_ASSETS,
        TeardownKind.ORGANIZATION_SHARING,
    }
    assert [s.kind for s in steps] == [k for k in TeardownKind if k not in stack_set_steps]
    assert steps[0].stacks == ("LineageSharingPipeline", "LineageSharingPipeline-support-eu-west-1")
    producers, consumers = set(steps[1].stacks), set(steps[2].stacks)
    assert consumers == {"LineageSharing-audit-us-east-1", "LineageSharing-production-eu-west-1"}
    assert not producers & consumers
    assert all(p.stack_name in producers | consumers for p in plan_stacks(rollout_config))
    assert steps[3].stacks == ("CDKToolkit",)
    assert len(steps[4].stacks) == len(plan_rollout(rollout_config).targets)
    assert all(step.effect for step in steps)


def test_without_a_rollout_section_teardown_is_the_stacks_and_the_bootstrap(example_config):
    steps = plan_rollout(example_config).teardown

    assert [s.kind for s in steps] == [TeardownKind.PRODUCERS, TeardownKind.BOOTSTRAP]
    assert plan_rollout(example_config).pipelines == ()


def test_an_empty_rollout_section_means_execution_policies_for_cdk_deploy_without_a_pipeline(
    example_config,
):
    config = example_config.model_copy(update={"rollout": RolloutConfig()})
    plan = plan_rollout(config)

    assert plan.pipelines == ()
    assert [t.execution_policy_stack_name for t in plan.targets] == [
        "LineageSharingExecutionPolicy-training-us-east-1",
        "LineageSharingExecutionPolicy-staging-us-east-1",
        "LineageSharingExecutionPolicy-production-us-east-1",
    ]
    assert [s.kind for s in plan.teardown] == [
        TeardownKind.PRODUCERS,
        TeardownKind.BOOTSTRAP,
        TeardownKind.EXECUTION_POLICIES,
    ]
