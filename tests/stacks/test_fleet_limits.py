"""A 500-account fleet within every deploy-time AWS limit, proved on single stacks.

Building 500 stacks would cost minutes; every stack of a mesh is one of two shapes at its
largest, so these build one stack each (selective synthesis): a consumer with 499 producers, a
producer with 499 consumers, and a consumer at the most producers its acceptor role can be
fenced to. Each template is measured with the limit checker (resolved text, as AWS counts it),
and the acceptor and share manager then run against the simulation.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

import app as cdk_app
from config import capacity
from config.model import known_regions, parse_config, plan_stacks
from lineage_constructs.acceptor_layout import max_producers_per_consumer
from lineage_sharing.cloud_assembly import (
    SHARE_ON_EVENT_HANDLER,
    SHARE_RECONCILE_HANDLER,
    SynthesizedStack,
    read_cloud_assembly,
)
from lineage_sharing.deploy_limits import (
    CUSTOM_RESOURCE_RESPONSE,
    EVENTBRIDGE_INPUT,
    LAMBDA_ENVIRONMENT,
    MANAGED_POLICY_SIZE,
    ROLE_INLINE_POLICIES,
    ROLE_MANAGED_POLICIES,
    Measurement,
    custom_resource_response_bytes,
    measure_assembly,
)
from simulation.authorization import AuthorizationRequest
from simulation.estate import SimulatedEstate
from simulation.iam import PolicyEvaluator, simulated_role_arn

HUB = "100000000000"
REGION = "us-east-1"
LONGEST_REGION = max(sorted(known_regions()), key=len)
FLEET = 500


def spoke(n: int) -> str:
    return f"{200000000000 + n:012d}"


def hub_config(spokes: int, direction: str, region: str = REGION) -> dict:
    accounts = [{"id": HUB, "name": "hub", "region": region}]
    accounts += [{"id": spoke(n), "name": f"spoke-{n}", "region": region} for n in range(spokes)]
    return {
        "accounts": accounts,
        "topology": {"type": "hub-and-spoke", "hub": "hub", "direction": direction},
        "bootstrap_lineage_group": True,
    }


def synthesize_stacks(raw: dict, accounts: set[str], outdir: Path) -> dict[str, SynthesizedStack]:
    """Only the stacks of `accounts`, planned from the whole config."""
    config = parse_config(raw)
    plans = [plan for plan in plan_stacks(config) if plan.account.id in accounts]
    cdk_app.synthesize_in_process(config, outdir, plans=plans)
    return {stack.account: stack for stack in read_cloud_assembly(outdir)}


@pytest.fixture(scope="module")
def consumer_of_499(tmp_path_factory) -> tuple[Path, dict[str, SynthesizedStack]]:
    outdir = tmp_path_factory.mktemp("cdk.out.consumer499")
    stacks = synthesize_stacks(hub_config(FLEET - 1, "spokes-to-hub"), {HUB, spoke(7)}, outdir)
    return outdir, stacks


@pytest.fixture(scope="module")
def producer_for_499(tmp_path_factory) -> tuple[Path, dict[str, SynthesizedStack]]:
    outdir = tmp_path_factory.mktemp("cdk.out.producer499")
    return outdir, synthesize_stacks(hub_config(FLEET - 1, "hub-to-spokes"), {HUB}, outdir)


@pytest.fixture(scope="module")
def consumer_at_capacity(tmp_path_factory) -> tuple[Path, dict[str, SynthesizedStack]]:
    outdir = tmp_path_factory.mktemp("cdk.out.capacity")
    raw = hub_config(max_producers_per_consumer(), "spokes-to-hub")
    return outdir, synthesize_stacks(raw, {HUB}, outdir)


def measured(outdir: Path, stack: str) -> list[Measurement]:
    return [m for m in measure_assembly(outdir) if m.stack == stack]


def largest(measurements: list[Measurement], limit) -> Measurement:
    return max((m for m in measurements if m.limit == limit), key=lambda m: m.size)


def assert_within_every_limit(measurements: list[Measurement]) -> None:
    assert measurements
    exceeded = [str(m) for m in measurements if m.exceeded]
    assert not exceeded, "\n".join(exceeded)


# ---------------------------------------------------------------- a consumer of 499 producers


def test_a_consumer_of_499_producers_is_within_every_limit(consumer_of_499):
    outdir, stacks = consumer_of_499
    measurements = measured(outdir, stacks[HUB].name)
    assert_within_every_limit(measurements)
    inline = largest(measurements, ROLE_INLINE_POLICIES)
    assert inline.subject.startswith("role InvitationAcceptorRole")
    assert 7_485 < inline.size <= 10_240  # 499 owners at 15 characters each, plus the rest
    assert largest(measurements, LAMBDA_ENVIRONMENT).size < 1_000
    assert not [m for m in measurements if m.limit == MANAGED_POLICY_SIZE]


def test_a_consumer_of_499_producers_accepts_from_one_of_them_in_the_simulation(consumer_of_499):
    _, stacks = consumer_of_499
    hub, producer = stacks[HUB], stacks[spoke(7)]
    assert len(hub.accepts_from) == FLEET - 1 and len(hub.ssm_parameters) == 2
    estate = SimulatedEstate.start([HUB, spoke(7)])

    assert estate.rollout.deploy(hub) is None
    outcome = estate.rollout.deploy(producer)

    assert outcome is not None and outcome.succeeded, outcome
    (status,) = estate.pair_statuses([hub, producer])
    assert status.invitation == "ACCEPTED" and status.readable, status
    assert not estate.denied_calls()


# ---------------------------------------------------------------- a producer for 499 consumers


def test_a_producer_for_499_consumers_is_within_every_limit(producer_for_499):
    outdir, stacks = producer_for_499
    measurements = measured(outdir, stacks[HUB].name)
    assert_within_every_limit(measurements)
    # Its consumer lists are split: no statement left for CDK's overflow to place.
    assert not [m for m in measurements if "OverflowPolicy" in m.subject]
    split = [m for m in measurements if m.limit == MANAGED_POLICY_SIZE]
    assert split and all(m.subject.startswith("LineageGroupShareHandlerRole") for m in split)
    assert largest(measurements, EVENTBRIDGE_INPUT).size < 1_000  # a digest, not the list


def test_a_producer_for_499_consumers_may_name_each_of_them_and_nobody_else(producer_for_499):
    _, stacks = producer_for_499
    may = share_manager_permissions(stacks[HUB])
    for consumer in (spoke(0), spoke(250), spoke(FLEET - 2)):  # inline, middle, last part
        assert may("ram:CreateResourceShare", consumer), consumer
        assert may("ram:AssociateResourceShare", consumer), consumer
        assert may("ram:AssociateResourceShare", consumer, handler=SHARE_RECONCILE_HANDLER)
    for stranger in ("999999999999", spoke(FLEET - 1)):
        assert not may("ram:CreateResourceShare", stranger)
        assert not may("ram:AssociateResourceShare", stranger)
        assert not may("ram:AssociateResourceShare", stranger, handler=SHARE_RECONCILE_HANDLER)


def share_manager_permissions(producer: SynthesizedStack):
    """may(action, principal): whether a handler's role may name `principal` in that action."""
    evaluator = PolicyEvaluator.from_stacks([producer])
    share = f"arn:aws:ram:{producer.region}:{producer.account}:resource-share/abc"
    share_name = producer.share_name

    def may(action: str, principal: str, handler: str = SHARE_ON_EVENT_HANDLER) -> bool:
        role = simulated_role_arn(producer, producer.handler_role_logical_id(handler))
        context = {"ram:Principal": principal, "ram:ResourceShareName": share_name}
        resource = "*" if action == "ram:CreateResourceShare" else share
        if action == "ram:CreateResourceShare":
            context = {"ram:Principal": principal, "ram:RequestedAllowsExternalPrincipals": "true"}
        request = AuthorizationRequest(
            role, producer.account, producer.region, action, resource, context=context
        )
        return evaluator.authorize(request).allowed

    return may


