"""Configs that could not be deployed within AWS quotas are refused before anything is built."""

from __future__ import annotations

import pytest

from config import capacity
from config.model import ConfigError, parse_config, plan_stacks
from lineage_constructs.acceptor_layout import max_producers_per_consumer
from lineage_constructs.share_manager_layout import max_consumers_per_producer


def hub_config(spokes: int, direction: str) -> dict:
    accounts = [{"id": "100000000000", "name": "hub", "region": "us-east-1"}]
    accounts += [
        {"id": f"{200000000000 + n:012d}", "name": f"spoke-{n}", "region": "us-east-1"}
        for n in range(spokes)
    ]
    return {
        "accounts": accounts,
        "topology": {"type": "hub-and-spoke", "hub": "hub", "direction": direction},
    }


def test_a_500_account_mesh_is_within_every_quota():
    accounts = [
        {"id": f"{100000000000 + n:012d}", "name": f"team-{n}", "region": "us-east-1"}
        for n in range(500)
    ]
    parse_config({"accounts": accounts, "topology": {"type": "mesh"}})


def test_a_consumer_beyond_what_its_acceptor_role_can_be_fenced_to_is_refused():
    too_many = max_producers_per_consumer() + 1
    with pytest.raises(ConfigError) as caught:
        parse_config(hub_config(too_many, "spokes-to-hub"), source="fleet.yaml")
    message = str(caught.value)
    assert message.startswith("fleet.yaml: cannot be deployed within AWS limits")
    assert f"hub (100000000000) in us-east-1 would accept invitations from {too_many:,}" in message
    assert "10,240 characters of inline policy per role, 6,144 per managed policy" in message
    assert "10 managed policies per role" in message
    assert "share through AWS Organizations instead" in message


def test_a_producer_beyond_the_principals_of_one_share_is_refused(monkeypatch):
    monkeypatch.setattr(capacity, "RAM_PRINCIPALS_PER_SHARE", 3)
    parse_config(hub_config(3, "hub-to-spokes"))
    with pytest.raises(ConfigError) as caught:
        parse_config(hub_config(4, "hub-to-spokes"))
    message = str(caught.value)
    assert "hub (100000000000) in us-east-1 would share with 4 principals" in message
    assert "a RAM resource share holds at most 3 principals" in message
    assert "share through AWS Organizations instead" in message


@pytest.mark.parametrize(
    ("writes", "most"),
    [
        (False, capacity.QUERY_ROLE_MAX_PRODUCERS),
        (True, capacity.QUERY_ROLE_WITH_ASSOCIATION_WRITES_MAX_PRODUCERS),
    ],
)
def test_a_query_role_beyond_the_producers_it_can_name_is_refused(writes, most):
    raw = hub_config(most, "spokes-to-hub")
    raw["accounts"][0]["query_role"] = {
        "assumable_by": ["100000000000"],
        "association_writes": writes,
    }
    parse_config(raw)
    raw = hub_config(most + 1, "spokes-to-hub")
    raw["accounts"][0]["query_role"] = {
        "assumable_by": ["100000000000"],
        "association_writes": writes,
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(raw)
    message = str(caught.value)
    assert f"its query_role would name the lineage ARNs of {most + 1} producers" in message
    assert f"at most {most} fit" in message and "6,144 characters per managed policy" in message


ORGANIZATION_SHARING = {
    "mode": "organization",
    "organization_arn": "arn:aws:organizations::100000000000:organization/o-abc123defg",
    "management_account_region": "us-east-1",
}


def test_organization_mode_takes_what_invitations_cannot_fence():
    """The refusal above suggests organization mode: the same config fits there, since shares
    within the organization need no acceptor and so no fence."""
    too_many = max_producers_per_consumer() + 1
    raw = {**hub_config(too_many, "spokes-to-hub"), "sharing": ORGANIZATION_SHARING}
    plans = {plan.account.name: plan for plan in plan_stacks(parse_config(raw))}
    assert len(plans["hub"].producers) == too_many
    assert plans["hub"].inviting_producers == ()


def test_in_organization_mode_outside_accounts_still_count_against_the_fence():
    too_many = max_producers_per_consumer() + 1
    raw = hub_config(too_many, "spokes-to-hub")
    for spoke in raw["accounts"][1:]:
        spoke["outside_organization"] = True
    with pytest.raises(ConfigError, match=f"would accept invitations from {too_many:,}"):
        parse_config({**raw, "sharing": ORGANIZATION_SHARING})


def test_a_producer_sharing_with_an_organization_counts_one_principal(monkeypatch):
    monkeypatch.setattr(capacity, "RAM_PRINCIPALS_PER_SHARE", 3)
    accounts = hub_config(4, "hub-to-spokes")["accounts"]
    raw = {"accounts": accounts, "topology": {"type": "mesh"}, "sharing": ORGANIZATION_SHARING}
    plans = plan_stacks(parse_config(raw))  # 4 consumers each, one principal: the organization
    assert {plan.share_principals for plan in plans} == {
        (ORGANIZATION_SHARING["organization_arn"],)
    }


def test_a_producer_beyond_what_its_share_manager_role_can_name_is_refused():
    most = max_consumers_per_producer()
    parse_config(hub_config(most, "hub-to-spokes"))
    with pytest.raises(ConfigError) as caught:
        parse_config(hub_config(most + 1, "hub-to-spokes"), source="fleet.yaml")
    message = str(caught.value)
    assert f"hub (100000000000) in us-east-1 would share with {most + 1:,} principals" in message
    assert f"its share manager role can name at most {most:,}" in message
    assert "6,144 per managed policy, 10 managed policies per role" in message
    assert "share through AWS Organizations instead" in message
