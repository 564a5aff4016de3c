"""The seam between the fake AWS services and IAM evaluation.

For every call it answers, the fake builds one `AuthorizationRequest` per resource the action
acts on (as IAM does) and asks the world's `Authorizer`; a denial becomes the service's
AccessDeniedException. `simulation.iam` provides the authorizer that evaluates the policies
synthesized in the stack templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

# Resource of an action that has no resource type in the Service Authorization Reference.
ANY_RESOURCE = "*"


@dataclass(frozen=True)
class AuthorizationRequest:
    principal_arn: str  # the calling role, e.g. arn:aws:iam::111111111111:role/<name>
    account: str  # the caller's account
    region: str
    action: str  # "<service prefix>:<Action>", e.g. "ram:AcceptResourceShareInvitation"
    resource: str  # the ARN acted on, or ANY_RESOURCE
    # Request context keys, e.g. {"ram:ShareOwnerAccountId": "222222222222"}; a multivalued
    # key (ram:Principal, ram:ResourceArn, aws:TagKeys) is a tuple of strings.
    context: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthorizationResult:
    allowed: bool
    reason: str  # which statement allowed it, or why nothing did


class Authorizer(Protocol):
    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult: ...


class AllowAll:
    """For principals the simulation does not model (a person with admin rights)."""

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        return AuthorizationResult(True, "not evaluated: unmodelled principal")