def test_a_producer_for_499_consumers_answers_cloudformation_within_4_kb(producer_for_499):
    _, stacks = producer_for_499
    producer = stacks[HUB]
    estate = SimulatedEstate.start([HUB, *producer.shares_with])

    outcome = estate.rollout.deploy(producer)

    assert outcome is not None and outcome.succeeded, outcome
    event = {
        "StackId": f"arn:aws:cloudformation:{REGION}:{HUB}:stack/{producer.name}/{uuid.uuid4()}",
        "RequestId": str(uuid.uuid4()),
        "LogicalResourceId": producer.share[0],
    }
    result = {"PhysicalResourceId": outcome.physical_resource_id, "Data": outcome.data}
    size = custom_resource_response_bytes(event, result)
    assert size <= CUSTOM_RESOURCE_RESPONSE.maximum
    assert set(outcome.data) == {"LineageGroupArn", "ResourceShareArn"}


# ---------------------------------------------------------------- the acceptor at capacity


def test_a_consumer_at_capacity_uses_every_managed_policy_and_stays_within_limits(
    consumer_at_capacity,
):
    outdir, stacks = consumer_at_capacity
    measurements = measured(outdir, stacks[HUB].name)
    assert_within_every_limit(measurements)
    role = largest(measurements, ROLE_MANAGED_POLICIES)
    assert role.subject.startswith("role InvitationAcceptorRole") and role.size == 10


def test_a_consumer_at_capacity_is_fenced_to_exactly_its_producers(consumer_at_capacity):
    _, stacks = consumer_at_capacity
    hub = stacks[HUB]
    evaluator = PolicyEvaluator.from_stacks([hub])
    role = simulated_role_arn(
        hub, hub.handler_role_logical_id("invitation_acceptor.handler.handle")
    )

    def accept(owner: str) -> bool:
        invitation = f"arn:aws:ram:{REGION}:{owner}:resource-share-invitation/abc"
        request = AuthorizationRequest(
            role,
            HUB,
            REGION,
            "ram:AcceptResourceShareInvitation",
            invitation,
            context={"ram:ShareOwnerAccountId": owner},
        )
        return evaluator.authorize(request).allowed

    last = spoke(max_producers_per_consumer() - 1)  # in the last managed policy
    assert accept(spoke(0)) and accept(last)
    assert not accept("999999999999") and not accept(HUB)
    parameters = [json.dumps(v) for v in hub.ssm_parameters.values()]
    assert len(hub.accepts_from) == max_producers_per_consumer() and len(parameters) == 14


# ---------------------------------------------------------------- the query role at capacity


@pytest.mark.parametrize(
    ("writes", "producers"),
    [
        (False, capacity.QUERY_ROLE_MAX_PRODUCERS),
        (True, capacity.QUERY_ROLE_WITH_ASSOCIATION_WRITES_MAX_PRODUCERS),
    ],
)
def test_a_query_role_at_its_capacity_in_the_longest_region_is_within_every_limit(
    tmp_path, writes, producers
):
    # The longest region name makes every ARN the role names the longest.
    raw = hub_config(producers, "spokes-to-hub", region=LONGEST_REGION)
    raw["accounts"][0]["query_role"] = {"assumable_by": [HUB], "association_writes": writes}
    stacks = synthesize_stacks(raw, {HUB}, tmp_path)
    assert_within_every_limit(measured(tmp_path, stacks[HUB].name))
