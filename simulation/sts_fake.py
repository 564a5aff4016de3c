"""AWS STS, the part people use to reach a consumer's query role: AssumeRole and
GetCallerIdentity.

AssumeRole needs both sides, as IAM decides it: the caller's identity policy must allow
sts:AssumeRole on the role (the world's authorizer), and the role's trust policy must name the
caller or the caller's account (`trust`, the policies synthesized in the templates). The
credentials it returns stand for the role: a client made with them (`World.client_for`) calls
as the role, so every later call is judged by the role's own policy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from simulation.authorization import AuthorizationRequest, AuthorizationResult
from simulation.fake_service import Arn, Caller, FakeOperation, Params, Response, ServiceError

DEFAULT_SESSION = timedelta(hours=1)  # STS: DurationSeconds defaults to 3,600


class TrustPolicies(Protocol):
    def may_assume(self, role_arn: str, principal_arn: str, account: str) -> AuthorizationResult:
        """Does the role's trust policy let this principal (of this account) assume it?"""
        ...


@dataclass(frozen=True)
class RoleSession:
    caller: Caller  # the role, as later calls are made
    expires: datetime


class StsFake:
    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        trust: Callable[[], TrustPolicies],
        new_id: Callable[[], str],
        partition: str,
    ) -> None:
        self._now = now
        self._trust = trust
        self._new_id = new_id
        self._partition = partition
        self.sessions: dict[str, RoleSession] = {}  # by access key id
        self.validation_error_code = "ValidationError"
        self.operations: dict[str, FakeOperation] = {
            "AssumeRole": FakeOperation(self._authorize_assume_role, self._assume_role),
            "GetCallerIdentity": FakeOperation(lambda caller, params: [], self._get_identity),
        }

    def _authorize_assume_role(self, caller: Caller, params: Params) -> list[AuthorizationRequest]:
        return [caller.authorization_request("sts:AssumeRole", params["RoleArn"])]

    def _assume_role(self, caller: Caller, params: Params) -> Response:
        for unsupported in ("Policy", "PolicyArns", "Tags", "ExternalId", "SerialNumber"):
            if unsupported in params:
                raise NotImplementedError(f"AssumeRole {unsupported}")
        role_arn = params["RoleArn"]
        role = Arn.parse(role_arn)
        if role is None or role.service != "iam" or role.resource_type != "role":
            raise ServiceError("ValidationError", f"{role_arn} is not a role ARN")
        trusted = self._trust().may_assume(role_arn, caller.principal_arn, caller.account)
        if not trusted.allowed:
            raise ServiceError(
                "AccessDenied",
                f"User: {caller.principal_arn} is not authorized to perform: sts:AssumeRole on "
                f"resource: {role_arn}",
            )
        duration = timedelta(seconds=params.get("DurationSeconds", DEFAULT_SESSION.seconds))
        expires = self._now() + duration
        key = "ASIA" + hashlib.sha256(self._new_id().encode()).hexdigest()[:16].upper()
        role_name = role.resource.rsplit("/", 1)[1]
        session_name = params["RoleSessionName"]
        session_arn = (
            f"arn:{self._partition}:sts::{role.account}:assumed-role/{role_name}/{session_name}"
        )
        # IAM evaluates a role session's calls against the role (aws:PrincipalArn is the role).
        self.sessions[key] = RoleSession(
            Caller(role.account, caller.region, role_arn, self._partition, session_arn), expires
        )
        role_id = "AROA" + hashlib.sha256(role_arn.encode()).hexdigest()[:17].upper()
        return {
            "Credentials": {
                "AccessKeyId": key,
                "SecretAccessKey": self._new_id(),
                "SessionToken": self._new_id(),
                "Expiration": expires,
            },
            "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session_name}", "Arn": session_arn},
        }

    def _get_identity(self, caller: Caller, params: Params) -> Response:
        arn = caller.session_arn or caller.principal_arn
        return {"UserId": arn, "Account": caller.account, "Arn": arn}

    def session(self, access_key_id: str) -> Caller:
        """The role a set of AssumeRole credentials calls as; refused once they expired."""
        session = self.sessions.get(access_key_id)
        if session is None:
            raise ValueError(f"no AssumeRole credentials with access key {access_key_id}")
        if self._now() >= session.expires:
            raise ValueError(f"the credentials {access_key_id} expired at {session.expires}")
        return session.caller
