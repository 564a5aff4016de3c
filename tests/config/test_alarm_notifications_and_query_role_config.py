"""`alarm_notifications:` and `accounts[].query_role`: what they accept, and errors that name
the field and the value."""

from __future__ import annotations

import copy

import pytest

from config.model import ConfigError, parse_config
from tests.config.test_config_validation import VALID

TOPIC_US = "arn:aws:sns:us-east-1:999999999999:ml-platform-alarms"
TOPIC_EU = "arn:aws:sns:eu-west-1:999999999999:ml-platform-alarms"


# production and research share in eu-west-1 too: stacks in two regions.
TWO_REGIONS = {
    "accounts": [
        *VALID["accounts"],
        {"id": "444444444444", "name": "research", "region": "eu-west-1"},
    ],
    "topology": {"type": "mesh", "per_region": True},
}


def config_with(**changes) -> dict:
    raw = copy.deepcopy(TWO_REGIONS)
    raw.update(changes)
    return raw


def with_query_role(index: int, query_role: dict, **changes) -> dict:
    raw = config_with(**changes)
    raw["accounts"][index]["query_role"] = query_role
    return raw


def problems_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    return str(raised.value)


# ---------------------------------------------------------------------------- notifications


def test_emails_create_a_topic_per_stack():
    config = parse_config(config_with(alarm_notifications={"emails": ["ml-oncall@example.com"]}))
    assert config.alarm_notifications.emails == ("ml-oncall@example.com",)
    assert config.alarm_notifications.topic_arn_in("us-east-1") is None


def test_an_existing_topic_per_region_is_picked_by_the_stacks_region():
    config = parse_config(config_with(alarm_notifications={"topic_arns": [TOPIC_EU, TOPIC_US]}))
    assert config.alarm_notifications.topic_arn_in("us-east-1") == TOPIC_US
    assert config.alarm_notifications.topic_arn_in("eu-west-1") == TOPIC_EU


@pytest.mark.parametrize(
    "notifications, expected",
    [
        (
            {"emails": ["ml-oncall@example.com"], "topic_arns": [TOPIC_US, TOPIC_EU]},
            ["alarm_notifications: give exactly one of emails", "['emails', 'topic_arns']"],
        ),
        ({}, ["alarm_notifications: give exactly one", "neither"]),
        (
            {"emails": ["ml-oncall@example.com, lead@example.com"]},
            ["alarm_notifications.emails[0]", "'ml-oncall@example.com, lead@example.com'"],
        ),
        (
            {"emails": [f"person{n}@example.com" for n in range(11)]},
            ["alarm_notifications.emails", "at most 10", "confirmation email"],
        ),
        (
            {"topic_arns": ["arn:aws:sns:us-east-1:999999999999:alarms.fifo", TOPIC_EU]},
            [
                "alarm_notifications.topic_arns[0]",
                "'arn:aws:sns:us-east-1:999999999999:alarms.fifo'",
            ],
        ),
        (
            {"topic_arns": [TOPIC_US]},
            [
                "alarm_notifications.topic_arns: no topic in eu-west-1, where production, research deploy",
                "notifies only an SNS topic in its own region",
            ],
        ),
        (
            {"topic_arns": [TOPIC_US, TOPIC_EU, "arn:aws:sns:eu-west-1:999999999999:other"]},
            ["alarm_notifications.topic_arns: 2 topics in eu-west-1"],
        ),
        (
            {"topic_arns": [TOPIC_US, TOPIC_EU, "arn:aws:sns:us-west-2:999999999999:alarms"]},
            ["alarm_notifications.topic_arns[2]", "us-west-2, where no stack is deployed"],
        ),
        (
            {"topic_arns": ["arn:aws-cn:sns:us-east-1:999999999999:alarms", TOPIC_EU]},
            ["alarm_notifications.topic_arns[0]", "partition 'aws-cn'", "us-east-1 is in 'aws'"],
        ),
        (
            {"email": ["ml-oncall@example.com"]},
            ["alarm_notifications.email", "did you mean 'emails'"],
        ),
    ],
    ids=[
        "both",
        "neither",
        "two addresses in one",
        "too many emails",
        "fifo topic",
        "a region without a topic",
        "two topics in a region",
        "a topic where no stack is",
        "wrong partition",
        "typo",
    ],
)
def test_bad_notifications_name_the_field_and_the_value(notifications, expected):
    message = problems_of(config_with(alarm_notifications=notifications))
    for part in expected:
        assert part in message


def test_topic_region_problems_come_with_the_other_problems_in_one_run():
    raw = config_with(alarm_notifications={"topic_arns": [TOPIC_US]})
    raw["accounts"][0]["id"] = "123"
    message = problems_of(raw)
    assert "accounts[0].id" in message and "no topic in eu-west-1" in message


# ---------------------------------------------------------------------------- query role


def test_a_query_role_takes_account_ids_and_role_arns():
    raw = with_query_role(
        1,
        {"assumable_by": ["222222222222", "arn:aws:iam::222222222222:role/ml/DataScientists"]},
    )
    role = parse_config(raw).accounts[1].query_role
    assert role.association_writes is False
    assert role.principal_arns("aws") == (
        "arn:aws:iam::222222222222:root",
        "arn:aws:iam::222222222222:role/ml/DataScientists",
    )


@pytest.mark.parametrize(
    "query_role, expected",
    [
        ({"assumable_by": []}, ["accounts[1].query_role.assumable_by"]),
        ({"association_writes": True}, ["accounts[1].query_role.assumable_by", "missing"]),
        (
            {"assumable_by": ["22222222222"]},
            ["accounts[1].query_role.assumable_by[0]", "'22222222222'", "12-digit account id"],
        ),
        (
            {"assumable_by": ["arn:aws:sts::222222222222:assumed-role/DataScientists/jane"]},
            ["assumable_by[0]", "changes with every session", "name the role"],
        ),
        (
            {"assumable_by": ["arn:aws-cn:iam::222222222222:role/DataScientists"]},
            ["accounts[1]", "assumable_by[0]", "partition 'aws-cn'"],
        ),
        (
            {"assumable_by": [f"{200000000000 + n}" for n in range(21)]},
            ["accounts[1].query_role.assumable_by", "2,048 characters"],
        ),
        (
            {"assumable_by": ["222222222222"], "writes": True},
            ["accounts[1].query_role.writes", "allowed here: assumable_by, association_writes"],
        ),
    ],
    ids=[
        "nobody",
        "no principals",
        "short account id",
        "session arn",
        "other partition",
        "too many",
        "unknown key",
    ],
)
def test_bad_query_roles_name_the_field_and_the_value(query_role, expected):
    message = problems_of(with_query_role(1, query_role))
    for part in expected:
        assert part in message


def test_a_query_role_on_an_account_that_receives_nothing_is_refused():
    raw = with_query_role(
        0,
        {"assumable_by": ["111111111111"]},
        topology={"type": "edges", "edges": {"training": ["staging", "production"]}},
    )
    assert "accounts[0].query_role: training receives from no producer" in problems_of(raw)
