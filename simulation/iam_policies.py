"""The IAM statements a synthesized stack gives each of its roles, with intrinsics resolved.

CloudFormation names resources it creates without an explicit name as
`<stack>-<logical id>-<random suffix>`. The simulation has no deployment to learn the suffix
from, so it uses the stable `<stack>-<logical id>` for every generated name (roles, functions,
queues, log groups, state machines). ARNs built here and the ARNs the fakes put in requests must
come from the same functions, or a statement would silently stop matching.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from lineage_sharing.cloud_assembly import SynthesizedStack

POLICY_TYPE = "AWS::IAM::Policy"
MANAGED_POLICY_TYPE = "AWS::IAM::ManagedPolicy"
ROLE_TYPE = "AWS::IAM::Role"


class UnresolvableIntrinsic(ValueError):
    """A template value the simulation cannot turn into a plain value; names where it sits."""


# ---------------------------------------------------------------------------- names and ARNs
def physical_name(stack: SynthesizedStack, logical_id: str) -> str:
    """The name CloudFormation generates for an unnamed resource, minus its random suffix."""
    return f"{stack.name}-{logical_id}"


def simulated_role_arn(
    stack: SynthesizedStack, role_logical_id: str, partition: str = "aws"
) -> str:
    """The role's ARN: its RoleName (and Path) when the template gives one, else the name
    CloudFormation generates (minus its random suffix)."""
    return _role_arn(stack, role_logical_id, partition, role_logical_id)


def simulated_stack_id(stack: SynthesizedStack, partition: str = "aws") -> str:
    """The stack's id (`AWS::StackId`): its ARN, ending in a UUID CloudFormation picks; here one
    derived from the name, so every part of the simulation agrees on it."""
    return (
        f"arn:{partition}:cloudformation:{stack.region}:{stack.account}:"
        f"stack/{stack.name}/{uuid.uuid5(uuid.NAMESPACE_URL, stack.name)}"
    )


def url_suffix(partition: str) -> str:
    return "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"


# ---------------------------------------------------------------------------- policies of roles
def role_policies(stack: SynthesizedStack, partition: str = "aws") -> dict[str, list[dict]]:
    """Role ARN -> its resolved identity statements: inline `Policies` of each AWS::IAM::Role
    plus every AWS::IAM::Policy and AWS::IAM::ManagedPolicy of the template attached through
    `Roles`. Every role of the template is a key, even one with no statement, so its calls are
    evaluated (and denied) rather than passed to a fallback. Managed policies from outside the
    template (`ManagedPolicyArns`) are not expanded: see `managed_policy_arns`."""
    statements: dict[str, list[dict]] = {
        simulated_role_arn(stack, logical_id, partition): []
        for logical_id in _resources_of_type(stack, ROLE_TYPE)
    }
    for logical_id, role in _resources_of_type(stack, ROLE_TYPE).items():
        role_arn = simulated_role_arn(stack, logical_id, partition)
        for index, inline in enumerate(role["Properties"].get("Policies", [])):
            path = f"{logical_id}.Properties.Policies[{index}].PolicyDocument"
            statements[role_arn] += _statements_of(inline["PolicyDocument"], stack, partition, path)
    policies = {
        **_resources_of_type(stack, POLICY_TYPE),
        # A customer managed policy of the same template attaches itself through `Roles` too.
        **_resources_of_type(stack, MANAGED_POLICY_TYPE),
    }
    for logical_id, policy in policies.items():
        properties = policy["Properties"]
        document = f"{logical_id}.Properties.PolicyDocument"
        resolved = _statements_of(properties["PolicyDocument"], stack, partition, document)
        for index, role in enumerate(properties.get("Roles", [])):
            role_arn = _role_arn_of(
                role, stack, partition, f"{logical_id}.Properties.Roles[{index}]"
            )
            statements.setdefault(role_arn, []).extend(resolved)
    return statements


def trust_policies(stack: SynthesizedStack, partition: str = "aws") -> dict[str, list[dict]]:
    """Role ARN -> the resolved statements of its trust policy (AssumeRolePolicyDocument)."""
    return {
        simulated_role_arn(stack, logical_id, partition): _statements_of(
            role["Properties"]["AssumeRolePolicyDocument"],
            stack,
            partition,
            f"{logical_id}.Properties.AssumeRolePolicyDocument",
        )
        for logical_id, role in _resources_of_type(stack, ROLE_TYPE).items()
    }


def managed_policy_arns(stack: SynthesizedStack, partition: str = "aws") -> dict[str, list[str]]:
    """Role ARN -> the managed policy ARNs attached to it, which the evaluator does not expand
    (their documents are not in the template)."""
    attached = {}
    for logical_id, role in _resources_of_type(stack, ROLE_TYPE).items():
        arns = role["Properties"].get("ManagedPolicyArns", [])
        if arns:
            path = f"{logical_id}.Properties.ManagedPolicyArns"
            attached[simulated_role_arn(stack, logical_id, partition)] = resolve(
                arns, stack=stack, partition=partition, path=path
            )
    return attached


def _resources_of_type(stack: SynthesizedStack, resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in stack.resources.items() if v["Type"] == resource_type}


def _statements_of(
    document: dict, stack: SynthesizedStack, partition: str, path: str
) -> list[dict]:
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    return [
        resolve(statement, stack=stack, partition=partition, path=f"{path}.Statement[{index}]")
        for index, statement in enumerate(statements)
    ]


def _role_arn_of(role: Any, stack: SynthesizedStack, partition: str, path: str) -> str:
    """`Roles` of a policy holds role names: a Ref to a role of this template, or a literal
    name of a role made elsewhere in the same account."""
    if isinstance(role, dict) and set(role) == {"Ref"} and role["Ref"] in stack.resources:
        return simulated_role_arn(stack, role["Ref"], partition)
    name = resolve(role, stack=stack, partition=partition, path=path)
    return f"arn:{partition}:iam::{stack.account}:role/{name}"


# ---------------------------------------------------------------------------- intrinsics
def resolve(value: Any, *, stack: SynthesizedStack, partition: str, path: str = "") -> Any:
    """`value` with every intrinsic function replaced by what CloudFormation would put there
    in this simulation. Raises UnresolvableIntrinsic naming `path` for anything else."""
    if isinstance(value, list):
        return [
            resolve(item, stack=stack, partition=partition, path=f"{path}[{index}]")
            for index, item in enumerate(value)
        ]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key in _INTRINSICS:
            return _INTRINSICS[key](argument, stack, partition, f"{path}.{key}")
        if key.startswith("Fn::"):
            raise UnresolvableIntrinsic(f"{stack.name}: {path}: {key} is not supported")
    return {
        key: resolve(item, stack=stack, partition=partition, path=f"{path}.{key}" if path else key)
        for key, item in value.items()
    }


def _join(argument: Any, stack: SynthesizedStack, partition: str, path: str) -> str:
    delimiter, parts = argument
    resolved = resolve(parts, stack=stack, partition=partition, path=path)
    if not all(isinstance(part, str) for part in resolved):
        raise UnresolvableIntrinsic(f"{stack.name}: {path}: joins a non-string {resolved!r}")
    return delimiter.join(resolved)


def _ref(target: str, stack: SynthesizedStack, partition: str, path: str) -> str:
    pseudo_parameters = {
        "AWS::Partition": partition,
        "AWS::Region": stack.region,
        "AWS::AccountId": stack.account,
        "AWS::StackName": stack.name,
        "AWS::StackId": simulated_stack_id(stack, partition),
        "AWS::URLSuffix": url_suffix(partition),
    }
    if target in pseudo_parameters:
        return pseudo_parameters[target]
    resource_type = _resource_type(target, stack, path)
    if resource_type not in _REF_VALUE:
        raise UnresolvableIntrinsic(f"{stack.name}: {path}: Ref of a {resource_type}")
    return _REF_VALUE[resource_type](stack, target, partition, path)


def _get_att(argument: Any, stack: SynthesizedStack, partition: str, path: str) -> str:
    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
    resource_type = _resource_type(logical_id, stack, path)
    getter = _ATTRIBUTES.get((resource_type, attribute))
    if getter is None:
        raise UnresolvableIntrinsic(
            f"{stack.name}: {path}: Fn::GetAtt {attribute} of a {resource_type}"
        )
    return getter(stack, logical_id, partition, path)


def _resource_type(logical_id: str, stack: SynthesizedStack, path: str) -> str:
    if logical_id not in stack.resources:
        raise UnresolvableIntrinsic(f"{stack.name}: {path}: no resource {logical_id!r}")
    return stack.resources[logical_id]["Type"]


_INTRINSICS: dict[str, Callable[[Any, SynthesizedStack, str, str], Any]] = {
    "Fn::Join": _join,
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
}


# ---------------------------------------------------------------------------- per resource type
def _name(property_name: str) -> Callable[[SynthesizedStack, str, str, str], str]:
    """The resource's explicit name property, else the generated name."""

    def name_of(stack: SynthesizedStack, logical_id: str, partition: str, path: str) -> str:
        explicit = stack.resources[logical_id].get("Properties", {}).get(property_name)
        if explicit is None:
            return physical_name(stack, logical_id)
        return resolve(explicit, stack=stack, partition=partition, path=f"{path}->{logical_id}")

    return name_of


