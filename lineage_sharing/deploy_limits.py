"""Measure synthesized templates against the AWS limits that only bite at deploy time.

cfn-lint checks a template's shape, not whether IAM, Lambda or EventBridge will take it: a
policy over 6,144 characters, an environment over 4 KB or a rule input over 8,192 characters
synthesizes fine and fails the deployment. This module resolves the intrinsics the way the
offline simulation's IAM code does (`simulation.iam_policies.resolve`: pseudo parameters,
Refs, GetAtt Arns, generated names), substitutes the longest realistic value for what only
exists after deployment (the stack id, a custom resource's physical id and attributes), and
measures each value as the service counts it:

    python -m lineage_sharing.deploy_limits [--cdk-out cdk.out]   # exit status 1 if any limit is exceeded

The tests and `bench/scale_bench.py` use `measure_assembly` / `measure_stack`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.model import partition_of
from lineage_constructs import aws_limits
from lineage_sharing.cloud_assembly import SynthesizedStack, read_cloud_assembly
from simulation.iam_policies import resolve

# ---------------------------------------------------------------------------- the limits


@dataclass(frozen=True)
class Limit:
    name: str
    maximum: int
    unit: str


TEMPLATE_SIZE = Limit(
    "CloudFormation template body", aws_limits.CLOUDFORMATION_TEMPLATE_BYTES, "bytes"
)
TEMPLATE_RESOURCES = Limit(
    "CloudFormation resources per template", aws_limits.CLOUDFORMATION_RESOURCES, "resources"
)
TEMPLATE_OUTPUTS = Limit(
    "CloudFormation outputs per template", aws_limits.CLOUDFORMATION_OUTPUTS, "outputs"
)
TEMPLATE_PARAMETERS = Limit(
    "CloudFormation parameters per template", aws_limits.CLOUDFORMATION_PARAMETERS, "parameters"
)
ROLE_INLINE_POLICIES = Limit(
    "IAM inline policies per role, summed",
    aws_limits.IAM_INLINE_POLICIES_PER_ROLE_CHARS,
    "characters",
)
MANAGED_POLICY_SIZE = Limit("IAM managed policy", aws_limits.IAM_MANAGED_POLICY_CHARS, "characters")
ROLE_MANAGED_POLICIES = Limit(
    "IAM managed policies per role", aws_limits.IAM_MANAGED_POLICIES_PER_ROLE, "policies"
)
ROLE_TRUST_POLICY = Limit("IAM role trust policy", aws_limits.IAM_TRUST_POLICY_CHARS, "characters")
LAMBDA_ENVIRONMENT = Limit(
    "Lambda environment variables, in all", aws_limits.LAMBDA_ENVIRONMENT_BYTES, "bytes"
)
EVENTBRIDGE_INPUT = Limit(
    "EventBridge target input", aws_limits.EVENTBRIDGE_TARGET_INPUT_CHARS, "characters"
)
SSM_PARAMETER_VALUE = Limit(
    "SSM standard parameter value", aws_limits.SSM_STANDARD_PARAMETER_VALUE_CHARS, "characters"
)
CUSTOM_RESOURCE_REQUEST = Limit(
    "custom resource request (Provider framework state input)",
    aws_limits.CUSTOM_RESOURCE_REQUEST_BYTES,
    "bytes",
)
CUSTOM_RESOURCE_RESPONSE = Limit(
    "custom resource response", aws_limits.CUSTOM_RESOURCE_RESPONSE_BYTES, "bytes"
)

TEMPLATE_LIMITS = (
    TEMPLATE_SIZE,
    TEMPLATE_RESOURCES,
    TEMPLATE_OUTPUTS,
    TEMPLATE_PARAMETERS,
    ROLE_INLINE_POLICIES,
    MANAGED_POLICY_SIZE,
    ROLE_MANAGED_POLICIES,
    ROLE_TRUST_POLICY,
    LAMBDA_ENVIRONMENT,
    EVENTBRIDGE_INPUT,
    SSM_PARAMETER_VALUE,
    CUSTOM_RESOURCE_REQUEST,
)


@dataclass(frozen=True)
class Measurement:
    stack: str
    limit: Limit
    subject: str  # what was measured, by logical id
    size: int

    @property
    def exceeded(self) -> bool:
        return self.size > self.limit.maximum

    def __str__(self) -> str:
        verdict = "EXCEEDED" if self.exceeded else "ok"
        return (
            f"{self.stack}: {self.subject}: {self.limit.name} {self.size:,} of "
            f"{self.limit.maximum:,} {self.limit.unit} ({verdict})"
        )


def compact_json_size(value: Any) -> int:
    """Characters of the JSON text without whitespace, as IAM counts policies."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


