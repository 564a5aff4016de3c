"""End-to-end scenarios: the synthesized stacks rolled out into the simulated accounts.

The real handlers run against simulated RAM and SageMaker, acting as the stacks' own roles
(every call judged by the synthesized IAM policies), with events built from the templates.
Success is what the seed notebook checked by hand: the consumer reads the producer's lineage.
"""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

from lineage_sharing.status import PairStatus
from simulation.estate import SimulatedEstate
from simulation.rollout import RAM_EVENT_TRIGGER, SCHEDULE_TRIGGER, deploy_all
from tests.simulation.scenario_configs import (
    OUTSIDER,
    PRODUCTION,
    REGION,
    RESEARCH,
    STAGING,
    TRAINING,
    own_lineage_group,
)

HOUR = timedelta(hours=1)


def readable_pairs(statuses: list[PairStatus]) -> set[tuple[str, str]]:
    return {(s.producer.split()[0], s.consumer.split()[0]) for s in statuses if s.readable}


def all_pairs(*names: str) -> set[tuple[str, str]]:
    return {(p, c) for p, c in itertools.permutations(names, 2)}


def share_arns(estate, stacks) -> dict[str, str | None]:
    return {
        account: estate.rollout.deployed[stack.name].share_physical_id
        for account, stack in stacks.items()
        if stack.name in estate.rollout.deployed
    }


def assert_clean(estate):
    failures = [o for o in estate.rollout.outcomes if not o.succeeded]
    assert not failures, failures
    assert not estate.denied_calls()


# ---------------------------------------------------------------------------- the seed's story


def test_three_account_mesh_every_consumer_reads_every_producer(estate, mesh3):
    stacks = list(mesh3.values())

    assert deploy_all(estate.rollout, stacks) == []
    estate.rollout.advance(HOUR)

    statuses = estate.pair_statuses(stacks)
    assert len(statuses) == 6
    assert readable_pairs(statuses) == all_pairs("training", "staging", "production")
    assert {s.invitation for s in statuses} == {"ACCEPTED"}
    assert_clean(estate)


def test_lineage_entities_created_after_sharing_are_readable_too(estate, mesh3):
    deploy_all(estate.rollout, list(mesh3.values()))
    estate.rollout.advance(HOUR)
    producer = estate.operator_client("sagemaker", STAGING, REGION)
    run = producer.create_context(
        ContextName="churn-model-evaluation",
        ContextType="ModelEvaluation",
        Source={"SourceUri": "s3://staging-ml/evaluations/churn"},
    )

    consumer = estate.operator_client("sagemaker", TRAINING, REGION)
    described = consumer.describe_context(ContextName=run["ContextArn"])

    assert described["ContextArn"] == run["ContextArn"]
    # A bare name resolves in the caller's own account, never in the producer's.
    with pytest.raises(consumer.exceptions.ResourceNotFound):
        consumer.describe_context(ContextName="churn-model-evaluation")


def test_throttling_server_errors_and_empty_pages_do_not_stop_the_rollout(estate, mesh3):
    faults = estate.world.faults
    faults.fail("CreateResourceShare", "ServiceUnavailableException", times=1)
    faults.fail("AcceptResourceShareInvitation", "ThrottlingException", times=3)
    faults.fail("ListPendingInvitationResources", "ServerInternalException", times=1)
    faults.fail("GetResourceShareAssociations", "ThrottlingException", times=2)
    faults.empty_page("GetResourceShareInvitations", times=4)
    faults.empty_page("ListLineageGroups", times=2)
    stacks = list(mesh3.values())

    assert deploy_all(estate.rollout, stacks) == []
    estate.rollout.advance(HOUR)

    assert readable_pairs(estate.pair_statuses(stacks)) == all_pairs(
        "training", "staging", "production"
    )
    # Every fault was met: botocore retried the errors, the handlers paged past the empty pages.
    assert faults.unused() == []
    retried = {r.operation for r in estate.world.call_log if r.error_code}
    assert retried == {
        "CreateResourceShare",
        "AcceptResourceShareInvitation",
        "ListPendingInvitationResources",
        "GetResourceShareAssociations",
    }
    assert_clean(estate)


# ---------------------------------------------------------------------------- timing


def test_consumer_deployed_after_the_producer_is_caught_up_by_its_schedule(estate, hub):
    for account in (STAGING, PRODUCTION):
        estate.rollout.deploy(hub[account])
    estate.rollout.advance(2 * HOUR)
    consumer = hub[TRAINING]

    estate.rollout.deploy(consumer)  # the invitations' events went out before its rule existed
    assert readable_pairs(estate.pair_statuses(list(hub.values()))) == set()

    estate.rollout.advance(consumer.acceptor_sweep_interval)

    assert readable_pairs(estate.pair_statuses(list(hub.values()))) == {
        ("staging", "training"),
        ("production", "training"),
    }
    # The schedule found both; RAM's "accepted" events then woke the acceptor with nothing to do.
    first, *rest = estate.rollout.acceptor_runs
    assert (first.trigger, first.summary["accepted"]) == ("schedule", 2)
    assert all(run.trigger == "ram_event" and run.summary["accepted"] == 0 for run in rest)
    assert_clean(estate)


