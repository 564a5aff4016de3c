"""What real accounts do that a happy rollout never shows, end to end in the simulation.

Missing owning-service permissions, a lineage group RAM fails to share, a share gone FAILED,
creates that are retried or time out, consumers whose association keeps failing or who said
no, SageMaker slower than the Provider's 30 minutes, and two acceptor runs at once. Each
scenario runs the real handlers against the fakes, acting as the synthesized roles.
"""

from __future__ import annotations

import copy
import logging
from datetime import timedelta

import pytest

from invitation_acceptor import handler as acceptor
from invitation_acceptor.decisions import Trigger
from lineage_sharing.cloud_assembly import (
    ACCEPTOR_HANDLER,
    SHARE_RECONCILE_HANDLER,
    SynthesizedStack,
)
from simulation.iam import simulated_role_arn
from simulation.rollout import deploy_all
from tests.simulation.scenario_configs import PRODUCTION, REGION, STAGING, TRAINING

HOUR = timedelta(hours=1)
LIVE = ("ACTIVE", "PENDING")


def group_of(account: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{account}:lineage-group/sagemaker-default-lineage-group"


def live_shares(estate, account: str) -> list[str]:
    ram = estate.operator_client("ram", account, REGION)
    shares = ram.get_resource_shares(resourceOwner="SELF")["resourceShares"]
    return [share["resourceShareArn"] for share in shares if share["status"] in LIVE]


def readable(estate, producer: SynthesizedStack, consumer: SynthesizedStack) -> bool:
    [status] = estate.pair_statuses([producer, consumer])
    return status.readable


def calls(estate, operation: str, *, by_role: str | None = None, principal: str | None = None):
    return [
        record
        for record in estate.world.call_log
        if record.operation == operation
        and (by_role is None or record.principal_arn.endswith(by_role))
        and (principal is None or principal in record.params.get("principals", []))
    ]


def without_statement(stack: SynthesizedStack, sid: str) -> SynthesizedStack:
    """The stack as it was synthesized before a grant existed."""
    template = copy.deepcopy(stack.template)
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy":
            document = resource["Properties"]["PolicyDocument"]
            document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != sid]
    return SynthesizedStack(stack.name, stack.account, stack.region, template)


# ---------------------------------------------------------------------------- owning service


def test_without_the_lineage_group_policy_permissions_ram_refuses_to_share(estate, hub):
    stale = without_statement(hub[STAGING], "LetRamMaintainTheLineageGroupPolicy")

    outcome = estate.rollout.deploy(stale)

    assert not outcome.succeeded
    assert "AccessDenied" in outcome.reason
    assert "sagemaker:CreateLineageGroupPolicy" in outcome.reason
    assert live_shares(estate, STAGING) == []  # refused before anything changed


# ---------------------------------------------------------------------------- resource association


def test_a_lineage_group_ram_fails_to_share_fails_the_stack_with_rams_message(estate, hub):
    message = "SageMaker did not accept the resource policy for this lineage group."
    estate.world.ram.next_associations_end_as(group_of(STAGING), "FAILED", message)

    outcome = estate.rollout.deploy(hub[STAGING])

    assert not outcome.succeeded
    assert "its resource association is FAILED" in outcome.reason and message in outcome.reason
    assert outcome.rollback is not None and outcome.rollback.succeeded
    assert live_shares(estate, STAGING) == []  # the failed create left nothing behind


def test_a_lineage_group_association_failing_later_raises_the_schedules_alarm_and_a_redeploy_heals(
    estate, hub, synthesize_config
):
    producer, consumer = hub[STAGING], hub[TRAINING]
    deploy_all(estate.rollout, [consumer, producer])
    estate.rollout.advance(HOUR)
    share = estate.rollout.deployed[producer.name].share_physical_id
    message = "The lineage group's resource policy was removed."
    estate.world.ram.fail_association(share, group_of(STAGING), message)

    estate.rollout.advance(HOUR)

    [failed] = [run for run in estate.rollout.reconcile_runs if run.error]
    assert "its resource association is FAILED" in failed.error and message in failed.error
    assert "deploy this stack again" in failed.error
    assert not readable(estate, producer, consumer)

    retagged = retagged_hub(synthesize_config)
    outcome = estate.rollout.deploy(retagged[STAGING])  # any changed property
    estate.rollout.advance(HOUR)

    assert outcome.succeeded and outcome.physical_resource_id != share
    assert live_shares(estate, STAGING) == [outcome.physical_resource_id]
    assert readable(estate, retagged[STAGING], consumer)