# ---------------------------------------------------------------------------- values after deploy

_UUID_LENGTH = 36
_SHARE_ATTRIBUTES = {"ResourceShareArn": "share", "LineageGroupArn": "lineage_group"}


def _deploy_time_values(stack: SynthesizedStack, partition: str) -> dict[str, str]:
    """The longest value each deploy-time-only reference can take in this stack."""
    some_id = "0" * _UUID_LENGTH
    prefix = f"arn:{partition}"
    where = f"{stack.region}:{stack.account}"
    return {
        "stack_id": f"{prefix}:cloudformation:{where}:stack/{stack.name}/{some_id}",
        "share": f"{prefix}:ram:{where}:resource-share/{some_id}",
        "lineage_group": f"{prefix}:sagemaker:{where}:lineage-group/sagemaker-default-lineage-group",
    }


def _substitute_deploy_time(value: Any, stack: SynthesizedStack, values: Mapping[str, str]) -> Any:
    """Replace references whose value only exists after deployment with their longest value.

    Anything else is left for `resolve`, which raises on what it cannot resolve: an unknown
    reference is reported, never measured as zero.
    """
    if isinstance(value, list):
        return [_substitute_deploy_time(item, stack, values) for item in value]
    if not isinstance(value, dict):
        return value
    if value == {"Ref": "AWS::StackId"}:
        return values["stack_id"]
    if set(value) == {"Ref"} and _is_share(stack, value["Ref"]):
        return values["share"]  # the share manager's physical id is the share's ARN
    if set(value) == {"Fn::GetAtt"}:
        target = value["Fn::GetAtt"]
        logical_id, attribute = target.split(".", 1) if isinstance(target, str) else target
        if _is_share(stack, logical_id) and attribute in _SHARE_ATTRIBUTES:
            return values[_SHARE_ATTRIBUTES[attribute]]
    return {key: _substitute_deploy_time(item, stack, values) for key, item in value.items()}


def _is_share(stack: SynthesizedStack, logical_id: Any) -> bool:
    resource = stack.resources.get(logical_id) if isinstance(logical_id, str) else None
    return resource is not None and resource["Type"] == "Custom::LineageGroupShare"


class _Resolver:
    def __init__(self, stack: SynthesizedStack) -> None:
        self.stack = stack
        self.partition = partition_of(stack.region)
        self.values = _deploy_time_values(stack, self.partition)

    def __call__(self, value: Any, path: str) -> Any:
        substituted = _substitute_deploy_time(value, self.stack, self.values)
        return resolve(substituted, stack=self.stack, partition=self.partition, path=path)


# ---------------------------------------------------------------------------- measuring


def measure_stack(stack: SynthesizedStack, template_bytes: int) -> list[Measurement]:
    """Every limit-bound value of one stack's template."""
    resolved = _Resolver(stack)
    template = stack.template
    found = [
        Measurement(stack.name, TEMPLATE_SIZE, "template", template_bytes),
        Measurement(stack.name, TEMPLATE_RESOURCES, "template", len(stack.resources)),
        Measurement(stack.name, TEMPLATE_OUTPUTS, "template", len(template.get("Outputs", {}))),
        Measurement(
            stack.name, TEMPLATE_PARAMETERS, "template", len(template.get("Parameters", {}))
        ),
    ]
    found += _measure_roles(stack, resolved)
    for logical_id, resource in stack.resources.items():
        properties = resource.get("Properties", {})
        kind = resource["Type"]
        if kind == "AWS::Lambda::Function" and "Environment" in properties:
            variables = resolved(properties["Environment"].get("Variables", {}), logical_id)
            size = len(json.dumps(variables, separators=(",", ":")).encode())
            found.append(Measurement(stack.name, LAMBDA_ENVIRONMENT, logical_id, size))
        elif kind == "AWS::Events::Rule":
            for index, target in enumerate(properties.get("Targets", [])):
                if "Input" in target:
                    text = resolved(target["Input"], f"{logical_id}.Targets[{index}].Input")
                    subject = f"{logical_id} target {target.get('Id', index)}"
                    found.append(Measurement(stack.name, EVENTBRIDGE_INPUT, subject, len(text)))
        elif kind == "AWS::SSM::Parameter":
            value = resolved(properties["Value"], f"{logical_id}.Value")
            if properties.get("Tier", "Standard") == "Standard":
                found.append(Measurement(stack.name, SSM_PARAMETER_VALUE, logical_id, len(value)))
        elif kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource":
            request = custom_resource_request_bytes(resolved(properties, logical_id))
            found.append(Measurement(stack.name, CUSTOM_RESOURCE_REQUEST, logical_id, request))
    return found


