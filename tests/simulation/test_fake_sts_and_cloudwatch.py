"""The fake STS (AssumeRole against trust policies from templates) and the CloudWatch side of
the simulation (EMF documents to datapoints, alarms evaluated over them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from simulation.cloudwatch import MetricStore, alarm_state
from simulation.iam import PolicyEvaluator
from simulation.world import World

OWNER, VISITOR = "111111111111", "222222222222"
REGION = "eu-west-1"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
READER = f"arn:aws:iam::{OWNER}:role/Reader"


@pytest.fixture
def world() -> World:
    world = World(start=START)
    for account in (OWNER, VISITOR):
        world.add_account(account)
    trust = PolicyEvaluator()
    trust.add_trust_policy(
        READER,
        [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"AWS": [f"arn:aws:iam::{VISITOR}:role/Analyst"]},
            }
        ],
    )
    world.trust_policies = trust
    return world


def sts(world: World, account: str, role: str):
    principal = f"arn:aws:iam::{account}:role/{role}"
    return world.client("sts", account=account, region=REGION, principal_arn=principal)


def test_a_trusted_principal_gets_credentials_that_call_as_the_role(world):
    answer = sts(world, VISITOR, "Analyst").assume_role(RoleArn=READER, RoleSessionName="s1")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{OWNER}:assumed-role/Reader/s1"
    assert answer["Credentials"]["Expiration"] == START + timedelta(hours=1)
    identity = world.client_for("sts", credentials=answer["Credentials"], region=REGION)
    assert identity.get_caller_identity()["Account"] == OWNER


def test_anyone_the_trust_policy_does_not_name_is_refused(world):
    with pytest.raises(ClientError) as raised:
        sts(world, VISITOR, "Intern").assume_role(RoleArn=READER, RoleSessionName="s1")
    assert raised.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError, match="AccessDenied"):
        sts(world, VISITOR, "Analyst").assume_role(
            RoleArn=f"arn:aws:iam::{OWNER}:role/Unknown", RoleSessionName="s1"
        )


def test_credentials_stop_working_when_they_expire(world):
    answer = sts(world, VISITOR, "Analyst").assume_role(
        RoleArn=READER, RoleSessionName="s1", DurationSeconds=900
    )
    world.clock.advance(timedelta(minutes=15))
    with pytest.raises(ValueError, match="expired"):
        world.client_for("sts", credentials=answer["Credentials"], region=REGION)


def emf(at: datetime, **values) -> str:
    return json.dumps(
        {
            "_aws": {
                "Timestamp": int(at.timestamp() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": "LineageSharing",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in values],
                    }
                ],
            },
            "FunctionName": "fn",
            **values,
        }
    )


def test_printed_documents_become_datapoints_and_other_lines_are_ignored():
    store = MetricStore()
    stream = store.log_stream()
    stream.write("a plain log line\n" + emf(START, ConsumersHeldBack=3)[:20])
    stream.write(emf(START, ConsumersHeldBack=3)[20:] + "\n")
    [point] = store.datapoints
    assert (point.name, point.value, dict(point.dimensions)) == (
        "ConsumersHeldBack",
        3,
        {"FunctionName": "fn"},
    )


ALARM = {
    "Namespace": "LineageSharing",
    "MetricName": "ConsumersHeldBack",
    "Dimensions": [{"Name": "FunctionName", "Value": "fn"}],
    "Statistic": "Minimum",
    "Period": 3600,
    "EvaluationPeriods": 3,
    "DatapointsToAlarm": 2,
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
    "TreatMissingData": "notBreaching",
}


@pytest.mark.parametrize(
    "hourly, state",
    [([1, 0, 2], "ALARM"), ([1, 0, 0], "OK"), ([None, 1, 1], "ALARM"), ([None, None, 1], "OK")],
)
def test_an_alarm_counts_breaching_periods_of_the_last_evaluation_periods(hourly, state):
    store = MetricStore()
    for hour, value in enumerate(hourly):
        if value is not None:
            store.ingest(emf(START + timedelta(hours=hour, minutes=5), ConsumersHeldBack=value))
    # Evaluated just after the third hour ended; a datapoint of the running hour does not count.
    store.ingest(emf(START + timedelta(hours=3, minutes=1), ConsumersHeldBack=9))
    assert alarm_state(ALARM, store, START + timedelta(hours=3, minutes=2)) == state
