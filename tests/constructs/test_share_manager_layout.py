"""The share manager's consumer lists: split across inline and managed policies within IAM limits."""

from __future__ import annotations

import pytest

from lineage_constructs import aws_limits
from lineage_constructs.account_list_layout import AccountListLayout, layout, policy_chars
from lineage_constructs.share_manager_layout import (
    CREATE_SHARE_SID,
    INVITE_SID,
    WORST_CASE_OWN_SHARES,
    WORST_CASE_SHARE_NAME,
    handler_role_inline_budget,
    handler_role_statements,
    managed_policies_for,
    max_consumers_per_producer,
)


def accounts(count: int) -> list[str]:
    return [f"{200000000000 + n:012d}" for n in range(count)]


def handler_layout(consumers: list[str]) -> AccountListLayout:
    statements = handler_role_statements(WORST_CASE_OWN_SHARES, WORST_CASE_SHARE_NAME, "true")
    return layout(statements, [consumers] * len(statements), handler_role_inline_budget())


def principals_by_statement(split: AccountListLayout) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for statement in (*split.inline, *split.managed):
        base = CREATE_SHARE_SID if statement["Sid"].startswith(CREATE_SHARE_SID) else INVITE_SID
        found.setdefault(base, []).extend(statement["Condition"]["StringEquals"]["ram:Principal"])
    return found


@pytest.mark.parametrize("count", [1, 3, 499, 1_200, 1_993])
def test_every_consumer_is_named_once_in_each_statement_and_every_part_fits(count):
    consumers = accounts(count)
    split = handler_layout(list(reversed(consumers)))
    assert principals_by_statement(split) == {CREATE_SHARE_SID: consumers, INVITE_SID: consumers}
    inline = sum(policy_chars(s) + 1 for s in split.inline)
    assert inline <= handler_role_inline_budget()
    for statement in split.managed:
        document = {"Version": "2012-10-17", "Statement": [statement]}
        assert policy_chars(document) <= aws_limits.IAM_MANAGED_POLICY_CHARS
    for statement in (*split.inline, *split.managed):
        # Each part keeps the whole statement's actions, resources and other conditions.
        if statement["Sid"].startswith(CREATE_SHARE_SID):
            assert statement["Action"] == "ram:CreateResourceShare"
            assert statement["Condition"]["Bool"] == {
                "ram:RequestedAllowsExternalPrincipals": "true"
            }
        else:
            assert statement["Resource"] == WORST_CASE_OWN_SHARES
            names = statement["Condition"]["StringEquals"]["ram:ResourceShareName"]
            assert names == WORST_CASE_SHARE_NAME
    sids = [s["Sid"] for s in (*split.inline, *split.managed)]
    assert len(set(sids)) == len(sids)
    assert [sid for sid, _ in split.managed_parts] == [
        CREATE_SHARE_SID if s["Sid"].startswith(CREATE_SHARE_SID) else INVITE_SID
        for s in split.managed
    ]


def test_a_small_fleet_keeps_both_statements_whole_and_inline():
    split = handler_layout(accounts(3))
    assert [s["Sid"] for s in split.inline] == [CREATE_SHARE_SID, INVITE_SID]
    assert not split.managed


def test_the_capacity_is_what_ten_managed_policies_hold_for_the_fuller_role():
    most = max_consumers_per_producer()
    assert 1_900 < most < 2_100
    assert managed_policies_for(most)["share manager"] == aws_limits.IAM_MANAGED_POLICIES_PER_ROLE
    assert managed_policies_for(most + 1)["share manager"] == 11
    assert managed_policies_for(most)["reconcile schedule"] < 10  # it names consumers once
    assert len(handler_layout(accounts(most)).managed) == aws_limits.IAM_MANAGED_POLICIES_PER_ROLE
