"""The acceptor's allow-list layout: IAM fence statements and SSM chunks within AWS limits."""

from __future__ import annotations

import json

import pytest

from lineage_constructs import aws_limits
from lineage_constructs.acceptor_layout import (
    ACCOUNT_IDS_PER_PARAMETER,
    OWNER_CONDITION_KEY,
    WORST_CASE_INVITATION_ARN,
    allow_list_chunks,
    fence_layout,
    inline_fence_budget,
    invitation_arn_pattern,
    max_producers_per_consumer,
)
from lineage_constructs.account_list_layout import policy_chars

ARN = invitation_arn_pattern("aws", "us-east-1")


def accounts(count: int) -> list[str]:
    return [f"{100000000000 + n:012d}" for n in range(count)]


def managed_document(statement: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_the_invitation_pattern_is_this_regions_invitations_of_any_sender():
    assert ARN == "arn:aws:ram:us-east-1:*:resource-share-invitation/*"


def test_a_500_account_mesh_fits_in_one_inline_statement():
    layout = fence_layout(accounts(499), ARN)
    assert len(layout.inline) == 1 and not layout.managed
    assert policy_chars(layout.inline[0]) <= inline_fence_budget(499)


@pytest.mark.parametrize("count", [1, 2, 499, 700, 1_500, 4_000])
def test_every_owner_is_fenced_exactly_once_and_every_part_fits_its_limit(count):
    owners = accounts(count)
    layout = fence_layout(list(reversed(owners)), ARN)
    assert layout.owners == owners  # sorted, none lost, none twice
    assert policy_chars(layout.inline[0]) <= inline_fence_budget(count)
    for statement in layout.managed:
        assert policy_chars(managed_document(statement)) <= aws_limits.IAM_MANAGED_POLICY_CHARS
        assert statement["Resource"] == ARN
        assert statement["Action"] == layout.inline[0]["Action"]
        assert list(statement["Condition"]) == ["StringEquals"]
        assert list(statement["Condition"]["StringEquals"]) == [OWNER_CONDITION_KEY]
    assert len({s["Sid"] for s in (*layout.inline, *layout.managed)}) == 1 + len(layout.managed)


def test_packing_is_tight_one_more_owner_would_not_fit():
    layout = fence_layout(accounts(1_500), ARN)
    inline = layout.inline[0]
    grown = json.loads(json.dumps(inline))
    grown["Condition"]["StringEquals"][OWNER_CONDITION_KEY].append("999999999999")
    assert policy_chars(grown) > inline_fence_budget(1_500)


def test_the_capacity_is_what_ten_managed_policies_and_the_inline_budget_hold():
    capacity = max_producers_per_consumer()
    assert 4_000 < capacity < 5_000
    at_capacity = fence_layout(accounts(capacity), WORST_CASE_INVITATION_ARN)
    beyond = fence_layout(accounts(capacity + 1), WORST_CASE_INVITATION_ARN)
    assert len(at_capacity.managed) == aws_limits.IAM_MANAGED_POLICIES_PER_ROLE
    assert len(beyond.managed) == aws_limits.IAM_MANAGED_POLICIES_PER_ROLE + 1


def test_allow_list_chunks_fit_standard_parameters_and_keep_every_id():
    chunks = allow_list_chunks(list(reversed(accounts(701))))
    assert [len(chunk) for chunk in chunks] == [315, 315, 71]
    assert ACCOUNT_IDS_PER_PARAMETER == 315
    for chunk in chunks:
        assert len(",".join(chunk)) <= aws_limits.SSM_STANDARD_PARAMETER_VALUE_CHARS
    assert [a for chunk in chunks for a in chunk] == accounts(701)