def retagged_hub(synthesize_config):
    from tests.simulation.scenario_configs import EXAMPLE, example_with, stacks_of

    return stacks_of(
        synthesize_config(
            example_with(
                topology={"type": "hub-and-spoke", "hub": "training", "direction": "spokes-to-hub"},
                tags={**EXAMPLE["tags"], "cost-center": "ml-4711"},
            )
        )
    )


# ---------------------------------------------------------------------------- FAILED share


@pytest.fixture(params=["previous", "failed response"])
def rollback_id(request) -> str:
    """Which physical id CloudFormation's rollback carries after a failed replacement."""
    return request.param


def test_a_failed_share_is_replaced_by_the_next_update(estate, hub, synthesize_config):
    producer, consumer = hub[STAGING], hub[TRAINING]
    deploy_all(estate.rollout, [consumer, producer])
    estate.rollout.advance(HOUR)
    old = estate.rollout.deployed[producer.name].share_physical_id
    estate.world.ram.fail_share(old, "Internal failure.")

    retagged = retagged_hub(synthesize_config)
    outcome = estate.rollout.deploy(retagged[STAGING])
    estate.rollout.advance(HOUR)

    assert outcome.succeeded and outcome.physical_resource_id != old
    assert live_shares(estate, STAGING) == [outcome.physical_resource_id]  # the failed one deleted
    assert readable(estate, retagged[STAGING], consumer)
    assert not [run for run in estate.rollout.reconcile_runs if run.error]


def test_a_failed_share_whose_replacement_fails_too_rolls_back_cleanly(
    estate, hub, synthesize_config, rollback_id
):
    producer, consumer = hub[STAGING], hub[TRAINING]
    deploy_all(estate.rollout, [consumer, producer])
    estate.rollout.advance(HOUR)
    old = estate.rollout.deployed[producer.name].share_physical_id
    estate.world.ram.fail_share(old, "Internal failure.")
    estate.rollout.update_rollback_id = rollback_id
    # The replacement's lineage group association fails once, the rollback's does not.
    estate.world.ram.next_associations_end_as(group_of(STAGING), "FAILED", "Transient failure.")

    outcome = estate.rollout.deploy(retagged_hub(synthesize_config)[STAGING])
    estate.rollout.advance(HOUR)

    assert not outcome.succeeded and "Transient failure." in outcome.reason
    assert outcome.rollback is not None and outcome.rollback.succeeded  # not UPDATE_ROLLBACK_FAILED
    healed = estate.rollout.deployed[producer.name].share_physical_id
    assert healed != old
    assert live_shares(estate, STAGING) == [healed]  # neither the failed one nor the replacement
    assert readable(estate, producer, consumer)


# ---------------------------------------------------------------------------- no leaked shares


def test_a_create_retried_with_another_client_token_adopts_the_share_it_made(estate, hub):
    # The first create is refused for quota (RAM counts other shares' pending invitations): the
    # handler creates the share without principals under a second token, invites on that poll,
    # and the next poll, finding no physical id yet, would create with the first token again.
    estate.world.faults.fail("CreateResourceShare", "ResourceShareLimitExceededException")

    outcome = estate.rollout.deploy(hub[STAGING])  # a fresh account: the share comes in polls

    assert outcome.succeeded and outcome.polls >= 1
    assert live_shares(estate, STAGING) == [outcome.physical_resource_id]
    assert estate.world.faults.unused() == []


def test_a_create_that_timed_out_leaves_no_share_behind(estate, hub):
    estate.world.ram.next_shares_stay("PENDING")  # RAM never finishes creating it

    outcome = estate.rollout.deploy(hub[STAGING])

    assert not outcome.succeeded and "timed out" in outcome.reason
    # The Create had no physical id yet: its rollback Delete carries the RequestId.
    assert not outcome.physical_resource_id.startswith("arn:")
    assert outcome.rollback is not None and outcome.rollback.succeeded
    assert live_shares(estate, STAGING) == []


def test_redeploying_a_fresh_account_after_sagemaker_outlasted_the_first_attempt(estate, hub):
    # SageMaker takes longer than the Provider's 30 minutes to list the new lineage group.
    estate.world.sagemaker.lineage_group_delay = timedelta(minutes=45)
    first = estate.rollout.deploy(hub[STAGING])
    assert not first.succeeded and "timed out" in first.reason

    second = estate.rollout.deploy(hub[STAGING])

    assert second.succeeded
    # The marker context of the first attempt exists: SageMaker says so with a validation
    # error whose wording is not to be relied on; DescribeContext confirms it.
    [repeated] = [r for r in calls(estate, "CreateContext") if r.error_code]
    assert repeated.error_code == "ValidationException"
    assert calls(estate, "DescribeContext")
    assert live_shares(estate, STAGING) == [second.physical_resource_id]


