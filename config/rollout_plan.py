"""Where each per-account stack deploys in the pipeline, and the order to tear everything down.

Pure (no CDK): computed from the config's per-(account, region) plans, unit-tested for 10, 100
and 500 accounts, and used by stacks/pipeline_stack.py to build exactly this layout.

CodePipeline's fixed structural quotas (README "Pipeline quotas" cites the AWS page): at most
50 actions per stage, 50 stages per pipeline and 500 actions per pipeline. Every stack costs
two actions (CloudFormation change set prepare + execute), a manual approval one more, and CDK
Pipelines adds four stages of one action each before the first wave (Source, Build, i.e. the
synth step, UpdatePipeline, i.e. self-mutation, and Assets, one action for all file assets).

Order inside a wave, so nobody is invited before they can accept: stacks that only *receive*
deploy first, then stacks that share and receive, then stacks that only *share*. Every
invitation a stage sends then goes to a consumer whose acceptor already runs or deploys in the
same stage (its schedule accepts within `sweep_interval_minutes`, far inside the 12 h expiry).
Invitations to consumers in a *later* wave wait for that wave (`RolloutPlan.waits`); if a
manual approval holds that wave past 12 h, RAM expires them and the producer's reconcile
schedule re-sends them, so the consumer is caught up at most one sweep after it deploys.

The StackSet rollout (`rollout.stack_set`, organization mode) is planned by `plan_stack_set`:
where its stack and the regional Lambda code buckets deploy, whom it targets, and its place
in the teardown (before the per-account stacks: it deletes every member stack it made).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from config.model import SharingConfig, StackPlan, plan_stacks


@dataclass(frozen=True)
class CodePipelineQuotas:
    actions_per_stage: int = 50
    stages_per_pipeline: int = 50
    actions_per_pipeline: int = 500


CODEPIPELINE_QUOTAS = CodePipelineQuotas()
# Before the first wave: Source, Build (synth), UpdatePipeline (self-mutation), Assets.
PIPELINE_OVERHEAD_STAGES = 4
PIPELINE_OVERHEAD_ACTIONS = 4
ACTIONS_PER_STACK = 2  # change set prepare + execute
APPROVAL_ACTIONS = 1
PIPELINE_NAME = "LineageSharingPipeline"
EXECUTION_POLICY_STACK_PREFIX = "LineageSharingExecutionPolicy"


def is_rollout_stack(stack_name: str) -> bool:
    """A stack of the rollout machinery (pipelines, execution policies, the StackSet and its
    buckets), not one that shares or receives: `lineage-sharing plan`/`status` leave it out."""
    prefixes = (PIPELINE_NAME, EXECUTION_POLICY_STACK_PREFIX, STACK_SET_STACK_NAME)
    return stack_name.startswith(prefixes)


class Step(IntEnum):
    """Deploy order inside a wave."""

    CONSUMERS = 1
    PRODUCERS_AND_CONSUMERS = 2
    PRODUCERS = 3

    @property
    def label(self) -> str:
        return {1: "Consumers", 2: "ProducersAndConsumers", 3: "Producers"}[self.value]


def step_of(plan: StackPlan) -> Step:
    if not plan.shares:
        return Step.CONSUMERS
    return Step.PRODUCERS_AND_CONSUMERS if plan.receives else Step.PRODUCERS


def deployment_stage_id(plan: StackPlan) -> str:
    """The CDK Stage that wraps one per-account stack in the pipeline."""
    return f"{plan.account.name}-{plan.region}"


@dataclass(frozen=True)
class StagePlan:
    """One CodePipeline stage: its stacks deploy in parallel."""

    wave: int
    step: Step
    part: int  # 1-based; a step with more stacks than one stage holds is split
    parts: int
    approval: bool  # a manual approval runs first
    stacks: tuple[StackPlan, ...]

    @property
    def name(self) -> str:
        suffix = f"-{self.part}" if self.parts > 1 else ""
        return f"Wave{self.wave}-{self.step.label}{suffix}"

    @property
    def codepipeline_stage_name(self) -> str:
        # CDK Pipelines does not wrap a wave of a single stage: the stage takes its name.
        return self.name if len(self.stacks) > 1 else deployment_stage_id(self.stacks[0])

    @property
    def actions(self) -> int:
        return APPROVAL_ACTIONS * self.approval + ACTIONS_PER_STACK * len(self.stacks)


@dataclass(frozen=True)
class PipelinePlan:
    name: str
    stages: tuple[StagePlan, ...]
    started_by: str | None  # the pipeline whose success starts this one (None: the source)

    @property
    def actions(self) -> int:
        return PIPELINE_OVERHEAD_ACTIONS + sum(stage.actions for stage in self.stages)

    @property
    def stage_count(self) -> int:
        return PIPELINE_OVERHEAD_STAGES + len(self.stages)

    @property
    def stacks(self) -> list[StackPlan]:
        return [plan for stage in self.stages for plan in stage.stacks]


@dataclass(frozen=True)
class InvitationWait:
    """A producer deploys in an earlier wave than one of its consumers."""

    producer_stack: str
    consumer_stack: str
    producer_wave: int
    consumer_wave: int


def plan_pipelines(
    plans: Sequence[StackPlan],
    approvals_before_waves: Iterable[int] = (),
    quotas: CodePipelineQuotas = CODEPIPELINE_QUOTAS,
) -> list[PipelinePlan]:
    """Waves split into stages by deploy step and stage quota, stages packed into pipelines."""
    stages = list(_stages(plans, set(approvals_before_waves), quotas))
    return list(_pack(stages, quotas))


def _stages(
    plans: Sequence[StackPlan], approvals: set[int], quotas: CodePipelineQuotas
) -> Iterable[StagePlan]:
    for wave in sorted({plan.account.wave for plan in plans}):
        approval_pending = wave in approvals
        for step in Step:
            stacks = sorted(
                (p for p in plans if p.account.wave == wave and step_of(p) == step),
                key=lambda p: p.stack_name,
            )
            chunks = []
            while stacks:
                # A stage must fit a stage and, with CDK's own stages, a whole pipeline.
                budget = min(
                    quotas.actions_per_stage,
                    quotas.actions_per_pipeline - PIPELINE_OVERHEAD_ACTIONS,
                )
                room = (budget - APPROVAL_ACTIONS * approval_pending) // ACTIONS_PER_STACK
                chunks.append((approval_pending, tuple(stacks[:room])))
                stacks = stacks[room:]
                approval_pending = False
            for part, (approval, chunk) in enumerate(chunks, start=1):
                yield StagePlan(wave, step, part, len(chunks), approval, chunk)


def _pack(stages: Sequence[StagePlan], quotas: CodePipelineQuotas) -> Iterable[PipelinePlan]:
    """Fill pipelines in order; each later pipeline starts when the one before succeeds."""
    pipelines: list[PipelinePlan] = []
    current: list[StagePlan] = []

    def close() -> None:
        name = PIPELINE_NAME if not pipelines else f"{PIPELINE_NAME}-{len(pipelines) + 1}"
        started_by = pipelines[-1].name if pipelines else None
        pipelines.append(PipelinePlan(name, tuple(current), started_by))

    for stage in stages:
        candidate = PipelinePlan("", (*current, stage), None)
        fits = (
            candidate.stage_count <= quotas.stages_per_pipeline
            and candidate.actions <= quotas.actions_per_pipeline
        )
        if current and not fits:
            close()
            current = []
        current.append(stage)
    if current:
        close()
    return pipelines


def _waits(plans: Sequence[StackPlan]) -> Iterable[InvitationWait]:
    by_account_region = {(p.account.id, p.region): p for p in plans}
    for producer in plans:
        for consumer_id in producer.consumers:
            consumer = by_account_region[(consumer_id, producer.region)]
            if consumer.account.wave > producer.account.wave:
                yield InvitationWait(
                    producer.stack_name,
                    consumer.stack_name,
                    producer.account.wave,
                    consumer.account.wave,
                )


# ---------------------------------------------------------------------------------- teardown


class TeardownKind(IntEnum):
    PIPELINES = 1
    STACK_SET = 2
    STACK_SET_ASSETS = 3
    PRODUCERS = 4
    CONSUMERS = 5
    ORGANIZATION_SHARING = 6
    BOOTSTRAP = 7
    EXECUTION_POLICIES = 8


TEARDOWN_EFFECTS = {
    TeardownKind.PIPELINES: "No access changes. The pipelines go first, so no run re-creates "
    "a stack while it is being torn down.",
    TeardownKind.STACK_SET: "Deleting the StackSet's stack deletes every member stack it made "
    "(CloudFormation deletes the stack instances before the StackSet), each member's share with "
    "it: consumers lose access to the members' lineage, account by account, as StackSets works "
    "through the OUs under the operation preferences; auto-deployment stops at once.",
    TeardownKind.STACK_SET_ASSETS: "No access changes. The Lambda code buckets are needed only "
    "to create or update member stacks; the buckets are retained: empty and delete them.",
    TeardownKind.PRODUCERS: "Each deleted share ends every consumer's access to that "
    "producer's lineage at once; stacks still in place keep what they have.",
    TeardownKind.CONSUMERS: "No access changes: the producers' shares are gone already. "
    "(Deleting a consumer-only stack alone never revokes access: a consumer cannot leave a "
    "lineage-group share, only its producer can remove it.)",
    TeardownKind.ORGANIZATION_SHARING: "No access changes: no share names the organization any "
    "more. The management account's stack leaves RAM's sharing with AWS Organizations enabled "
    "(other shares may use it); disable it by hand if nothing else does.",
    TeardownKind.BOOTSTRAP: "No access changes. Needs every app stack gone: CloudFormation "
    "deletes a stack with the bootstrap's execution role.",
    TeardownKind.EXECUTION_POLICIES: "No access changes. Needs the bootstrap gone: IAM refuses "
    "to delete a policy still attached to the execution role.",
}


@dataclass(frozen=True)
class TeardownStep:
    kind: TeardownKind
    stacks: tuple[str, ...]  # CloudFormation stack names, each deleted in its own account

    @property
    def effect(self) -> str:
        return TEARDOWN_EFFECTS[self.kind]


# ---------------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class DeploymentTarget:
    """An (account, region) the rollout deploys stacks to, so it needs bootstrapping."""

    account: str
    region: str
    label: str  # the account's name in the config, or its id (a pipeline account not listed)

    @property
    def execution_policy_stack_name(self) -> str:
        return f"{EXECUTION_POLICY_STACK_PREFIX}-{self.label}-{self.region}"


STACK_SET_STACK_NAME = "LineageSharingStackSet"
STACK_SET_ASSETS_STACK_PREFIX = "LineageSharingStackSetAssets"


@dataclass(frozen=True)
class AssetBucketPlan:
    region: str
    bucket_name: str

    @property
    def stack_name(self) -> str:
        return f"{STACK_SET_ASSETS_STACK_PREFIX}-{self.region}"


@dataclass(frozen=True)
class StackSetPlan:
    """The StackSet stack (administrator account, home region) and its regional code buckets."""

    stack_set_name: str
    administrator_account: str
    region: str  # the StackSet's home region
    call_as: str  # SELF (management account) or DELEGATED_ADMIN
    organizational_unit_ids: tuple[str, ...]
    regions: tuple[str, ...]  # where member stacks deploy
    share_principals: tuple[str, ...]  # the organization or OU ARNs every member shares with
    retain_stacks_on_account_removal: bool
    asset_buckets: tuple[AssetBucketPlan, ...]
    stack_name: str = STACK_SET_STACK_NAME

    @property
    def bucket_prefix(self) -> str:
        """Every bucket's name is this + the region (what the member template names)."""
        first = self.asset_buckets[0]
        return first.bucket_name.removesuffix(first.region)

    @property
    def stacks(self) -> tuple[str, ...]:
        return (*(b.stack_name for b in self.asset_buckets), self.stack_name)


