"""Consumer side, opt-in: a role people and tools assume to read the producers' lineage.

RAM's share grants the consumer account only the resource side (the lineage group's policy
names the account); a caller also needs identity-side permission for the producers' entity
ARNs. This role has exactly that: describe the producers' actions, artifacts, contexts and
trial components, QueryLineage (IAM has no resource type for it), and, when enabled,
AddAssociation/DeleteAssociation between this account's and the producers' entities.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from lineage_constructs.nag_findings import finding_partition

# (IAM action, the resource type in its ARN) for reading one kind of lineage entity; the
# Service Authorization Reference gives each Describe action exactly this resource type.
DESCRIBE_ACTIONS = (
    ("sagemaker:DescribeAction", "action"),
    ("sagemaker:DescribeArtifact", "artifact"),
    ("sagemaker:DescribeContext", "context"),
    ("sagemaker:DescribeTrialComponent", "experiment-trial-component"),
)
# The entity types a shared lineage group covers (its RAM-made policy names these four).
LINEAGE_RESOURCE_TYPES = tuple(resource_type for _, resource_type in DESCRIBE_ACTIONS)
ASSOCIATION_ACTIONS = ("sagemaker:AddAssociation", "sagemaker:DeleteAssociation")


class LineageQueryRole(Construct):
    """Exposes `role`. `trusted_principals` are ARNs (account roots, roles, users)."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        role_name: str,
        producer_accounts: Sequence[str],
        trusted_principals: Sequence[str],
        association_writes: bool,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        producers = sorted(producer_accounts)
        self.role = iam.Role(
            self,
            "Role",
            role_name=role_name,
            assumed_by=iam.CompositePrincipal(
                *(iam.ArnPrincipal(arn) for arn in sorted(trusted_principals))
            ),
            description="Reads the lineage the configured producers share with this account",
        )

        def entities(accounts: Sequence[str], resource_type: str) -> list[str]:
            return [
                stack.format_arn(
                    service="sagemaker", account=account, resource=resource_type, resource_name="*"
                )
                for account in accounts
            ]

        for action, resource_type in DESCRIBE_ACTIONS:
            name = action.removeprefix("sagemaker:Describe")
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"DescribeProducers{name}s",
                    actions=[action],
                    resources=entities(producers, resource_type),
                )
            )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="QueryLineage", actions=["sagemaker:QueryLineage"], resources=["*"]
            )
        )
        # An association names two entities, one of this account and one of a producer; IAM
        # authorizes the call on both.
        writable = [*producers, stack.account] if association_writes else []
        if association_writes:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="AssociateThisAccountsAndProducersLineage",
                    actions=list(ASSOCIATION_ACTIONS),
                    resources=[
                        arn
                        for resource_type in LINEAGE_RESOURCE_TYPES
                        for arn in entities(writable, resource_type)
                    ],
                )
            )
        self._acknowledge(stack, sorted({*producers, *writable}))

    def _acknowledge(self, stack: Stack, accounts: Sequence[str]) -> None:
        findings = Validations.of(self.role)
        findings.acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="sagemaker:QueryLineage has no resource type in IAM, so it needs Resource "
                "'*'; it is read-only, and SageMaker answers only with entities of lineage groups "
                "shared with this account (and this account's own).",
            )
        )
        partition, region = finding_partition(stack), stack.region
        for account in accounts:
            for resource_type in LINEAGE_RESOURCE_TYPES:
                findings.acknowledge(
                    Acknowledgment(
                        id=f"AwsSolutions-IAM5[Resource::arn:{partition}:sagemaker:{region}:"
                        f"{account}:{resource_type}/*]",
                        reason=f"Lineage entity names are chosen by their account's pipelines "
                        f"and users; the grant is limited to {resource_type} ARNs of this region "
                        "in the configured producer accounts (and, for associations, this "
                        "account), which RAM's lineage group share covers.",
                    )
                )