def test_ram_event_gets_the_invitation_accepted_without_waiting_for_the_schedule(estate, hub):
    estate.rollout.deploy(hub[TRAINING])
    estate.rollout.deploy(hub[STAGING])

    statuses = estate.pair_statuses([hub[TRAINING], hub[STAGING]])

    assert readable_pairs(statuses) == {("staging", "training")}
    assert {run.trigger for run in estate.rollout.acceptor_runs} == {"ram_event"}
    assert_clean(estate)


def test_an_event_that_never_arrives_is_made_up_for_by_the_next_sweep(estate, hub):
    estate.rollout.drop_events = lambda event: True
    estate.rollout.deploy(hub[TRAINING])
    estate.rollout.deploy(hub[STAGING])
    assert estate.rollout.dropped_events
    assert readable_pairs(estate.pair_statuses([hub[TRAINING], hub[STAGING]])) == set()

    estate.rollout.advance(hub[TRAINING].acceptor_sweep_interval)

    assert readable_pairs(estate.pair_statuses([hub[TRAINING], hub[STAGING]])) == {
        ("staging", "training")
    }


def test_invitation_that_expired_before_the_consumer_existed_is_sent_again_and_accepted(
    estate, hub
):
    producer, consumer = hub[STAGING], hub[TRAINING]
    estate.rollout.deploy(producer)
    share_before = estate.rollout.deployed[producer.name].share_physical_id
    ram = estate.operator_client("ram", TRAINING, REGION)

    estate.rollout.advance(12 * HOUR - timedelta(minutes=1))
    [pending] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert pending["status"] == "PENDING"

    # RAM invitations expire after 12 hours: the producer's hourly reconcile disassociates the
    # principal, and associates it again on its next run (a fresh invitation).
    estate.rollout.advance(HOUR + timedelta(minutes=2))
    reinvited = [run for run in estate.rollout.reconcile_runs if run.result["reinvited"]]
    assert [run.result["reinvited"] for run in reinvited] == [[TRAINING]]
    invitations = ram.get_resource_share_invitations()["resourceShareInvitations"]
    assert "PENDING" in {invitation["status"] for invitation in invitations}

    estate.rollout.deploy(consumer)
    estate.rollout.advance(consumer.acceptor_sweep_interval)

    [status] = estate.pair_statuses([producer, consumer])
    assert (status.invitation, status.readable) == ("ACCEPTED", True)
    assert estate.rollout.deployed[producer.name].share_physical_id == share_before  # not replaced
    assert_clean(estate)


# ---------------------------------------------------------------------------- config changes


def test_adding_an_account_extends_the_mesh_without_replacing_any_share(estate, mesh3, mesh4):
    deploy_all(estate.rollout, list(mesh3.values()))
    estate.rollout.advance(HOUR)
    before = share_arns(estate, mesh3)

    assert deploy_all(estate.rollout, list(mesh4.values())) == []
    estate.rollout.advance(HOUR)

    statuses = estate.pair_statuses(list(mesh4.values()))
    assert readable_pairs(statuses) == all_pairs("training", "staging", "production", "research")
    assert {a: arn for a, arn in share_arns(estate, mesh4).items() if a != RESEARCH} == before
    assert_clean(estate)


def test_removing_an_account_takes_its_access_away_both_ways(estate, mesh3, mesh2):
    deploy_all(estate.rollout, list(mesh3.values()))
    estate.rollout.advance(HOUR)
    production_context = estate.operator_client("sagemaker", PRODUCTION, REGION).list_contexts()[
        "ContextSummaries"
    ][0]["ContextArn"]
    training_context = estate.operator_client("sagemaker", TRAINING, REGION).list_contexts()[
        "ContextSummaries"
    ][0]["ContextArn"]
    before = share_arns(estate, mesh2)

    deploy_all(estate.rollout, list(mesh2.values()))
    estate.rollout.destroy(mesh3[PRODUCTION].name)

    assert readable_pairs(estate.pair_statuses(list(mesh2.values()))) == all_pairs(
        "training", "staging"
    )
    assert share_arns(estate, mesh2) == before
    removed = estate.operator_client("sagemaker", PRODUCTION, REGION)
    with pytest.raises(removed.exceptions.ClientError, match="AccessDenied"):
        removed.describe_context(ContextName=training_context)
    remaining = estate.operator_client("sagemaker", TRAINING, REGION)
    with pytest.raises(remaining.exceptions.ClientError, match="AccessDenied"):
        remaining.describe_context(ContextName=production_context)
    assert_clean(estate)