def _measure_roles(stack: SynthesizedStack, resolved: _Resolver) -> list[Measurement]:
    inline: dict[str, int] = {}
    managed: dict[str, int] = {}
    found = []
    for logical_id, resource in stack.resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            trust = resolved(properties["AssumeRolePolicyDocument"], logical_id)
            found.append(
                Measurement(stack.name, ROLE_TRUST_POLICY, logical_id, compact_json_size(trust))
            )
            inline[logical_id] = inline.get(logical_id, 0) + sum(
                compact_json_size(resolved(policy["PolicyDocument"], logical_id))
                for policy in properties.get("Policies", [])
            )
            managed[logical_id] = managed.get(logical_id, 0) + len(
                properties.get("ManagedPolicyArns", [])
            )
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            size = compact_json_size(resolved(properties["PolicyDocument"], logical_id))
            roles = [_role_logical_id(role) for role in properties.get("Roles", [])]
            if resource["Type"] == "AWS::IAM::ManagedPolicy":
                found.append(Measurement(stack.name, MANAGED_POLICY_SIZE, logical_id, size))
                for role in roles:
                    managed[role] = managed.get(role, 0) + 1
            else:
                for role in roles:
                    inline[role] = inline.get(role, 0) + size
    found += [
        Measurement(stack.name, ROLE_INLINE_POLICIES, f"role {role}", size)
        for role, size in inline.items()
    ]
    found += [
        Measurement(stack.name, ROLE_MANAGED_POLICIES, f"role {role}", count)
        for role, count in managed.items()
    ]
    return found


def _role_logical_id(role: Any) -> str:
    # `Roles` holds role names: a Ref to a role of this template, or a literal name.
    if isinstance(role, dict) and set(role) == {"Ref"}:
        return role["Ref"]
    return str(role)


# CloudFormation's request envelope around the properties (request type, URLs, ids).
_REQUEST_ENVELOPE_BYTES = 2_048


def custom_resource_request_bytes(properties: Mapping[str, Any]) -> int:
    """An Update carries the new and the old properties: twice the properties plus envelope."""
    return 2 * len(json.dumps(properties, separators=(",", ":")).encode()) + (
        _REQUEST_ENVELOPE_BYTES
    )


def custom_resource_response_bytes(event: Mapping[str, Any], result: Mapping[str, Any]) -> int:
    """The body the CDK Provider framework sends to CloudFormation for a handler's result."""
    body = {
        "Status": "SUCCESS",
        "Reason": "SUCCESS",
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "PhysicalResourceId": result.get("PhysicalResourceId") or event.get("PhysicalResourceId"),
        "LogicalResourceId": event["LogicalResourceId"],
        "NoEcho": bool(result.get("NoEcho", False)),
        "Data": result.get("Data", {}),
    }
    return len(json.dumps(body, separators=(",", ":")).encode())


def measure_assembly(cdk_out: Path) -> list[Measurement]:
    manifest = json.loads((cdk_out / "manifest.json").read_text())
    files = {
        name: artifact["properties"]["templateFile"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    measurements = []
    for stack in read_cloud_assembly(cdk_out):
        size = (cdk_out / files[stack.name]).stat().st_size
        measurements += measure_stack(stack, size)
    return measurements


def largest(measurements: Iterable[Measurement]) -> dict[Limit, Measurement]:
    """The biggest measurement of each limit."""
    biggest: dict[Limit, Measurement] = {}
    for measurement in measurements:
        current = biggest.get(measurement.limit)
        if current is None or measurement.size > current.size:
            biggest[measurement.limit] = measurement
    return biggest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cdk-out", default="cdk.out")
    args = parser.parse_args(argv)
    cdk_out = Path(args.cdk_out)
    if not (cdk_out / "manifest.json").exists():
        print(f"error: {cdk_out} has no cloud assembly; run `make synth` first", file=sys.stderr)
        return 1
    measurements = measure_assembly(cdk_out)
    exceeded = [m for m in measurements if m.exceeded]
    for measurement in largest(measurements).values():
        print(f"largest: {measurement}")
    for measurement in exceeded:
        print(f"error: {measurement}", file=sys.stderr)
    stacks = len({m.stack for m in measurements})
    print(f"{'FAIL' if exceeded else 'OK'}: {len(exceeded)} limit(s) exceeded in {stacks} stack(s)")
    return 1 if exceeded else 0


if __name__ == "__main__":
    sys.exit(main())