# ---------------------------------------------------------------------------- re-invitations


def test_a_consumer_whose_association_keeps_failing_is_reinvited_directly_at_most_3_times_a_day(
    estate, hub, caplog
):
    caplog.set_level(logging.INFO, logger="share_manager")
    producer, consumer = hub[STAGING], hub[TRAINING]
    estate.world.ram.next_associations_end_as(
        TRAINING, "FAILED", "The account cannot receive shares.", times=100
    )

    outcome = estate.rollout.deploy(producer)  # must not wait for a consumer it cannot invite
    estate.rollout.deploy(consumer)
    estate.rollout.advance(24 * HOUR)

    assert outcome.succeeded
    reconcile_role = producer.handler_role_logical_id(SHARE_RECONCILE_HANDLER)
    reinvited = calls(estate, "AssociateResourceShare", by_role=reconcile_role, principal=TRAINING)
    assert len(reinvited) == 3  # after 8, 16 and 24 hours: the cap, not the hourly schedule
    assert calls(estate, "DisassociateResourceShare") == []  # associated again directly
    lines = [r for r in caplog.records if getattr(r, "action", None) == "reinvite"]
    assert lines and all("FAILED: The account cannot receive shares." in r.reason for r in lines)


def test_a_consumer_that_rejected_the_share_is_not_overruled_by_its_acceptor(estate, hub, caplog):
    caplog.set_level(logging.INFO, logger="invitation_acceptor")
    producer, consumer = hub[STAGING], hub[TRAINING]
    estate.rollout.deploy(producer)
    ram = estate.operator_client("ram", TRAINING, REGION)
    [invitation] = ram.get_resource_share_invitations()["resourceShareInvitations"]
    ram.reject_resource_share_invitation(
        resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
    )

    estate.rollout.deploy(consumer)
    # The producer re-invites at once (RAM's event) and then as each invitation expires; at 24 h
    # the invitation sent at 13 h is pending.
    estate.rollout.advance(24 * HOUR)

    statuses = {
        i["status"] for i in ram.get_resource_share_invitations()["resourceShareInvitations"]
    }
    assert "ACCEPTED" not in statuses and "PENDING" in statuses
    assert not readable(estate, producer, consumer)
    skipped = [r for r in caplog.records if getattr(r, "reason", None) == "previously_rejected"]
    assert skipped and all(r.levelname == "WARNING" for r in skipped)


# ---------------------------------------------------------------------------- concurrency


@pytest.mark.parametrize("after", ["GetResourceShareInvitations", "ListPendingInvitationResources"])
def test_two_acceptor_runs_at_once_accept_each_invitation_once_and_both_succeed(estate, hub, after):
    """No reserved concurrency: a RAM event and the schedule may run the acceptor together."""
    estate.rollout.drop_events = lambda event: True  # only the two sweeps below accept
    deploy_all(estate.rollout, [hub[TRAINING], hub[STAGING], hub[PRODUCTION]])
    consumer = hub[TRAINING]
    role = simulated_role_arn(consumer, consumer.handler_role_logical_id(ACCEPTOR_HANDLER))

    def acceptor_deps():
        ram = estate.world.client("ram", account=TRAINING, region=REGION, principal_arn=role)
        return acceptor.Dependencies(ram=ram, allowed_producers=frozenset(consumer.accepts_from))

    first, second = acceptor_deps(), acceptor_deps()
    summaries = {}

    def run_second_sweep_in_between(**_):
        if "second" not in summaries:
            summaries["second"] = acceptor.sweep(second, Trigger.RAM_EVENT)

    # The second run starts and finishes while the first is between two of its calls.
    first.ram.meta.events.register(f"after-call.ram.{after}", run_second_sweep_in_between)
    summaries["first"] = acceptor.sweep(first, Trigger.SCHEDULE)

    assert summaries["second"]["accepted"] == 2
    assert summaries["first"]["failed"] == 0  # the first run's accepts find the work done
    assert summaries["first"]["accepted"] + summaries["first"]["already_accepted"] <= 2
    invitations = estate.operator_client("ram", TRAINING, REGION).get_resource_share_invitations()
    assert {i["status"] for i in invitations["resourceShareInvitations"]} == {"ACCEPTED"}
    # Every accept of an invitation carried the same client token.
    tokens = {}
    for record in calls(estate, "AcceptResourceShareInvitation"):
        tokens.setdefault(record.params["resourceShareInvitationArn"], set()).add(
            record.params["clientToken"]
        )
    assert len(tokens) == 2 and all(len(t) == 1 for t in tokens.values())
    assert not estate.denied_calls()
