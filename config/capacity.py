"""What one config may ask for within AWS quotas, checked before anything is built.

In invitation mode every consumer's acceptor role is fenced to its producers' account ids, and
every producer's share and share manager roles list its consumers. Both grow with the fleet; past these numbers the
stacks would synthesize but fail to deploy, so the config is refused, naming the limit.
Sharing through AWS Organizations (`sharing: {mode: organization}`: an organization or OU as
the principal) needs neither list: only accounts outside the organization are listed there.
The templates themselves are measured against every deploy-time limit after synthesis
(lineage_sharing/deploy_limits.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from config.model import StackPlan
from lineage_constructs import aws_limits
from lineage_constructs.acceptor_layout import max_producers_per_consumer
from lineage_constructs.share_manager_layout import max_consumers_per_producer

RAM_PRINCIPALS_PER_SHARE = 5_000  # default quota: principals associated with one share
# The optional query role (constructs/lineage_query_role.py) names every producer's lineage
# entity ARNs, four per producer (eight with association writes), in statements IAM cannot
# split below one managed policy of 6,144 characters. Measured in the longest region name
# (tests/stacks/test_fleet_limits.py builds a role at each number and checks every limit).
QUERY_ROLE_MAX_PRODUCERS = 70
QUERY_ROLE_WITH_ASSOCIATION_WRITES_MAX_PRODUCERS = 20

_ORGANIZATIONS_HINT = (
    "share through AWS Organizations instead (an organization or OU principal needs no "
    "invitations and no per-account lists)"
)


def capacity_problems(plans: Sequence[StackPlan]) -> Iterable[str]:
    fence_capacity = max_producers_per_consumer()
    share_capacity = max_consumers_per_producer()
    for plan in plans:
        where = f"{plan.account.name} ({plan.account.id}) in {plan.region}"
        # Only producers that invite need the fence: in organization mode, shares within the
        # organization need no acceptance (config/model.py, StackPlan.inviting_producers).
        inviting = plan.inviting_producers
        if len(inviting) > fence_capacity:
            yield (
                f"accounts: {where} would accept invitations from {len(inviting):,} "
                f"producers, but its acceptor role can be fenced to at most {fence_capacity:,} "
                f"(IAM: {aws_limits.IAM_INLINE_POLICIES_PER_ROLE_CHARS:,} characters of inline "
                f"policy per role, {aws_limits.IAM_MANAGED_POLICY_CHARS:,} per managed policy, "
                f"{aws_limits.IAM_MANAGED_POLICIES_PER_ROLE} managed policies per role); "
                f"{_ORGANIZATIONS_HINT}"
            )
        query_role = plan.account.query_role
        if query_role is not None and plan.producers:
            most = (
                QUERY_ROLE_WITH_ASSOCIATION_WRITES_MAX_PRODUCERS
                if query_role.association_writes
                else QUERY_ROLE_MAX_PRODUCERS
            )
            if len(plan.producers) > most:
                yield (
                    f"accounts: {where}: its query_role would name the lineage ARNs of "
                    f"{len(plan.producers):,} producers, but at most {most} fit "
                    f"(IAM: {aws_limits.IAM_MANAGED_POLICY_CHARS:,} characters per managed "
                    f"policy{', association_writes doubles the ARNs' if query_role.association_writes else ''}); "
                    "remove query_role from this account, or give it fewer producers"
                )
        principals = plan.share_principals  # one organization or OU stands for many accounts
        if len(principals) > share_capacity:
            yield (
                f"accounts: {where} would share with {len(principals):,} principals, but its "
                f"share manager role can name at most {share_capacity:,} (IAM: "
                f"{aws_limits.IAM_INLINE_POLICIES_PER_ROLE_CHARS:,} characters of inline policy "
                f"per role, {aws_limits.IAM_MANAGED_POLICY_CHARS:,} per managed policy, "
                f"{aws_limits.IAM_MANAGED_POLICIES_PER_ROLE} managed policies per role; each "
                f"principal is named for CreateResourceShare and AssociateResourceShare); "
                f"{_ORGANIZATIONS_HINT}"
            )
        if len(principals) > RAM_PRINCIPALS_PER_SHARE:
            yield (
                f"accounts: {where} would share with {len(principals):,} principals, but a "
                f"RAM resource share holds at most {RAM_PRINCIPALS_PER_SHARE:,} principals; "
                f"{_ORGANIZATIONS_HINT}"
            )
