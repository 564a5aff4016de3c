"""Per (account, region): the CloudFormation execution policy its bootstrap attaches.

Deployed by an administrator *before* `cdk bootstrap`, so it cannot use the bootstrap: the
legacy synthesizer names no bootstrap roles and adds no bootstrap version check, and the
stack has no assets, so `cdk deploy` sends the template inline with the caller's own
credentials (or `aws cloudformation deploy` takes the template as it is). The policy covers exactly the resource types that the app's
stacks in this account and region use (read from the construct tree, so a new resource type
in any stack changes the policy, and its snapshot, in the same commit).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from aws_cdk import (
    CfnOutput,
    CfnResource,
    Environment,
    Fn,
    LegacyStackSynthesizer,
    Stack,
    Token,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from config.rollout_plan import DeploymentTarget
from lineage_constructs.execution_policy import CloudFormationExecutionPolicy
from lineage_constructs.execution_policy_document import DeploymentFootprint

POLICY_NAME_PREFIX = "LineageSharingCfnExecution"
GENERATED_NAME_PREFIX = 25  # characters of the stack name both name generators keep


class ExecutionPolicyStack(Stack):
    def __init__(
        self,
        scope: Construct,
        *,
        target: DeploymentTarget,
        footprint: DeploymentFootprint,
        trusted_account: str | None,
    ) -> None:
        super().__init__(
            scope,
            target.execution_policy_stack_name,
            stack_name=target.execution_policy_stack_name,
            env=Environment(account=target.account, region=target.region),
            synthesizer=LegacyStackSynthesizer(),
            description=f"CloudFormation execution policy for lineage sharing in "
            f"{target.label} ({target.account}) {target.region}; deploy before cdk bootstrap",
        )
        policy = CloudFormationExecutionPolicy(
            self, "ExecutionPolicy", footprint=footprint, name_prefix=POLICY_NAME_PREFIX
        )
        arns = Fn.join(",", [p.managed_policy_arn for p in policy.policies])
        CfnOutput(self, "ExecutionPolicyArns", value=arns)
        trust = f" --trust {trusted_account}" if trusted_account else ""
        CfnOutput(
            self,
            "BootstrapCommand",
            description="Bootstrap this account and region with exactly these policies",
            value=Fn.join(
                "",
                [
                    f"npx cdk bootstrap aws://{target.account}/{target.region}{trust} "
                    "--cloudformation-execution-policies ",
                    arns,
                ],
            ),
        )


def footprints_by_target(stacks: Iterable[Stack]) -> dict[tuple[str, str], DeploymentFootprint]:
    """What the given stacks create, grouped by the (account, region) they deploy to."""
    types: dict[tuple[str, str], set[str]] = defaultdict(set)
    buckets: dict[tuple[str, str], set[str]] = defaultdict(set)
    services: dict[tuple[str, str], set[str]] = defaultdict(set)
    for stack in stacks:
        key = (stack.account, stack.region)
        for node in stack.node.find_all():
            if not isinstance(node, CfnResource) or Stack.of(node).node.path != stack.node.path:
                continue
            types[key].add(node.cfn_resource_type)
            if isinstance(node, s3.CfnBucket):
                buckets[key].add(_bucket_name(stack, node))
            if isinstance(node, iam.CfnRole):
                services[key] |= _trusted_services(stack.resolve(node.assume_role_policy_document))
    return {
        key: DeploymentFootprint(
            frozenset(types[key]), frozenset(buckets[key]), frozenset(services[key])
        )
        for key in types
    }


def _bucket_name(stack: Stack, bucket: s3.CfnBucket) -> str:
    name = bucket.bucket_name
    if isinstance(name, str) and not Token.is_unresolved(name):
        return name
    # Unnamed, or named by CDK only once something in another environment refers to it. Both
    # generators start the name with the lower-cased stack name: CDK keeps its first 25
    # characters, CloudFormation shortens the logical id part first (README: "S3 names").
    return f"{stack.stack_name.lower()[:GENERATED_NAME_PREFIX]}*"


def _trusted_services(trust_policy: dict) -> set[str]:
    found: set[str] = set()
    for statement in trust_policy.get("Statement", []):
        service = statement.get("Principal", {}).get("Service", [])
        found |= {service} if isinstance(service, str) else set(service)
    return found