# ---------------------------------------------------------------------------- tear-down


@pytest.mark.parametrize("order", list(itertools.permutations([TRAINING, STAGING, PRODUCTION])))
def test_tear_down_in_any_order_leaves_no_share_and_never_hangs(estate, mesh3, order):
    deploy_all(estate.rollout, list(mesh3.values()))
    estate.rollout.advance(HOUR)

    outcomes = [estate.rollout.destroy(mesh3[account].name) for account in order]

    assert all(o.succeeded and o.request_type == "Delete" for o in outcomes), outcomes
    assert all(o.polls <= 1 for o in outcomes)
    for account in order:
        ram = estate.operator_client("ram", account, REGION)
        shares = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
        assert shares and {share["status"] for share in shares} <= {"DELETING", "DELETED"}
    # No consumer can still read any producer.
    assert not readable_pairs(estate.pair_statuses(list(mesh3.values())))

    assert_clean(estate)


# ---------------------------------------------------------------------------- malice and mistakes


def share_by_operator(estate, owner: str, name: str, resource_arns: list[str]) -> str:
    ram = estate.operator_client("ram", owner, REGION)
    share = ram.create_resource_share(
        name=name, resourceArns=resource_arns, principals=[TRAINING], allowExternalPrincipals=True
    )
    return share["resourceShare"]["resourceShareArn"]


def lineage_group_of(estate, account: str) -> str:
    sagemaker = estate.operator_client("sagemaker", account, REGION)
    # ListContexts lists only the caller's own contexts: none yet means no lineage group yet.
    if not sagemaker.list_contexts()["ContextSummaries"]:
        sagemaker.create_context(
            ContextName="some-pipeline", ContextType="Pipeline", Source={"SourceUri": "s3://x/y"}
        )
    return own_lineage_group(sagemaker, account)


def invitation_status(estate, share_arn: str) -> str:
    ram = estate.operator_client("ram", TRAINING, REGION)
    [invitation] = ram.get_resource_share_invitations(resourceShareArns=[share_arn])[
        "resourceShareInvitations"
    ]
    return invitation["status"]


@pytest.fixture
def deployed_mesh(estate, mesh3):
    deploy_all(estate.rollout, list(mesh3.values()))
    estate.rollout.advance(HOUR)
    return estate


def skip_reasons(caplog) -> set[str]:
    return {r.reason for r in caplog.records if getattr(r, "action", None) == "skip"}


def test_lineage_shared_by_an_account_nobody_configured_is_never_accepted(deployed_mesh, caplog):
    caplog.set_level(logging.INFO, logger="invitation_acceptor")
    estate = deployed_mesh
    share = share_by_operator(
        estate, OUTSIDER, "free-lineage", [lineage_group_of(estate, OUTSIDER)]
    )

    estate.rollout.advance(2 * HOUR)  # its RAM event and two sweeps

    assert invitation_status(estate, share) == "PENDING"
    skipped = [
        run for run in estate.rollout.acceptor_runs if run.summary and run.summary["skipped"]
    ]
    assert skipped and all(run.stack == "LineageSharing-training-us-east-1" for run in skipped)
    assert skip_reasons(caplog) == {"foreign_sender"}
    assert_clean(estate)


def test_a_configured_producer_sharing_something_other_than_lineage_is_not_accepted(
    deployed_mesh, caplog
):
    caplog.set_level(logging.INFO, logger="invitation_acceptor")
    estate = deployed_mesh
    subnet = f"arn:aws:ec2:{REGION}:{STAGING}:subnet/subnet-0a1b2c3d4e5f67890"
    estate.world.ram.register_resource(subnet)
    share = share_by_operator(estate, STAGING, "network", [subnet])

    estate.rollout.advance(2 * HOUR)

    assert invitation_status(estate, share) == "PENDING"
    assert skip_reasons(caplog) == {"not_lineage_group"}
    assert_clean(estate)


def test_lineage_shared_together_with_another_resource_is_not_accepted(deployed_mesh, caplog):
    caplog.set_level(logging.INFO, logger="invitation_acceptor")
    estate = deployed_mesh
    database = f"arn:aws:glue:{REGION}:{STAGING}:database/customer_features"
    estate.world.ram.register_resource(database)
    share = share_by_operator(
        estate, STAGING, "lineage-and-more", [lineage_group_of(estate, STAGING), database]
    )

    estate.rollout.advance(2 * HOUR)

    assert invitation_status(estate, share) == "PENDING"
    assert skip_reasons(caplog) == {"mixed_resources"}
    # The regular share still works: the mixed one changed nothing.
    assert ("staging", "training") in readable_pairs(
        estate.pair_statuses([estate.rollout.deployed[n].stack for n in estate.rollout.deployed])
    )
    assert_clean(estate)