def plan_stack_set(config: SharingConfig) -> StackSetPlan | None:
    settings = config.rollout.stack_set if config.rollout is not None else None
    if settings is None:
        return None
    sharing = config.sharing
    administrator = settings.account or sharing.management_account
    return StackSetPlan(
        stack_set_name=settings.stack_set_name,
        administrator_account=administrator,
        region=settings.region,
        call_as="SELF" if administrator == sharing.management_account else "DELEGATED_ADMIN",
        organizational_unit_ids=settings.target_ou_ids(sharing.ou_arns),
        regions=settings.regions,
        share_principals=sharing.principals,
        retain_stacks_on_account_removal=settings.retain_stacks_on_account_removal,
        asset_buckets=tuple(
            AssetBucketPlan(region, settings.asset_bucket_name(administrator, region))
            for region in settings.regions
        ),
    )


@dataclass(frozen=True)
class RolloutPlan:
    pipelines: tuple[PipelinePlan, ...]  # empty without a `rollout.pipeline` section
    waits: tuple[InvitationWait, ...]
    targets: tuple[DeploymentTarget, ...]  # bootstrapped; with `rollout:` each gets a policy stack
    teardown: tuple[TeardownStep, ...]
    stack_set: StackSetPlan | None = None  # without a `rollout.stack_set` section: None

    @property
    def stages(self) -> list[StagePlan]:
        return [stage for pipeline in self.pipelines for stage in pipeline.stages]


