"""How the acceptor's allow-list of producers fits AWS limits at any size of fleet.

Two places carry the producer account ids, and both grow with the fleet:

* the IAM fence. `ram:AcceptResourceShareInvitation` and `ram:ListPendingInvitationResources`
  are granted on this region's invitation ARNs (`arn:<partition>:ram:<region>:*:
  resource-share-invitation/*`) with `ram:ShareOwnerAccountId` equal to a configured producer.
  An invitation ARN carries its sender's account, and only a share's owner sends its
  invitations, so "ARN account is a producer and owner is a producer" (one ARN per producer,
  the former form) and "owner is a producer" admit exactly the same invitations, at 15
  characters per producer instead of about 80. The owner list fills one inline statement up
  to what the role's inline budget leaves, then one customer managed policy per further
  statement, within IAM's 6,144 characters each and 10 managed policies per role;
* the allow-list the handler checks before it calls RAM at all. Lambda allows 4 KB of
  environment in all (about 300 account ids), so the list lives in standard-tier SSM
  StringList parameters of at most 4,096 characters each (315 ids), which the handler reads
  once per execution environment; the environment only names them and carries the list's
  SHA-256, so any change of the list is also a change of the function's configuration (fresh
  execution environments read the new list) and a half-updated read is refused.

Pure Python (no CDK): config validation uses the same arithmetic to refuse a fleet that cannot
fit, naming the limit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

from lineage_constructs.aws_limits import (
    IAM_INLINE_POLICIES_PER_ROLE_CHARS,
    IAM_MANAGED_POLICIES_PER_ROLE,
    IAM_MANAGED_POLICY_CHARS,
    SSM_STANDARD_PARAMETER_VALUE_CHARS,
)

FENCED_ACTIONS = ("ram:AcceptResourceShareInvitation", "ram:ListPendingInvitationResources")
OWNER_CONDITION_KEY = "ram:ShareOwnerAccountId"
FENCE_SID = "AcceptOnlyFromConfiguredProducers"

# The acceptor role's other inline statements (log writing, the DLQ, the invitation list),
# whose ARNs are only resolved at deploy time: a generous allowance for their resolved size.
OTHER_INLINE_STATEMENTS_CHARS = 1_200
# Its statement that reads the allow-list parameters: per parameter ARN (resolved, with the
# longest stack names and regions this app generates).
PARAMETER_READ_STATEMENT_CHARS = 120
PARAMETER_READ_CHARS_PER_PARAMETER = 140

ACCOUNT_ID_LENGTH = 12
# "123456789012," per id, no comma after the last: 315 ids in 4,094 characters.
ACCOUNT_IDS_PER_PARAMETER = (SSM_STANDARD_PARAMETER_VALUE_CHARS + 1) // (ACCOUNT_ID_LENGTH + 1)
_POLICY_DOCUMENT_ENVELOPE = len('{"Version":"2012-10-17","Statement":[]}')
# The longest partition name with the longest region name: the longest invitation ARN the
# layout can meet, so config validation needs no per-region arithmetic.
WORST_CASE_INVITATION_ARN = "arn:aws-us-gov:ram:ap-southeast-5:*:resource-share-invitation/*"


def invitation_arn_pattern(partition: str, region: str) -> str:
    return f"arn:{partition}:ram:{region}:*:resource-share-invitation/*"


def fence_statement(sid: str, invitation_arn: str, owners: Sequence[str]) -> dict:
    """One Allow of the fenced actions for invitations of shares owned by `owners`."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": list(FENCED_ACTIONS),
        "Resource": invitation_arn,
        "Condition": {"StringEquals": {OWNER_CONDITION_KEY: list(owners)}},
    }


def policy_chars(value: object) -> int:
    """Size as IAM counts it: the JSON text without whitespace."""
    return len(json.dumps(value, separators=(",", ":")))


@dataclass(frozen=True)
class FenceLayout:
    inline: tuple[dict, ...]  # statements for the role's inline policy (zero or one)
    managed: tuple[dict, ...]  # one statement per customer managed policy

    @property
    def owners(self) -> list[str]:
        return [
            owner
            for statement in (*self.inline, *self.managed)
            for owner in statement["Condition"]["StringEquals"][OWNER_CONDITION_KEY]
        ]


def parameter_count(producers: int) -> int:
    return max(1, -(-producers // ACCOUNT_IDS_PER_PARAMETER))


def inline_fence_budget(producers: int) -> int:
    """Characters of inline policy the fence statement may use, given the rest of the role."""
    reading = PARAMETER_READ_STATEMENT_CHARS + PARAMETER_READ_CHARS_PER_PARAMETER * parameter_count(
        producers
    )
    return (
        IAM_INLINE_POLICIES_PER_ROLE_CHARS
        - _POLICY_DOCUMENT_ENVELOPE
        - OTHER_INLINE_STATEMENTS_CHARS
        - reading
    )


def _owners_that_fit(budget: int, sid: str, invitation_arn: str) -> int:
    # Each further 12-digit id adds exactly 15 characters: `"123456789012",`.
    empty = policy_chars(fence_statement(sid, invitation_arn, []))
    return max(0, (budget - empty + 1) // (ACCOUNT_ID_LENGTH + 3))


def _part_sizes(producers: int, invitation_arn: str) -> list[int]:
    """How many owners the inline statement and each managed policy take, in order."""
    sizes = [
        min(producers, _owners_that_fit(inline_fence_budget(producers), FENCE_SID, invitation_arn))
    ]
    rest = producers - sizes[0]
    while rest > 0:
        sid = f"{FENCE_SID}{len(sizes) + 1}"
        fit = _owners_that_fit(
            IAM_MANAGED_POLICY_CHARS - _POLICY_DOCUMENT_ENVELOPE, sid, invitation_arn
        )
        sizes.append(min(rest, fit))
        rest -= sizes[-1]
    return sizes


def fence_layout(owners: Sequence[str], invitation_arn: str) -> FenceLayout:
    """Owners packed into the inline statement first, then into managed policies."""
    owners = sorted(owners)
    if not owners:
        return FenceLayout((), ())
    statements, start = [], 0
    for number, size in enumerate(_part_sizes(len(owners), invitation_arn), start=1):
        sid = FENCE_SID if number == 1 else f"{FENCE_SID}{number}"
        statements.append(fence_statement(sid, invitation_arn, owners[start : start + size]))
        start += size
    return FenceLayout((statements[0],), tuple(statements[1:]))


@functools.cache
def max_producers_per_consumer(invitation_arn: str = WORST_CASE_INVITATION_ARN) -> int:
    """The most producers one acceptor role can be fenced to within IAM's default quotas."""
    low, high = 1, 100_000
    while low < high:  # the largest n whose layout needs at most the quota of managed policies
        middle = (low + high + 1) // 2
        if len(_part_sizes(middle, invitation_arn)) - 1 <= IAM_MANAGED_POLICIES_PER_ROLE:
            low = middle
        else:
            high = middle - 1
    return low


def allow_list_chunks(producers: Sequence[str]) -> list[list[str]]:
    """The sorted producer ids, split into StringList parameter values of at most 4,096 chars."""
    ordered = sorted(producers)
    return [
        ordered[start : start + ACCOUNT_IDS_PER_PARAMETER]
        for start in range(0, len(ordered), ACCOUNT_IDS_PER_PARAMETER)
    ]
