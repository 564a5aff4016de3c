"""The acceptor's allow-list in SSM parameters: written by the deployment, read by the handler."""

from __future__ import annotations

from datetime import timedelta

from simulation.rollout import deploy_all
from tests.simulation.scenario_configs import PRODUCTION, REGION, STAGING, TRAINING


def test_deployment_writes_the_parameters_and_destroy_removes_them(estate, mesh3):
    training = mesh3[TRAINING]

    estate.rollout.deploy(training)

    assert estate.world.ssm.names(TRAINING, REGION) == sorted(training.ssm_parameters)
    assert training.accepts_from == (STAGING, PRODUCTION)
    estate.rollout.destroy(training.name)
    assert estate.world.ssm.names(TRAINING, REGION) == []


def test_the_handler_reads_its_allow_list_through_ssm_as_its_own_role(estate, mesh3):
    deploy_all(estate.rollout, list(mesh3.values()))

    reads = [
        call for call in estate.world.call_log if call.service == "ssm" and call.account == TRAINING
    ]
    # Once per execution environment, not once per run.
    assert len(reads) == 1
    assert reads[0].operation == "GetParameters" and reads[0].error_code is None
    assert reads[0].principal_arn.endswith("InvitationAcceptorRoleB30CF0A4")
    assert not estate.denied_calls()


def test_a_parameter_changed_by_hand_stops_the_acceptor_until_the_stack_is_deployed(estate, hub):
    # hub: training only consumes, so nothing runs its acceptor before the producers share.
    training = hub[TRAINING]
    (name,) = training.ssm_parameters
    estate.rollout.deploy(training)
    estate.world.ssm.put(TRAINING, REGION, name, "StringList", "999999999999")
    for producer in (STAGING, PRODUCTION):
        estate.rollout.deploy(hub[producer])

    runs = [run for run in estate.rollout.acceptor_runs if run.stack == training.name]
    assert runs and all(run.summary is None for run in runs)
    assert "does not match ALLOWED_PRODUCERS_SHA256" in runs[-1].error
    assert {s.invitation for s in estate.pair_statuses(list(hub.values()))} == {"PENDING"}

    # An unchanged template does not rewrite it: the operator puts the deployed value back,
    # and the next run (nothing was cached from the failed one) reads it.
    estate.rollout.deploy(training)
    ssm = estate.operator_client("ssm", TRAINING, REGION)
    assert ssm.get_parameters(Names=[name])["Parameters"][0]["Value"] == "999999999999"
    (deployed_type, deployed_value) = training.ssm_parameters[name]
    estate.world.ssm.put(TRAINING, REGION, name, deployed_type, deployed_value)
    estate.rollout.advance(timedelta(hours=1))
    statuses = estate.pair_statuses(list(hub.values()))
    assert len(statuses) == 2 and all(s.readable for s in statuses), statuses