def plan_rollout(
    config: SharingConfig,
    plans: Sequence[StackPlan] | None = None,
    quotas: CodePipelineQuotas = CODEPIPELINE_QUOTAS,
) -> RolloutPlan:
    """Every rollout path of the config; `plans` defaults to plan_stacks(config).

    Without a `rollout:` section that is `cdk deploy` per account only: no pipelines and no
    execution policy stacks to tear down.
    """
    plans = plan_stacks(config) if plans is None else plans
    pipeline = config.rollout.pipeline if config.rollout is not None else None
    pipelines = (
        plan_pipelines(plans, pipeline.manual_approval_before_waves, quotas) if pipeline else []
    )
    names = {account.id: account.name for account in config.accounts}
    pairs = {(p.account.id, p.region) for p in plans}
    support_stacks = []
    if pipeline is not None:
        pairs.add((pipeline.account, pipeline.region))
        for planned in pipelines:
            other_regions = sorted({p.region for p in planned.stacks} - {pipeline.region})
            pairs |= {(pipeline.account, region) for region in other_regions}
            # CDK's cross-region support stacks hold the artifact replication buckets.
            support_stacks += [f"{planned.name}-support-{region}" for region in other_regions]
    sharing = config.sharing
    if sharing.organization:
        # The management account's stack (enables RAM sharing with AWS Organizations).
        pairs.add((sharing.management_account, sharing.management_account_region))
    stack_set = plan_stack_set(config)
    if stack_set is not None:
        pairs.add((stack_set.administrator_account, stack_set.region))
        pairs |= {(stack_set.administrator_account, b.region) for b in stack_set.asset_buckets}
    targets = [DeploymentTarget(a, r, names.get(a, a)) for a, r in sorted(pairs)]
    teardown = [
        TeardownStep(TeardownKind.PIPELINES, (*(p.name for p in pipelines), *support_stacks)),
        TeardownStep(TeardownKind.STACK_SET, (stack_set.stack_name,) if stack_set else ()),
        TeardownStep(
            TeardownKind.STACK_SET_ASSETS,
            tuple(b.stack_name for b in stack_set.asset_buckets) if stack_set else (),
        ),
        TeardownStep(TeardownKind.PRODUCERS, tuple(p.stack_name for p in plans if p.shares)),
        TeardownStep(TeardownKind.CONSUMERS, tuple(p.stack_name for p in plans if not p.shares)),
        # `cdk bootstrap`'s stack, in every target account and region.
        TeardownStep(
            TeardownKind.ORGANIZATION_SHARING,
            (sharing.management_stack_name,) if sharing.organization else (),
        ),
        TeardownStep(TeardownKind.BOOTSTRAP, ("CDKToolkit",)),
        TeardownStep(
            TeardownKind.EXECUTION_POLICIES,
            tuple(t.execution_policy_stack_name for t in targets if config.rollout is not None),
        ),
    ]
    return RolloutPlan(
        pipelines=tuple(pipelines),
        waits=tuple(_waits(plans)),
        targets=tuple(targets),
        teardown=tuple(step for step in teardown if step.stacks),
        stack_set=stack_set,
    )
