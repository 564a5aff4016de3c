"""The pipeline's deploy order and the documented teardown order, rolled out in the simulation.

Stacks are deployed stage by stage exactly as config/rollout_plan.py plans them. The templates
do not depend on waves (a wave only decides *when* a stack deploys), so the session's
synthesized stacks serve every plan here."""

from __future__ import annotations

from datetime import timedelta

from config.model import parse_config, plan_stacks
from config.rollout_plan import TeardownKind, plan_pipelines, plan_rollout
from tests.simulation.scenario_configs import PRODUCTION, STAGING, TRAINING, example_with
from tests.simulation.test_scenarios import all_pairs, assert_clean, readable_pairs

HOUR = timedelta(hours=1)
PIPELINE = {
    "account": "999999999999",
    "region": "us-east-1",
    "source": {"codecommit": {"repository": "ml-lineage-sharing", "branch": "main"}},
}
HUB_TOPOLOGY = {"type": "hub-and-spoke", "hub": "training", "direction": "spokes-to-hub"}


def planned_stages(raw: dict, stacks_by_account: dict) -> list[list]:
    """The synthesized stacks, grouped by the pipeline stage that deploys them, in order."""
    by_name = {stack.name: stack for stack in stacks_by_account.values()}
    config = parse_config(raw)
    approvals = config.rollout.pipeline.manual_approval_before_waves
    return [
        [by_name[plan.stack_name] for plan in stage.stacks]
        for pipeline in plan_pipelines(plan_stacks(config), approvals)
        for stage in pipeline.stages
    ]


def deploy_stage(estate, stage) -> None:
    for stack in stage:  # a stage's actions run in parallel; the fake takes them in turn
        outcome = estate.rollout.deploy(stack)
        assert outcome is None or outcome.succeeded, outcome
    estate.rollout.deliver_events()


def test_consumers_first_gets_every_invitation_accepted_by_its_event_at_once(estate, hub):
    stages = planned_stages(
        example_with(topology=HUB_TOPOLOGY, rollout={"pipeline": PIPELINE}), hub
    )
    assert [[s.account for s in stage] for stage in stages] == [[TRAINING], [PRODUCTION, STAGING]]

    for stage in stages:
        deploy_stage(estate, stage)

    # No schedule had to run: the hub's acceptor existed when the spokes invited it.
    assert readable_pairs(estate.pair_statuses(list(hub.values()))) == {
        ("staging", "training"),
        ("production", "training"),
    }
    assert {run.trigger for run in estate.rollout.acceptor_runs} == {"ram_event"}
    assert_clean(estate)


def test_a_wave_held_for_days_by_an_approval_strands_no_consumer(estate, mesh3):
    raw = example_with(rollout={"pipeline": dict(PIPELINE, manual_approval_before_waves=[2])})
    raw["accounts"][2] = dict(raw["accounts"][2], wave=2)  # production waits for the approval
    stages = planned_stages(raw, mesh3)
    assert [[s.account for s in stage] for stage in stages] == [[STAGING, TRAINING], [PRODUCTION]]
    (wait_names,) = {
        frozenset(
            (w.producer_stack, w.consumer_stack) for w in plan_rollout(parse_config(raw)).waits
        )
    }
    assert wait_names == {
        (mesh3[TRAINING].name, mesh3[PRODUCTION].name),
        (mesh3[STAGING].name, mesh3[PRODUCTION].name),
    }

    deploy_stage(estate, stages[0])
    estate.rollout.advance(3 * 24 * HOUR)  # the approval waits three days
    # Meanwhile RAM expired the invitations to production and the reconcile re-sent them.
    reinvited = {a for run in estate.rollout.reconcile_runs for a in run.result["reinvited"]}
    assert reinvited == {PRODUCTION}

    deploy_stage(estate, stages[1])
    estate.rollout.advance(2 * HOUR + timedelta(minutes=5))

    assert readable_pairs(estate.pair_statuses(list(mesh3.values()))) == all_pairs(
        "training", "staging", "production"
    )
    assert_clean(estate)


def test_the_documented_teardown_order_revokes_access_with_the_producers(estate, hub):
    raw = example_with(topology=HUB_TOPOLOGY, rollout={"pipeline": PIPELINE})
    for stage in planned_stages(raw, hub):
        deploy_stage(estate, stage)
    steps = {step.kind: step for step in plan_rollout(parse_config(raw)).teardown}
    assert set(steps[TeardownKind.CONSUMERS].stacks) == {hub[TRAINING].name}

    for name in steps[TeardownKind.PRODUCERS].stacks:
        outcome = estate.rollout.destroy(name)
        assert outcome.succeeded and outcome.polls <= 1
    assert readable_pairs(estate.pair_statuses(list(hub.values()))) == set()

    for name in steps[TeardownKind.CONSUMERS].stacks:
        estate.rollout.destroy(name)
    assert not estate.rollout.deployed
    assert_clean(estate)


def test_tearing_down_a_consumer_only_stack_alone_does_not_revoke_its_access(estate, hub):
    for stage in planned_stages(
        example_with(topology=HUB_TOPOLOGY, rollout={"pipeline": PIPELINE}), hub
    ):
        deploy_stage(estate, stage)
    before = readable_pairs(estate.pair_statuses(list(hub.values())))
    assert before == {("staging", "training"), ("production", "training")}

    estate.rollout.destroy(hub[TRAINING].name)
    estate.rollout.advance(24 * HOUR)

    # The accepted shares stay: a consumer cannot leave them, only their producers can end them.
    assert readable_pairs(estate.pair_statuses(list(hub.values()))) == before
    assert_clean(estate)
