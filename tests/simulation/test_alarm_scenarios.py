"""The alarms on the handlers' own metrics, evaluated as CloudWatch does over what the real
handlers printed in the simulation: each fires when a person must act, and clears once the
cause is gone."""

from __future__ import annotations

from datetime import timedelta

from simulation.estate import SimulatedEstate
from simulation.rollout import RAM_EVENT_TRIGGER
from tests.simulation.scenario_configs import NAMES, PRODUCTION, STAGING, TRAINING

HOUR = timedelta(hours=1)


def hourly_states(estate, stack, alarm: str, hours: int) -> list[str]:
    """The alarm's state at the end of each of the next `hours` hours."""
    states = []
    for _ in range(hours):
        estate.rollout.advance(HOUR)
        [state] = [
            state
            for logical_id, state in estate.rollout.alarm_states(stack.name).items()
            if logical_id.startswith(alarm)
        ]
        states.append(state)
    return states


def test_an_invitation_that_expires_raises_the_expired_invitations_alarm(hub):
    """staging shares with training, whose stack (the acceptor) is deployed only a day later."""
    estate = SimulatedEstate.start([TRAINING, STAGING, PRODUCTION], NAMES)
    producer = hub[STAGING]
    estate.rollout.deploy(producer)
    alarm = "ReconcileMonitoringExpiredInvitationsAlarm"

    # Expired after 12 h; the schedule's next run re-sends it, and the hour with it alarms.
    assert hourly_states(estate, producer, alarm, 14) == ["OK"] * 12 + ["ALARM", "OK"]

    estate.rollout.deploy(hub[TRAINING])
    assert hourly_states(estate, producer, alarm, 24) == ["OK"] * 24  # accepted: no more expiry


def test_consumers_held_back_for_an_invitation_lifetime_raise_the_held_back_alarm(wide_hub):
    """25 consumers, 20 invitations at a time, and none of them deploys its acceptor."""
    estate = SimulatedEstate.start(wide_hub.keys())
    producer = wide_hub[TRAINING]
    estate.rollout.deploy(producer)
    alarm = "ReconcileMonitoringHeldBackAlarm"

    states = hourly_states(estate, producer, alarm, 16)
    # 5 held back from the first run on (RAM's event for the new share starts one at once); at
    # 12 h the expired 20 make room and the 5 are invited first; then 5 others wait. 12 of 13
    # hours holding someone back: ALARM.
    assert states[:11] == ["OK"] * 11 and set(states[11:]) == {"ALARM"}
    assert estate.rollout.reconcile_runs[0].trigger == RAM_EVENT_TRIGGER
    held_back = [
        p.value for p in estate.rollout.metrics.datapoints if p.name == "ConsumersHeldBack"
    ]
    assert set(held_back) == {0, 5}

    for account, stack in wide_hub.items():
        if account != TRAINING:
            estate.rollout.deploy(stack)
    assert hourly_states(estate, producer, alarm, 3)[-1] == "OK"
