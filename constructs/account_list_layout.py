"""Statements whose conditions list account ids, split to fit IAM's policy size limits.

A role fenced to the accounts of a fleet (the acceptor to its producers, the share manager to
its consumers) carries statements that grow by 15 characters per account (`"123456789012",`).
IAM limits a role's inline policies to 10,240 characters in all and each customer managed
policy to 6,144, and CDK's own overflow (whole statements moved to managed policies) cannot
place a statement that is larger than one managed policy. So each such statement is cut into
parts: the accounts fill what the role's inline budget leaves, in order, and every further
part is the only statement of its own managed policy. Every part keeps the statement's
actions, resources and other conditions; only the list is shorter. IAM allows a request when
any statement allows it, so the parts together allow exactly what the whole statement would.

Pure Python (no CDK): config validation uses the same arithmetic to refuse a fleet that
cannot fit, naming the limit.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lineage_constructs.aws_limits import IAM_MANAGED_POLICIES_PER_ROLE, IAM_MANAGED_POLICY_CHARS

ACCOUNT_ID_LENGTH = 12
PLACEHOLDER_ACCOUNT = "0" * ACCOUNT_ID_LENGTH
POLICY_DOCUMENT_ENVELOPE = len('{"Version":"2012-10-17","Statement":[]}')
MANAGED_STATEMENT_BUDGET = IAM_MANAGED_POLICY_CHARS - POLICY_DOCUMENT_ENVELOPE


def policy_chars(value: object) -> int:
    """Size as IAM counts it: the JSON text without whitespace."""
    return len(json.dumps(value, separators=(",", ":")))


@dataclass(frozen=True)
class AccountListStatement:
    """A statement to be split: `build(sid, accounts)` renders one part of it."""

    sid: str
    build: Callable[[str, Sequence[str]], dict]

    def part_sid(self, number: int) -> str:
        """Part 1 keeps the statement's Sid; part n is `<Sid><n>`."""
        return self.sid if number == 1 else f"{self.sid}{number}"

    def empty_chars(self, number: int) -> int:
        """Characters of the part with an empty list: `[]` holds the values."""
        return policy_chars(self.build(self.part_sid(number), []))


@dataclass(frozen=True)
class Part:
    statement: int  # index into the statements laid out
    number: int  # 1, 2, ... within that statement
    start: int  # its values are values[start:end] of the statement's sorted values
    end: int
    inline: bool


def _listed_chars(value: str) -> int:
    """Its JSON text and a comma; plain ASCII (ids, ARNs) needs no escapes: quotes only."""
    if value.isascii() and value.isprintable() and '"' not in value and "\\" not in value:
        return len(value) + 3
    return policy_chars(value) + 1


def _fit(offsets: Sequence[int], start: int, budget: int) -> int:
    """How far from `start` the values fit `budget` characters (`offsets`: running sums of
    each value's JSON text plus its comma); the last value needs no comma."""
    return bisect.bisect_right(offsets, offsets[start] + budget + 1) - 1


def lay_out(
    statements: Sequence[AccountListStatement],
    values: Sequence[Sequence[str]],
    inline_budget: int,
) -> list[Part]:
    """Parts of each statement, given the values each lists (sorted) and the inline budget.

    The inline budget is shared: the statements take from it in order. A statement with no
    values has no part at all (an empty list would grant nothing). Values are usually account
    ids (15 characters each); any string is measured as its JSON text.
    """
    parts: list[Part] = []
    budget = inline_budget
    for index, (statement, listed) in enumerate(zip(statements, values, strict=True)):
        offsets = list(itertools.accumulate((_listed_chars(v) for v in listed), initial=0))
        number, start = 1, 0
        empty = statement.empty_chars(1)
        end = _fit(offsets, 0, budget - empty)
        if end > 0:
            parts.append(Part(index, 1, 0, end, True))
            # Its size, and the comma before the next statement.
            budget -= empty + offsets[end]
            number, start = 2, end
        while start < len(listed):
            end = _fit(offsets, start, MANAGED_STATEMENT_BUDGET - statement.empty_chars(number))
            if end <= start:
                raise ValueError(f"{statement.sid}: {listed[start]} does not fit a managed policy")
            parts.append(Part(index, number, start, end, False))
            number, start = number + 1, end
    return parts


@dataclass(frozen=True)
class AccountListLayout:
    inline: tuple[dict, ...]  # statements for the role's inline policy
    managed: tuple[dict, ...]  # one statement per customer managed policy
    # (Sid of the whole statement, part number) of each managed statement, to name its policy.
    managed_parts: tuple[tuple[str, int], ...] = ()


def layout(
    statements: Sequence[AccountListStatement],
    values: Sequence[Sequence[str]],
    inline_budget: int,
) -> AccountListLayout:
    """The statements split into parts, each statement's values sorted and dealt out in order."""
    ordered = [sorted(listed) for listed in values]
    inline, managed, managed_parts = [], [], []
    for part in lay_out(statements, ordered, inline_budget):
        statement = statements[part.statement]
        rendered = statement.build(
            statement.part_sid(part.number), ordered[part.statement][part.start : part.end]
        )
        if part.inline:
            inline.append(rendered)
        else:
            managed.append(rendered)
            managed_parts.append((statement.sid, part.number))
    return AccountListLayout(tuple(inline), tuple(managed), tuple(managed_parts))


def managed_policies_needed(
    statements: Sequence[AccountListStatement], counts: Sequence[int], inline_budget: int
) -> int:
    """For `counts` account ids per statement (any ids: they all have 12 digits)."""
    values = [[PLACEHOLDER_ACCOUNT] * count for count in counts]
    return sum(not part.inline for part in lay_out(statements, values, inline_budget))


def largest_count_within_quota(
    policies_needed: Callable[[int], int],
    quota: int = IAM_MANAGED_POLICIES_PER_ROLE,
    ceiling: int = 20_000,
) -> int:
    """The largest n for which `policies_needed(n)` (non-decreasing in n) is within `quota`."""
    low, high = 0, ceiling
    while low < high:
        middle = (low + high + 1) // 2
        if policies_needed(middle) <= quota:
            low = middle
        else:
            high = middle - 1
    return low
