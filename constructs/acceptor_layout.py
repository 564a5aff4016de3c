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
  statement, within IAM's 6,144 characters each and 10 managed policies per role (the split
  is account_list_layout's, which the share manager's role uses too);
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
from collections.abc import Sequence
from dataclasses import dataclass

from lineage_constructs.account_list_layout import (
    ACCOUNT_ID_LENGTH,
    POLICY_DOCUMENT_ENVELOPE,
    AccountListLayout,
    AccountListStatement,
    largest_count_within_quota,
    layout,
    managed_policies_needed,
)
from lineage_constructs.aws_limits import (
    IAM_INLINE_POLICIES_PER_ROLE_CHARS,
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

# "123456789012," per id, no comma after the last: 315 ids in 4,094 characters.
ACCOUNT_IDS_PER_PARAMETER = (SSM_STANDARD_PARAMETER_VALUE_CHARS + 1) // (ACCOUNT_ID_LENGTH + 1)
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


def _fence(invitation_arn: str) -> AccountListStatement:
    return AccountListStatement(
        FENCE_SID, lambda sid, owners: fence_statement(sid, invitation_arn, owners)
    )


@dataclass(frozen=True)
class FenceLayout(AccountListLayout):
    """The inline statement (zero or one) and one statement per customer managed policy."""

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
        - POLICY_DOCUMENT_ENVELOPE
        - OTHER_INLINE_STATEMENTS_CHARS
        - reading
    )


def fence_layout(owners: Sequence[str], invitation_arn: str) -> FenceLayout:
    """Owners packed into the inline statement first, then into managed policies."""
    split = layout([_fence(invitation_arn)], [owners], inline_fence_budget(len(owners)))
    return FenceLayout(split.inline, split.managed, split.managed_parts)


@functools.cache
def max_producers_per_consumer(invitation_arn: str = WORST_CASE_INVITATION_ARN) -> int:
    """The most producers one acceptor role can be fenced to within IAM's default quotas."""
    fence = [_fence(invitation_arn)]
    return largest_count_within_quota(
        lambda producers: managed_policies_needed(
            fence, [producers], inline_fence_budget(producers)
        )
    )


def allow_list_chunks(producers: Sequence[str]) -> list[list[str]]:
    """The sorted producer ids, split into StringList parameter values of at most 4,096 chars."""
    ordered = sorted(producers)
    return [
        ordered[start : start + ACCOUNT_IDS_PER_PARAMETER]
        for start in range(0, len(ordered), ACCOUNT_IDS_PER_PARAMETER)
    ]
