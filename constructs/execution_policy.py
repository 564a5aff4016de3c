"""Managed policies for the CDK bootstrap's CloudFormation execution role, instead of
AdministratorAccess: only what the account's own templates need (execution_policy_document).

The document uses pseudo parameters only, so the same template fits every account with the
same footprint (a StackSet could carry it). IAM caps a managed policy at 6,144 characters:
the statements are split over as many policies as needed, each named
`<name_prefix>-<region>-<n>` so the bootstrap command can name them before they exist.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Aws, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from constructs import Construct

from lineage_constructs.execution_policy_document import (
    ACCOUNT,
    PARTITION,
    REGION,
    DeploymentFootprint,
    Statement,
    document,
    execution_policy_statements,
    split_into_policies,
)

PSEUDO_PARAMETERS = {PARTITION: Aws.PARTITION, REGION: Aws.REGION, ACCOUNT: Aws.ACCOUNT_ID}
# How cdk-nag prints a pseudo parameter inside a finding's resource.
NAG_PSEUDO_PARAMETERS = {
    PARTITION: "<AWS::Partition>",
    REGION: "<AWS::Region>",
    ACCOUNT: "<AWS::AccountId>",
}


class CloudFormationExecutionPolicy(Construct):
    def __init__(
        self, scope: Construct, id_: str, *, footprint: DeploymentFootprint, name_prefix: str
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        if Token.is_unresolved(stack.account) or Token.is_unresolved(stack.region):
            raise ValueError("the execution policy stack needs a concrete account and region")
        statements = execution_policy_statements(footprint, stack.region)
        parts = split_into_policies(statements, account=stack.account, region=stack.region)
        self.policies: list[iam.ManagedPolicy] = []
        for number, part in enumerate(parts, start=1):
            policy = iam.ManagedPolicy(
                self,
                f"Part{number}",
                managed_policy_name=f"{name_prefix}-{Aws.REGION}-{number}",
                description=f"CloudFormation execution policy {number}/{len(parts)} for the "
                "lineage sharing stacks (cdk bootstrap --cloudformation-execution-policies)",
                document=iam.PolicyDocument.from_json(_with_pseudo_parameters(document(part))),
            )
            _acknowledge_wildcards(policy, part)
            self.policies.append(policy)


def _with_pseudo_parameters(value):
    if isinstance(value, str):
        for placeholder, token in PSEUDO_PARAMETERS.items():
            value = value.replace(placeholder, token)
        return value
    if isinstance(value, list):
        return [_with_pseudo_parameters(item) for item in value]
    if isinstance(value, dict):
        return {key: _with_pseudo_parameters(item) for key, item in value.items()}
    return value


def _acknowledge_wildcards(policy: iam.ManagedPolicy, statements: list[Statement]) -> None:
    """One acknowledgment per wildcard resource, saying why no narrower ARN exists."""
    by_resource: dict[str, list[Statement]] = {}
    for statement in statements:
        for resource in statement.resources:
            if "*" in resource:
                by_resource.setdefault(resource, []).append(statement)
    for resource, granting in sorted(by_resource.items()):
        finding = resource
        for placeholder, printed in NAG_PSEUDO_PARAMETERS.items():
            finding = finding.replace(placeholder, printed)
        Validations.of(policy).acknowledge(
            Acknowledgment(
                id=f"AwsSolutions-IAM5[Resource::{finding}]", reason=_reason(resource, granting)
            )
        )


def _reason(resource: str, granting: list[Statement]) -> str:
    statement = granting[0]
    if resource == "*":
        return (
            "IAM has no resource type for these actions, so they need Resource '*': "
            + ", ".join(action for s in granting for action in s.actions)
            + ". The CloudFormation registry lists them as handler calls for the resource "
            "types the templates use."
        )
    if statement.sid == "PassRolesToTheirServices":
        return (
            "CloudFormation names the roles the templates create; iam:PassRole is limited to "
            "this account's roles and, by iam:PassedToService, to the services those roles trust."
        )
    if statement.sid == "InvokeCustomResourceProviders":
        return (
            "CloudFormation invokes a custom resource's provider function (its ServiceToken) "
            "with the execution role; the function is named by CloudFormation, in this account "
            "and region."
        )
    if ":s3:::" in resource:
        return (
            "S3 ARNs carry no account: limited to the CDK asset bucket of this account and region "
            "(Lambda code, named by content hash) or to buckets the templates create, which "
            "CloudFormation names after the stack."
        )
    service = resource.split(":")[2]
    return (
        f"CloudFormation generates the names of the {service} resources the templates create at "
        "deploy time; limited to this account"
        + (" and region." if f":{REGION}:" in resource else ".")
    )