# ---------------------------------------------------------------------------- between deployments


def test_more_consumers_than_the_invitation_quota_all_get_access(wide_hub):
    producer = wide_hub[TRAINING]
    consumers = [stack for account, stack in wide_hub.items() if account != TRAINING]
    estate = SimulatedEstate.start(wide_hub.keys())

    # The producer first: its Create must not wait for 25 consumers that do not exist yet.
    outcome = estate.rollout.deploy(producer)
    assert outcome.succeeded and outcome.polls <= 2
    [create] = [r for r in estate.world.call_log if r.operation == "CreateResourceShare"]
    assert len(create.params["principals"]) == 20
    for consumer in consumers:
        estate.rollout.deploy(consumer)
    estate.rollout.advance(3 * HOUR)  # sweeps accept; the producer's schedule invites the rest

    statuses = estate.pair_statuses(list(wide_hub.values()))
    assert len(statuses) == 25 and all(s.readable for s in statuses)
    errors = {r.error_code for r in estate.world.call_log if r.error_code}
    assert "ResourceShareLimitExceededException" not in errors
    assert any(run.result and run.result["associated"] for run in estate.rollout.reconcile_runs)
    assert_clean(estate)


def test_a_scheduled_run_during_an_update_never_undoes_it(deployed_mesh, mesh2):
    estate = deployed_mesh
    training = estate.rollout.deployed[mesh2[TRAINING].name]
    # Due while the custom resource's update is being polled (its first retry comes at 15 s).
    training.next_runs["reconcile"] = estate.world.clock.now() + timedelta(seconds=5)

    outcome = estate.rollout.deploy(mesh2[TRAINING])  # production no longer a consumer

    assert outcome.succeeded
    [during] = [run for run in estate.rollout.reconcile_runs if run.stack == training.stack.name][
        -1:
    ]
    # The template and the share both say "without production" by then: the run works towards
    # the new configuration, never back to the old one.
    assert during.error == "" and PRODUCTION not in during.result.get("associated", [])
    reconcile_role = training.stack.handler_role_logical_id("share_manager.handler.reconcile")
    assert not [
        r
        for r in estate.world.call_log
        if r.principal_arn.endswith(reconcile_role)
        and r.operation == "AssociateResourceShare"
        and PRODUCTION in r.params["principals"]
    ]
    estate.rollout.advance(2 * HOUR)  # later runs agree with the share
    statuses = estate.pair_statuses(
        [mesh2[TRAINING], estate.rollout.deployed["LineageSharing-production-us-east-1"].stack]
    )
    assert ("training", "production") not in readable_pairs(statuses)
    assert estate.rollout.reconcile_runs[-1].result["in_sync"]


def test_a_failed_update_rolls_back_and_the_schedule_keeps_the_old_configuration(
    deployed_mesh, mesh3, mesh2
):
    estate = deployed_mesh
    estate.world.faults.fail("DisassociateResourceShare", "OperationNotPermittedException")

    outcome = estate.rollout.deploy(mesh2[TRAINING])

    assert not outcome.succeeded and "OperationNotPermitted" in outcome.reason
    deployed = estate.rollout.deployed[mesh3[TRAINING].name]
    assert deployed.stack is mesh3[TRAINING]  # UPDATE_ROLLBACK_COMPLETE: the old template
    estate.rollout.advance(HOUR)
    assert estate.rollout.reconcile_runs[-1].result["in_sync"]
    assert readable_pairs(estate.pair_statuses(list(mesh3.values()))) == all_pairs(
        "training", "staging", "production"
    )


def test_a_share_deleted_behind_cloudformations_back_raises_the_alarm_and_a_redeploy_heals(
    deployed_mesh, mesh3, retagged
):
    estate = deployed_mesh
    share = estate.rollout.deployed[mesh3[TRAINING].name].share_physical_id
    estate.operator_client("ram", TRAINING, REGION).delete_resource_share(resourceShareArn=share)

    estate.rollout.advance(HOUR)

    # RAM's event about the deletion and the next scheduled run both report it.
    failed = [r for r in estate.rollout.reconcile_runs if r.error]
    assert {r.trigger for r in failed} == {RAM_EVENT_TRIGGER, SCHEDULE_TRIGGER}
    assert all("consumers have lost access" in r.error for r in failed)
    assert ("training", "staging") not in readable_pairs(
        estate.pair_statuses([mesh3[TRAINING], mesh3[STAGING]])
    )

    outcome = estate.rollout.deploy(retagged[TRAINING])  # "any changed property"
    estate.rollout.advance(HOUR)

    assert outcome.succeeded and outcome.physical_resource_id != share
    assert ("training", "staging") in readable_pairs(
        estate.pair_statuses([retagged[TRAINING], mesh3[STAGING]])
    )
