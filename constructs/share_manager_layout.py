"""How the share manager's roles name their consumers within IAM's limits at any fleet size.

Two statements list every configured consumer in `ram:Principal`: CreateResourceShare's (the
principals a new share may name) and AssociateResourceShare's (the principals it may invite).
RAM authorizes each principal of a request in its own request context (RAM user guide, example
IAM policies), so a statement cut into parts that each list some consumers allows exactly the
principals the whole statement would. The custom resource's role carries both statements, the
schedule's role only the second; account_list_layout splits them within each role's inline
budget and then into customer managed policies.

Pure Python (no CDK): config validation uses the same arithmetic to refuse a producer whose
roles could not hold its consumers.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from lineage_constructs.account_list_layout import (
    POLICY_DOCUMENT_ENVELOPE,
    AccountListStatement,
    largest_count_within_quota,
    managed_policies_needed,
)
from lineage_constructs.aws_limits import IAM_INLINE_POLICIES_PER_ROLE_CHARS

CREATE_SHARE_SID = "CreateShareForConfiguredConsumersOnly"
INVITE_SID = "InviteOnlyConfiguredConsumers"

# The roles' other inline statements (lineage group, share management, logs, template read),
# resolved at their largest: a 255-character share name, the longest partition and region, the
# longest generated log group names. Measured at 2,400 and 1,100 characters with the example's
# share name; tests/stacks/test_fleet_limits.py checks the resolved total of each role.
HANDLER_ROLE_OTHER_STATEMENTS_CHARS = 3_600
RECONCILE_ROLE_OTHER_STATEMENTS_CHARS = 1_900
# The longest share ARN pattern and name the statements can carry, for config validation.
WORST_CASE_OWN_SHARES = "arn:aws-us-gov:ram:ap-southeast-5:123456789012:resource-share/*"
WORST_CASE_SHARE_NAME = "s" * 255


def create_share_statement(sid: str, principals: Sequence[str], external: str) -> dict:
    """CreateResourceShare's request contexts for principals: only the configured consumers."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "ram:CreateResourceShare",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"ram:Principal": list(principals)},
            "Bool": {"ram:RequestedAllowsExternalPrincipals": external},
        },
    }


def invite_statement(
    sid: str, principals: Sequence[str], own_resource_shares: str, share_name: str
) -> dict:
    """AssociateResourceShare of the configured consumers only (never of a resource)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Action": "ram:AssociateResourceShare",
        "Resource": own_resource_shares,
        "Condition": {
            "StringEquals": {
                "ram:ResourceShareName": share_name,
                "ram:Principal": list(principals),
            }
        },
    }


def handler_role_statements(
    own_resource_shares: str, share_name: str, external: str
) -> list[AccountListStatement]:
    """The custom resource's role: it creates the share and invites."""
    return [
        AccountListStatement(
            CREATE_SHARE_SID, lambda sid, p: create_share_statement(sid, p, external)
        ),
        *reconcile_role_statements(own_resource_shares, share_name),
    ]


def reconcile_role_statements(
    own_resource_shares: str, share_name: str
) -> list[AccountListStatement]:
    """The schedule's role: it only invites."""
    return [
        AccountListStatement(
            INVITE_SID, lambda sid, p: invite_statement(sid, p, own_resource_shares, share_name)
        )
    ]


def handler_role_inline_budget() -> int:
    return (
        IAM_INLINE_POLICIES_PER_ROLE_CHARS
        - POLICY_DOCUMENT_ENVELOPE
        - HANDLER_ROLE_OTHER_STATEMENTS_CHARS
    )


def reconcile_role_inline_budget() -> int:
    return (
        IAM_INLINE_POLICIES_PER_ROLE_CHARS
        - POLICY_DOCUMENT_ENVELOPE
        - RECONCILE_ROLE_OTHER_STATEMENTS_CHARS
    )


def managed_policies_for(consumers: int) -> dict[str, int]:
    """Role -> customer managed policies it needs for `consumers`, at the worst case."""
    handler = handler_role_statements(WORST_CASE_OWN_SHARES, WORST_CASE_SHARE_NAME, "false")
    reconcile = reconcile_role_statements(WORST_CASE_OWN_SHARES, WORST_CASE_SHARE_NAME)
    return {
        "share manager": managed_policies_needed(
            handler, [consumers] * len(handler), handler_role_inline_budget()
        ),
        "reconcile schedule": managed_policies_needed(
            reconcile, [consumers] * len(reconcile), reconcile_role_inline_budget()
        ),
    }


@functools.cache
def max_consumers_per_producer() -> int:
    """The most consumers one producer's roles can name within IAM's default quotas."""
    return largest_count_within_quota(lambda n: max(managed_policies_for(n).values()))
