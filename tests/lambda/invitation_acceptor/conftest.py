"""A real boto3 RAM client for the acceptor tests, stubbed with botocore's Stubber.

The Stubber checks every request against the RAM service model (required members, types), so
a misspelt parameter fails the test, and it refuses any call that was not queued. Every RAM
operation the client starts is also recorded, so tests can assert the exact calls a run made.
Credentials are fake and explicit: nothing looks for AWS credentials or calls AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from invitation_acceptor import aws_edge
from invitation_acceptor.decisions import client_token_for

REGION = "eu-west-1"


@functools.cache
def _test_session() -> boto3.session.Session:
    # One session for the whole run: each new session re-reads botocore's data files (~0.3 s),
    # while a client from a warm session costs ~10 ms.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


def make_ram_client() -> Any:
    return _test_session().client("ram", config=aws_edge.RETRY_CONFIG)


@dataclass
class StubbedRam:
    client: Any
    stub: Stubber
    calls: list[str] = field(default_factory=list)

    def invitations_page(
        self,
        invitations: list[dict[str, Any]],
        *,
        next_token: str | None = None,
        after: str | None = None,
    ) -> None:
        response: dict[str, Any] = {"resourceShareInvitations": invitations}
        if next_token:
            response["nextToken"] = next_token
        expected = {"nextToken": after} if after else {}
        self.stub.add_response("get_resource_share_invitations", response, expected)

    def pending_resources(
        self,
        invitation: dict[str, Any],
        resources: list[dict[str, Any]],
        *,
        next_token: str | None = None,
        after: str | None = None,
    ) -> None:
        response: dict[str, Any] = {"resources": resources}
        if next_token:
            response["nextToken"] = next_token
        expected = {"resourceShareInvitationArn": invitation["resourceShareInvitationArn"]}
        if after:
            expected["nextToken"] = after
        self.stub.add_response("list_pending_invitation_resources", response, expected)

    def pending_resources_error(self, invitation: dict[str, Any], code: str, message: str) -> None:
        self.stub.add_client_error(
            "list_pending_invitation_resources",
            service_error_code=code,
            service_message=message,
            http_status_code=400,
            expected_params={
                "resourceShareInvitationArn": invitation["resourceShareInvitationArn"]
            },
        )

    def accept(self, invitation: dict[str, Any]) -> None:
        arn = invitation["resourceShareInvitationArn"]
        token = client_token_for(arn)
        self.stub.add_response(
            "accept_resource_share_invitation",
            {"resourceShareInvitation": {**invitation, "status": "ACCEPTED"}, "clientToken": token},
            {"resourceShareInvitationArn": arn, "clientToken": token},
        )

    def accept_error(
        self, invitation: dict[str, Any], code: str, message: str, http_status_code: int = 400
    ) -> None:
        arn = invitation["resourceShareInvitationArn"]
        self.stub.add_client_error(
            "accept_resource_share_invitation",
            service_error_code=code,
            service_message=message,
            http_status_code=http_status_code,
            expected_params={
                "resourceShareInvitationArn": arn,
                "clientToken": client_token_for(arn),
            },
        )


@pytest.fixture
def ram_client() -> Any:
    """An unstubbed client, for tests that fake RAM at the HTTP layer (below the retries)."""
    return make_ram_client()


@pytest.fixture
def ram() -> Iterator[StubbedRam]:
    """Stubbed RAM client; the test fails if a queued response was never requested."""
    client = make_ram_client()
    stubbed = StubbedRam(client=client, stub=Stubber(client))

    def record(model: Any, **_: Any) -> None:
        stubbed.calls.append(model.name)

    # Registered before the Stubber is activated, so even a call it refuses is recorded.
    client.meta.events.register("before-parameter-build.ram", record)
    with stubbed.stub:
        yield stubbed
        stubbed.stub.assert_no_pending_responses()
