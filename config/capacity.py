"""What one config may ask for within AWS quotas, checked before anything is built.

In invitation mode every consumer's acceptor role is fenced to its producers' account ids, and
every producer's share lists its consumers. Both grow with the fleet; past these numbers the
stacks would synthesize but fail to deploy, so the config is refused, naming the limit.
Sharing through AWS Organizations (an organization or OU as the principal) needs neither list.
The templates themselves are measured against every deploy-time limit after synthesis
(cli/deploy_limits.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from config.model import StackPlan
from lineage_constructs import aws_limits
from lineage_constructs.acceptor_layout import max_producers_per_consumer

RAM_PRINCIPALS_PER_SHARE = 5_000  # default quota: principals associated with one share

_ORGANIZATIONS_HINT = (
    "share through AWS Organizations instead (an organization or OU principal needs no "
    "invitations and no per-account lists)"
)


def capacity_problems(plans: Sequence[StackPlan]) -> Iterable[str]:
    fence_capacity = max_producers_per_consumer()
    for plan in plans:
        where = f"{plan.account.name} ({plan.account.id}) in {plan.region}"
        if len(plan.producers) > fence_capacity:
            yield (
                f"accounts: {where} would accept invitations from {len(plan.producers):,} "
                f"producers, but its acceptor role can be fenced to at most {fence_capacity:,} "
                f"(IAM: {aws_limits.IAM_INLINE_POLICIES_PER_ROLE_CHARS:,} characters of inline "
                f"policy per role, {aws_limits.IAM_MANAGED_POLICY_CHARS:,} per managed policy, "
                f"{aws_limits.IAM_MANAGED_POLICIES_PER_ROLE} managed policies per role); "
                f"{_ORGANIZATIONS_HINT}"
            )
        if len(plan.consumers) > RAM_PRINCIPALS_PER_SHARE:
            yield (
                f"accounts: {where} would share with {len(plan.consumers):,} consumers, but a "
                f"RAM resource share holds at most {RAM_PRINCIPALS_PER_SHARE:,} principals; "
                f"{_ORGANIZATIONS_HINT}"
            )
