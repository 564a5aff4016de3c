"""A role's account-list statements, as account_list_layout split them, attached in CDK."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from lineage_constructs.account_list_layout import AccountListLayout


def attach_account_lists(
    scope: Construct,
    role: iam.Role,
    layout: AccountListLayout,
    *,
    policy_ids: Mapping[str, str],
    describe: Callable[[str, int], str],
    acknowledgments: Mapping[str, Sequence[Acknowledgment]],
) -> list[iam.ManagedPolicy]:
    """Inline parts go to the role's default policy; each further part becomes the only
    statement of a customer managed policy `<policy_ids[sid]><part>` attached to the role.

    `describe(sid, part)` is the managed policy's description; `acknowledgments[sid]` are the
    cdk-nag findings each part of that statement raises, acknowledged where the part lands.
    """
    for statement in layout.inline:
        role.add_to_policy(iam.PolicyStatement.from_json(statement))
    for sid in {sid for sid, _ in layout.managed_parts} | {s["Sid"] for s in layout.inline}:
        for acknowledgment in acknowledgments.get(sid, ()):
            Validations.of(role).acknowledge(acknowledgment)
    policies = []
    for (sid, number), statement in zip(layout.managed_parts, layout.managed, strict=True):
        policy = iam.ManagedPolicy(
            scope,
            f"{policy_ids[sid]}{number}",
            description=describe(sid, number),
            document=iam.PolicyDocument(statements=[iam.PolicyStatement.from_json(statement)]),
            roles=[role],
        )
        for acknowledgment in acknowledgments.get(sid, ()):
            Validations.of(policy).acknowledge(acknowledgment)
        policies.append(policy)
    return policies
