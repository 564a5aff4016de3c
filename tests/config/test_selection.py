"""Selective synthesis: which stacks `-c stacks=`, `-c accounts=` and `-c regions=` select."""

from __future__ import annotations

import pytest

from config.model import parse_config, plan_stacks
from config.selection import SelectionError, StackSelection

CONFIG = parse_config(
    {
        "accounts": [
            {"id": "111111111111", "name": "training", "regions": ["us-east-1", "eu-west-1"]},
            {"id": "222222222222", "name": "staging", "regions": ["us-east-1", "eu-west-1"]},
            {"id": "333333333333", "name": "production", "region": "us-east-1"},
        ],
        "topology": {"type": "mesh"},
    }
)
PLANS = plan_stacks(CONFIG)


def selected(**context) -> list[str]:
    return [plan.stack_name for plan in StackSelection.from_context(context.get).apply(PLANS)]


def test_no_selector_builds_every_stack():
    assert selected() == [plan.stack_name for plan in PLANS]
    assert StackSelection.from_context({}.get).everything


def test_stacks_by_name_in_config_order_whatever_the_order_asked():
    assert selected(
        stacks="LineageSharing-staging-eu-west-1,LineageSharing-training-us-east-1"
    ) == [
        "LineageSharing-training-us-east-1",
        "LineageSharing-staging-eu-west-1",
    ]


def test_a_json_list_from_cdk_json_works_like_the_comma_separated_form():
    assert selected(stacks=["LineageSharing-production-us-east-1"]) == [
        "LineageSharing-production-us-east-1"
    ]


def test_accounts_by_name_or_id_select_all_their_regions():
    expected = ["LineageSharing-training-us-east-1", "LineageSharing-training-eu-west-1"]
    assert selected(accounts="training") == expected
    assert selected(accounts=" 111111111111 ") == expected


def test_selectors_given_together_must_all_match():
    assert selected(accounts="training,staging", regions="eu-west-1") == [
        "LineageSharing-training-eu-west-1",
        "LineageSharing-staging-eu-west-1",
    ]


def test_an_unknown_stack_name_lists_the_nearest_ones():
    with pytest.raises(SelectionError) as caught:
        selected(stacks="LineageSharing-trainig-us-east-1")
    message = str(caught.value)
    assert "this config has no stack named 'LineageSharing-trainig-us-east-1'" in message
    assert "did you mean LineageSharing-training-us-east-1" in message


def test_every_unknown_name_is_reported_at_once():
    with pytest.raises(SelectionError) as caught:
        selected(accounts="prod", regions="us-east-2")
    message = str(caught.value)
    assert "no stack of this config belongs to account 'prod'; did you mean production" in message
    assert "no stack of this config is in region 'us-east-2'; did you mean us-east-1" in message


def test_a_name_far_from_everything_shows_some_real_names():
    with pytest.raises(SelectionError, match="its 5 stacks include LineageSharing-production"):
        selected(stacks="zzz")


def test_selectors_that_match_no_stack_together_are_an_error():
    with pytest.raises(SelectionError, match="-c accounts=production -c regions=eu-west-1"):
        selected(accounts="production", regions="eu-west-1")


@pytest.mark.parametrize("value", [3, {"a": 1}, [1]])
def test_a_selector_that_is_not_names_is_an_error(value):
    with pytest.raises(SelectionError, match="-c stacks: expected"):
        selected(stacks=value)
