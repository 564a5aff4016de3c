"""Systems Manager Parameter Store, the subset the acceptor reads: GetParameters.

The acceptor's allow-list lives in `AWS::SSM::Parameter` resources of its stack. CloudFormation
writes those with the deploying principal's rights, so the rollout driver puts and deletes them
directly (`put`, `delete`), and only the handler's own reads go through the API and IAM.

GetParameters as the service answers it: up to 10 names (the model's limit, checked by the
world), names that do not exist come back in `InvalidParameters` rather than as an error, and
IAM authorizes `ssm:GetParameters` on each named parameter's ARN (`parameter/<name without
its leading slash>`), so one name the role may not read denies the whole call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from simulation.authorization import AuthorizationRequest
from simulation.fake_service import Caller, FakeOperation, Params, Response

PARAMETER_TYPES = ("String", "StringList", "SecureString")


@dataclass
class Parameter:
    name: str
    type: str
    value: str
    version: int
    last_modified: datetime


class SsmFake:
    def __init__(self, *, now: Callable[[], datetime], partition: str) -> None:
        self._now = now
        self._partition = partition
        self._parameters: dict[tuple[str, str, str], Parameter] = {}
        self.validation_error_code = "ValidationException"
        self.operations = {
            "GetParameters": FakeOperation(self._authorize_get_parameters, self._get_parameters)
        }

    # ------------------------------------------------------------------ CloudFormation's side

    def put(self, account: str, region: str, name: str, parameter_type: str, value: str) -> None:
        """Create the parameter, or give it a new version when its value or type changed."""
        if parameter_type not in PARAMETER_TYPES:
            raise ValueError(f"unknown SSM parameter type {parameter_type!r}")
        key = (account, region, name)
        current = self._parameters.get(key)
        if current is not None and (current.type, current.value) == (parameter_type, value):
            return
        version = current.version + 1 if current else 1
        self._parameters[key] = Parameter(name, parameter_type, value, version, self._now())

    def delete(self, account: str, region: str, name: str) -> None:
        self._parameters.pop((account, region, name), None)

    def names(self, account: str, region: str) -> list[str]:
        return sorted(name for a, r, name in self._parameters if (a, r) == (account, region))

    def arn(self, account: str, region: str, name: str) -> str:
        return f"arn:{self._partition}:ssm:{region}:{account}:parameter/{name.removeprefix('/')}"

    # ------------------------------------------------------------------ GetParameters

    def _authorize_get_parameters(
        self, caller: Caller, params: Params
    ) -> list[AuthorizationRequest]:
        return [
            caller.authorization_request(
                "ssm:GetParameters", self.arn(caller.account, caller.region, name)
            )
            for name in params["Names"]
        ]

    def _get_parameters(self, caller: Caller, params: Params) -> Response:
        found, invalid = [], []
        for name in params["Names"]:
            if ":" in name:
                # Version and label selectors (name:3, name:label) and ARNs as names.
                raise NotImplementedError(f"GetParameters of {name!r} is not simulated")
            parameter = self._parameters.get((caller.account, caller.region, name))
            if parameter is None:
                invalid.append(name)
                continue
            found.append(
                {
                    "Name": parameter.name,
                    "Type": parameter.type,
                    "Value": parameter.value,
                    "Version": parameter.version,
                    "LastModifiedDate": parameter.last_modified,
                    "ARN": self.arn(caller.account, caller.region, parameter.name),
                    "DataType": "text",
                }
            )
        response: Response = {"Parameters": found}
        if invalid:  # the model gives the list a minimum length of 1: absent when empty
            response["InvalidParameters"] = invalid
        return response
