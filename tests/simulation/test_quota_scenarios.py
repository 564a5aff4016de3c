"""Beyond RAM's 20 pending invitations: the producer invites the next consumers as soon as RAM
reports an answer in its own account, and its schedule is only the safety net.

Each account's quota is its own, so one producer with 25 consumers (20 invited at once, 5 held
back) shows what every producer of a larger mesh does, at a fraction of the cost of building
and rolling out 50 stacks; bench/scale_bench.py measures 50- to 500-account meshes.
"""

from __future__ import annotations

from datetime import timedelta

from simulation.estate import SimulatedEstate
from simulation.rollout import RAM_EVENT_TRIGGER, without_reconcile_event_rule
from tests.simulation.scenario_configs import TRAINING

CONSUMERS = 25  # the wide_hub fixture


def test_25_consumers_have_access_within_30_minutes_and_the_events_made_it(wide_hub):
    estate = SimulatedEstate.start(wide_hub.keys())

    took = estate.roll_out_until_full_access(list(wide_hub.values()))

    assert took is not None and took < timedelta(minutes=30), took
    runs = [r for r in estate.rollout.reconcile_runs if r.trigger == RAM_EVENT_TRIGGER]
    assert sum(len(r.result["associated"]) for r in runs if r.result) == CONSUMERS - 20
    assert not [r for r in estate.rollout.reconcile_runs if r.error]
    errors = {r.error_code for r in estate.world.call_log if r.error_code}
    assert "ResourceShareLimitExceededException" not in errors
    assert not estate.denied_calls()  # (test_scenarios reads the lineage of such a hub)


def test_without_the_event_rule_the_schedule_alone_takes_hours(wide_hub):
    stacks = [
        without_reconcile_event_rule(stack) if stack.account == TRAINING else stack
        for stack in wide_hub.values()
    ]
    estate = SimulatedEstate.start(wide_hub.keys())

    took = estate.roll_out_until_full_access(stacks)

    assert took is not None and took >= timedelta(minutes=60), took
    assert not [r for r in estate.rollout.reconcile_runs if r.trigger == RAM_EVENT_TRIGGER]
