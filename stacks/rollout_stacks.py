"""The `rollout:` section's stacks: pipelines (config/rollout_plan.py), the StackSet and its
regional code buckets (stacks/stack_set_stack.py) and, for every account and region they or
`cdk deploy` deploy to, the execution policy stack for `cdk bootstrap`.

The per-account stacks stay top-level and unchanged, so `cdk deploy <stack>` keeps working
next to the pipeline: a pipeline deploys its own copy of each (same stack name, same
template), wrapped in a CDK Stage.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Stack

from config.model import SharingConfig
from config.rollout_plan import CODEPIPELINE_QUOTAS, CodePipelineQuotas, plan_rollout
from stacks.execution_policy_stack import ExecutionPolicyStack, footprints_by_target
from stacks.pipeline_stack import LineageSharingPipelineStack
from stacks.stack_set_stack import (
    LineageSharingStackSetStack,
    StackSetAssetsStack,
    StackSetMemberStack,
)


def add_rollout_stacks(
    app: App,
    config: SharingConfig,
    *,
    config_file: str | Path,
    quotas: CodePipelineQuotas = CODEPIPELINE_QUOTAS,
) -> list[Stack]:
    """Call after the per-account stacks exist: the execution policies cover what is built."""
    assert config.rollout is not None
    plan = plan_rollout(config, quotas=quotas)
    settings = config.rollout.pipeline
    pipelines: list[Stack] = [
        LineageSharingPipelineStack(
            app, plan=planned, settings=settings, config=config, config_file=config_file
        )
        for planned in plan.pipelines
        if settings is not None
    ]
    stack_set: list[Stack] = []
    if plan.stack_set is not None:
        organization_id = config.sharing.organization_arn.rsplit("/", 1)[1]
        asset_stacks = [
            StackSetAssetsStack(
                app, plan=plan.stack_set, bucket=bucket, organization_id=organization_id
            )
            for bucket in plan.stack_set.asset_buckets
        ]
        stack_set = [
            *asset_stacks,
            LineageSharingStackSetStack(
                app, plan=plan.stack_set, config=config, asset_stacks=asset_stacks
            ),
        ]
    # The member template is deployed by StackSets, not with this app's bootstrap roles.
    deployed = [
        node
        for node in app.node.find_all()
        if isinstance(node, Stack) and not isinstance(node, StackSetMemberStack)
    ]
    footprints = footprints_by_target(deployed)
    planned_targets = {(t.account, t.region) for t in plan.targets}
    if set(footprints) != planned_targets:
        raise AssertionError(
            f"the rollout plan's targets {sorted(planned_targets)} differ from the "
            f"(account, region) pairs the app deploys to {sorted(footprints)}"
        )
    policies = [
        ExecutionPolicyStack(
            app,
            target=target,
            footprint=footprints[(target.account, target.region)],
            trusted_account=settings.account
            if settings is not None and settings.account != target.account
            else None,
        )
        for target in plan.targets
    ]
    return pipelines + stack_set + policies
