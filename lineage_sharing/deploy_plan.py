"""Who shares with whom, and the order to deploy the stacks in, read from the cloud assembly.

The table comes from the templates in cdk.out, not from the config alone, so it shows what was
actually synthesized: which stacks share, with whom, and whom each acceptor trusts.

Order: a consumer's stack goes before the stacks of the producers that share with it, so its
acceptor exists when the invitation (and RAM's event about it) arrives. Accounts that share
with each other both ways form a cycle that no order can satisfy; they are one step, and the
consumer's scheduled sweep accepts what arrived before its acceptor existed. In organization
mode the management account's stack goes first of all: RAM refuses organization and OU
principals until it has enabled sharing with AWS Organizations.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import networkx as nx

from config.rollout_plan import StackSetPlan
from lineage_sharing.cloud_assembly import SynthesizedStack, directed_pairs
from lineage_sharing.text_table import render_table

ProfileFor = Callable[[str], str | None]  # account id -> AWS CLI profile, if known


@dataclass(frozen=True)
class DeployStep:
    stacks: tuple[SynthesizedStack, ...]
    # Some stacks in this step share with each other both ways: one of them is deployed
    # before a consumer of it, whatever the order.
    cycle: bool


def deploy_steps(stacks: Sequence[SynthesizedStack]) -> list[DeployStep]:
    """Steps in dependency order; the stacks within one step may be deployed in any order."""
    graph = nx.DiGraph()
    graph.add_nodes_from(stack.name for stack in stacks)
    for producer, consumer in directed_pairs(stacks):
        graph.add_edge(consumer.name, producer.name)  # the consumer first
    for enabler in (stack for stack in stacks if stack.enables_organization_sharing):
        for stack in stacks:
            if stack is not enabler:
                graph.add_edge(enabler.name, stack.name)
    by_name = {stack.name: stack for stack in stacks}
    condensed = nx.condensation(graph)
    steps = []
    for generation in nx.topological_generations(condensed):
        groups = [condensed.nodes[node]["members"] for node in generation]
        names = sorted(name for group in groups for name in group)
        steps.append(DeployStep(tuple(by_name[n] for n in names), any(len(g) > 1 for g in groups)))
    return steps


def cdk_command(verb: str, target: str, config_path: str, profile: str | None = None) -> str:
    """A `npx cdk` command line that works when pasted in the CDK app's folder."""
    parts = ["npx", "cdk", verb, target, "-c", f"config={config_path}"]
    if profile:
        parts += ["--profile", profile]
    return shlex.join(parts)


def deploy_command(stack: SynthesizedStack, config_path: str, profile: str | None = None) -> str:
    """`-c stacks=<the stack>`: the app builds only the stack it deploys, not the whole fleet
    (config/selection.py)."""
    command = cdk_command("deploy", stack.name, config_path, profile)
    return f"{command} {shlex.join(['-c', f'stacks={stack.name}'])}"


def render(
    stacks: Sequence[SynthesizedStack],
    names: dict[str, str],
    *,
    config_path: str,
    sweep_minutes: int,
    profile_for: ProfileFor = lambda account: None,
) -> str:
    def who(ids: tuple[str, ...]) -> str:
        # An organization or OU ARN (organization mode) stands for itself.
        return ", ".join(f"{names.get(i, '?')} ({i})" if i.isdigit() else i for i in ids) or "-"

    def shares(stack: SynthesizedStack) -> str:
        if stack.enables_organization_sharing:
            return "- (enables RAM sharing with AWS Organizations)"
        return who(stack.shares_with)

    header = (
        "stack",
        "account",
        "region",
        "shares its lineage group with",
        "accepts invitations from",
    )
    rows = [
        (
            s.name,
            f"{names.get(s.account, '?')} ({s.account})",
            s.region,
            shares(s),
            who(s.accepts_from),
        )
        for s in stacks
    ]
    lines = [render_table(header, rows), ""]
    credentials = (
        "each with that account's credentials"
        if not any(profile_for(s.account) for s in stacks)
        else "each with the profile shown"
    )
    lines.append(f"Once per account and region, unless done already ({credentials}):")
    environments = sorted({(s.account, s.region) for s in stacks})
    lines += [
        "  " + cdk_command("bootstrap", f"aws://{a}/{r}", config_path, profile_for(a))
        for a, r in environments
    ]
    lines.append("")
    lines.append(f"Then deploy, consumers before producers ({credentials}):")
    for number, step in enumerate(deploy_steps(stacks), start=1):
        note = (
            f"these share with each other both ways, so some invitations arrive before their "
            f"acceptor exists: its scheduled sweep accepts them within {sweep_minutes} minutes"
            if step.cycle
            else "any order within the step"
        )
        lines.append(f"  step {number} ({note}):")
        lines += [
            "    " + deploy_command(s, config_path, profile_for(s.account)) for s in step.stacks
        ]
    return "\n".join(lines)


def render_stack_set(plan: StackSetPlan, *, config_path: str) -> str:
    """The StackSet path (README "Path 3"), with the administrator account's credentials."""
    admin = plan.administrator_account
    role = "the management account" if plan.call_as == "SELF" else "the delegated administrator"
    ous = ", ".join(plan.organizational_unit_ids)
    lines = [
        f"StackSet {plan.stack_set_name} (service-managed, auto-deployment on, CallAs "
        f"{plan.call_as}), administered from {role} {admin} in {plan.region}:",
        f"  every account of {ous} gets the member stack in {', '.join(plan.regions)}, sharing "
        f"its lineage group with {', '.join(plan.share_principals)}; accounts that join later "
        "too, with no command run",
        "  an account leaving the OUs: its member stacks are "
        + ("kept (no longer managed)" if plan.retain_stacks_on_account_removal else "deleted"),
        "  never the management account itself (service-managed StackSets skip it): give it "
        "its own stack in `accounts:`",
        "",
        f"With {admin}'s credentials, once: trusted access for StackSets "
        "(organizations enable-aws-service-access, or the CloudFormation console), then:",
    ]
    environments = sorted({plan.region, *plan.regions})
    lines += [
        "  " + cdk_command("bootstrap", f"aws://{admin}/{r}", config_path) for r in environments
    ]
    lines += [
        "  " + cdk_command("deploy", bucket.stack_name, config_path)
        for bucket in plan.asset_buckets
    ]
    lines.append(
        "  node codebuild/cdk-assets/cdk-assets.js --path "
        "cdk.out/LineageSharingStackSetMember*.stackset-assets.json publish"
    )
    lines.append("  " + cdk_command("deploy", plan.stack_name, config_path))
    return "\n".join(lines)
