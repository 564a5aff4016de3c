"""What every fake service shares: the caller, service errors, operations and paging.

A fake service is a table of `FakeOperation`s. The world asks an operation which
`AuthorizationRequest`s the call needs (one per resource the action acts on, as the IAM
Service Authorization Reference lists them), asks the authorizer, and only then runs it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from simulation.authorization import AuthorizationRequest

Params = Mapping[str, Any]
Response = dict[str, Any]
Item = TypeVar("Item")


@dataclass(frozen=True)
class Caller:
    account: str
    region: str
    principal_arn: str
    partition: str = "aws"
    # For a role session from AssumeRole: arn:...:sts::<account>:assumed-role/<role>/<session>.
    session_arn: str | None = None

    def authorization_request(
        self,
        action: str,
        resource: str,
        context: Mapping[str, str | tuple[str, ...]] | None = None,
    ) -> AuthorizationRequest:
        return AuthorizationRequest(
            principal_arn=self.principal_arn,
            account=self.account,
            region=self.region,
            action=action,
            resource=resource,
            context=dict(context or {}),
        )


class ServiceError(Exception):
    """An error the service answers with; the wire layer turns it into the protocol's form."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FakeOperation:
    authorization: Callable[[Caller, Params], list[AuthorizationRequest]]
    execute: Callable[[Caller, Params], Response]


class Paging:
    """Opaque, validated page tokens over a list the fake computes afresh on every call.

    The token names the operation and the offset, so a token from another list is refused
    the way services refuse it (InvalidNextTokenException, or a ValidationException).
    """

    def __init__(self, *, invalid_token_error: str, token_member: str) -> None:
        self.invalid_token_error = invalid_token_error
        self.token_member = token_member  # RAM says "nextToken", SageMaker "NextToken"

    def with_next_token(self, response: Response, token: str | None) -> Response:
        """The response, with the token that fetches the next page if there is one."""
        if token:
            response[self.token_member] = token
        return response

    def page(
        self,
        operation: str,
        items: Sequence[Item],
        *,
        next_token: str | None,
        max_results: int | None,
        default_page_size: int,
    ) -> tuple[list[Item], str | None]:
        start = self._offset(operation, next_token) if next_token else 0
        size = max_results or default_page_size
        page = list(items[start : start + size])
        more = start + size < len(items)
        return page, (self._token(operation, start + size) if more else None)

    def _offset(self, operation: str, token: str) -> int:
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
            if decoded["operation"] == operation and int(decoded["offset"]) >= 0:
                return int(decoded["offset"])
        except (ValueError, KeyError, TypeError):
            pass
        raise ServiceError(
            self.invalid_token_error, f"The specified value for nextToken ({token}) is not valid."
        )

    @staticmethod
    def _token(operation: str, offset: int) -> str:
        payload = json.dumps({"operation": operation, "offset": offset}).encode()
        return base64.urlsafe_b64encode(payload).decode()


def tag_context(prefix: str, tags: Mapping[str, str]) -> dict[str, str | tuple[str, ...]]:
    """aws:RequestTag/<key> or aws:ResourceTag/<key> condition keys for the given tags."""
    return {f"{prefix}/{key}": value for key, value in tags.items()}


def in_window(moment: datetime, after: datetime | None, before: datetime | None) -> bool:
    return (after is None or moment > after) and (before is None or moment < before)


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str  # e.g. "resource-share/<id>", "lineage-group/<name>"

    @classmethod
    def parse(cls, text: str) -> Arn | None:
        parts = text.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or not all(parts[i] for i in (1, 2, 5)):
            return None
        return cls(*parts[1:])

    @property
    def resource_type(self) -> str:
        return self.resource.split("/", 1)[0]

    @property
    def resource_id(self) -> str:
        return self.resource.split("/", 1)[1] if "/" in self.resource else ""
