"""AWS CloudFormation, the one call a handler makes: GetTemplate of its own stack.

The producer's reconcile schedule reads the desired state (the custom resource's properties)
from the stack's template instead of carrying it in the EventBridge rule's input, which is
limited to 8,192 characters. The rollout driver tells this fake which template each stack
holds: the new one from the moment an update starts (Inference: the CloudFormation
documentation does not say which template GetTemplate returns while an update or its rollback
is in progress; the share's principal-set tag guards the handler either way).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from simulation.authorization import AuthorizationRequest
from simulation.fake_service import Arn, Caller, FakeOperation, Params, Response, ServiceError


@dataclass
class _Stack:
    stack_id: str
    name: str
    template: Mapping[str, Any]


class CloudFormationFake:
    def __init__(self, *, partition: str) -> None:
        self._partition = partition
        self._stacks: dict[str, _Stack] = {}  # by stack id
        self.validation_error_code = "ValidationError"
        self.operations: dict[str, FakeOperation] = {
            "GetTemplate": FakeOperation(self._authorize_get_template, self._get_template),
        }

    # ------------------------------------------------------------------ for the rollout driver

    def put_template(self, stack_id: str, template: Mapping[str, Any]) -> None:
        """The template CloudFormation holds for the stack from now on."""
        parsed = Arn.parse(stack_id)
        if parsed is None or parsed.service != "cloudformation" or parsed.resource_type != "stack":
            raise ValueError(f"not a stack id: {stack_id!r}")
        name = parsed.resource.split("/")[1]
        self._stacks[stack_id] = _Stack(stack_id, name, json.loads(json.dumps(template)))

    def remove_stack(self, stack_id: str) -> None:
        self._stacks.pop(stack_id, None)

    # ------------------------------------------------------------------ GetTemplate

    def _authorize_get_template(self, caller: Caller, params: Params) -> list[AuthorizationRequest]:
        stack = self._find(caller, params["StackName"])
        # SAR: GetTemplate acts on arn:${Partition}:cloudformation:${Region}:${Account}:
        # stack/${StackName}/${Id}.
        resource = (
            stack.stack_id
            if stack is not None
            else f"arn:{self._partition}:cloudformation:{caller.region}:{caller.account}:"
            f"stack/{params['StackName']}/*"
        )
        return [caller.authorization_request("cloudformation:GetTemplate", resource)]

    def _get_template(self, caller: Caller, params: Params) -> Response:
        for unsupported in ("ChangeSetName", "TemplateStage"):
            if unsupported in params:
                raise NotImplementedError(f"GetTemplate {unsupported}")
        stack = self._find(caller, params["StackName"])
        if stack is None:
            # CloudFormation's answer for a stack it does not know (query protocol, HTTP 400).
            raise ServiceError(
                "ValidationError", f"Stack with id {params['StackName']} does not exist"
            )
        return {
            "TemplateBody": json.dumps(stack.template, indent=1),
            "StagesAvailable": ["Original", "Processed"],
        }

    def _find(self, caller: Caller, name_or_id: str) -> _Stack | None:
        found: Callable[[_Stack], bool] = (
            (lambda stack: stack.stack_id == name_or_id)
            if name_or_id.startswith("arn:")
            else (lambda stack: stack.name == name_or_id)
        )
        for stack in self._stacks.values():
            parsed = Arn.parse(stack.stack_id)
            assert parsed is not None
            if (parsed.account, parsed.region) == (caller.account, caller.region) and found(stack):
                return stack
        return None