_role_name = _name("RoleName")
_log_group_name = _name("LogGroupName")
_function_name = _name("FunctionName")
_queue_name = _name("QueueName")
_state_machine_name = _name("StateMachineName")


def _regional_arn(service: str, resource: Callable[[str], str], name_of: Callable) -> Callable:
    def arn_of(stack: SynthesizedStack, logical_id: str, partition: str, path: str) -> str:
        name = name_of(stack, logical_id, partition, path)
        return f"arn:{partition}:{service}:{stack.region}:{stack.account}:{resource(name)}"

    return arn_of


def _role_arn(stack: SynthesizedStack, logical_id: str, partition: str, path: str) -> str:
    role_path = stack.resources[logical_id].get("Properties", {}).get("Path", "/")
    name = _role_name(stack, logical_id, partition, path)
    return f"arn:{partition}:iam::{stack.account}:role{role_path}{name}"


def _queue_url(stack: SynthesizedStack, logical_id: str, partition: str, path: str) -> str:
    name = _queue_name(stack, logical_id, partition, path)
    return f"https://sqs.{stack.region}.{url_suffix(partition)}/{stack.account}/{name}"


# GetAtt Arn of a log group ends in ":*" (it covers the group's streams), unlike its Ref.
_log_group_arn = _regional_arn("logs", lambda name: f"log-group:{name}:*", _log_group_name)
_function_arn = _regional_arn("lambda", lambda name: f"function:{name}", _function_name)
_queue_arn = _regional_arn("sqs", lambda name: name, _queue_name)
_state_machine_arn = _regional_arn(
    "states", lambda name: f"stateMachine:{name}", _state_machine_name
)

_REF_VALUE = {
    "AWS::IAM::Role": _role_name,
    "AWS::Logs::LogGroup": _log_group_name,
    "AWS::Lambda::Function": _function_name,
    "AWS::SQS::Queue": _queue_url,
    "AWS::StepFunctions::StateMachine": _state_machine_arn,
}

_ATTRIBUTES = {
    ("AWS::IAM::Role", "Arn"): _role_arn,
    ("AWS::Logs::LogGroup", "Arn"): _log_group_arn,
    ("AWS::Lambda::Function", "Arn"): _function_arn,
    ("AWS::SQS::Queue", "Arn"): _queue_arn,
    ("AWS::SQS::Queue", "QueueName"): _queue_name,
    ("AWS::SQS::Queue", "QueueUrl"): _queue_url,
    ("AWS::StepFunctions::StateMachine", "Arn"): _state_machine_arn,
    ("AWS::StepFunctions::StateMachine", "Name"): _state_machine_name,
}
