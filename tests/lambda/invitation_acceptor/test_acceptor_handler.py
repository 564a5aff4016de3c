"""The acceptor end to end on a real boto3 RAM client: Stubber for behaviour, a fake HTTP layer
for botocore's retries. Every test asserts the exact RAM calls a run made."""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from invitation_acceptor import aws_edge
from invitation_acceptor import handler as acceptor
from invitation_acceptor.decisions import (
    ALLOW_LIST_PARAMETERS_VARIABLE,
    ALLOW_LIST_SHA256_VARIABLE,
    InvalidAllowList,
    allow_list_digest,
    client_token_for,
)
from invitation_acceptor.embedded_metrics import EmbeddedMetrics
from invitation_acceptor.handler import Dependencies, InvitationsFailed, handle

REGION = "eu-west-1"
CONSUMER = "333333333333"
PRODUCER = "111111111111"
OTHER_PRODUCER = "222222222222"
THIRD_ACCOUNT = "444444444444"
STRANGER = "999999999999"
ALLOWED = frozenset({PRODUCER, OTHER_PRODUCER})

GET = "GetResourceShareInvitations"
LIST_RESOURCES = "ListPendingInvitationResources"
ACCEPT = "AcceptResourceShareInvitation"

SCHEDULED_EVENT = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": CONSUMER,
    "time": "2026-11-01T10:00:00Z",
    "region": REGION,
    "resources": [f"arn:aws:events:{REGION}:{CONSUMER}:rule/LineageSweep"],
    "detail": {},
}
# RAM documents only `event` and `status` in the detail; the values here are illustrative.
RAM_EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Resource Sharing State Change",
    "source": "aws.ram",
    "account": CONSUMER,
    "time": "2026-11-01T10:00:00Z",
    "region": REGION,
    "resources": [],
    "detail": {"event": "Resource Share Invitation", "status": "Pending"},
}


class FakeContext:
    function_name = "LineageInvitationAcceptor"
    aws_request_id = "req-1"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{CONSUMER}:function:LineageInvitationAcceptor"


def invitation_item(sender: str, invitation_id: str, *, status: str = "PENDING", share_owner=None):
    """One ResourceShareInvitation as GetResourceShareInvitations returns it."""
    owner = share_owner or sender
    return {
        "resourceShareInvitationArn": (
            f"arn:aws:ram:{REGION}:{sender}:resource-share-invitation/{invitation_id}"
        ),
        "resourceShareName": "central_lineage",
        "resourceShareArn": f"arn:aws:ram:{REGION}:{owner}:resource-share/share-{invitation_id}",
        "senderAccountId": sender,
        "receiverAccountId": CONSUMER,
        "invitationTimestamp": datetime(2026, 11, 1, 9, 30, tzinfo=UTC),
        "status": status,
    }


def lineage_group(owner: str) -> dict[str, Any]:
    """One Resource as ListPendingInvitationResources returns it."""
    return {
        "arn": f"arn:aws:sagemaker:{REGION}:{owner}:lineage-group/sagemaker-default-lineage-group",
        "type": "sagemaker:LineageGroup",
        "status": "PENDING",
    }


def subnet(owner: str) -> dict[str, Any]:
    return {
        "arn": f"arn:aws:ec2:{REGION}:{owner}:subnet/subnet-0123456789abcdef0",
        "type": "ec2:Subnet",
        "status": "PENDING",
    }


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO, logger="invitation_acceptor")
    return caplog


def deps_for(client: Any) -> Dependencies:
    return Dependencies(ram=client, allowed_producers=ALLOWED)


def decision_logs(caplog) -> list[dict[str, Any]]:
    """The structured decision lines (one per invitation handled), as their JSON fields."""
    keys = ("action", "invitation_arn", "sender", "resource_share_arn", "reason")
    return [
        {key: getattr(record, key) for key in keys}
        for record in caplog.records
        if hasattr(record, "invitation_arn")
    ]


ZERO = {"accepted": 0, "already_accepted": 0, "skipped": 0, "expired": 0, "failed": 0}


# ---------------------------------------------------------------------------- accept


def test_allow_listed_lineage_invitation_is_accepted_with_exact_parameters(ram, caplog):
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [lineage_group(PRODUCER)])
    # The Stubber checks the exact Accept parameters, deterministic clientToken included.
    ram.accept(invitation)

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "accepted": 1, "trigger": "schedule"}
    assert ram.calls == [GET, LIST_RESOURCES, ACCEPT]
    assert decision_logs(caplog) == [
        {
            "action": "accept",
            "invitation_arn": invitation["resourceShareInvitationArn"],
            "sender": PRODUCER,
            "resource_share_arn": invitation["resourceShareArn"],
            "reason": "lineage_groups_of_allowed_producer",
        }
    ]


def test_accept_uses_the_same_client_token_on_every_run():
    arn = invitation_item(PRODUCER, "inv-a")["resourceShareInvitationArn"]
    # What a rerun (or a retried async invocation) sends: the same token, so RAM sees one request.
    assert client_token_for(arn) == client_token_for(str(arn))


# ---------------------------------------------------------------------------- skips


def test_foreign_sender_is_skipped_without_listing_its_resources(ram, caplog):
    invitation = invitation_item(STRANGER, "inv-x")
    ram.invitations_page([invitation])

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    assert ram.calls == [GET]
    [logged] = decision_logs(caplog)
    assert logged["action"] == "skip" and logged["reason"] == "foreign_sender"
    assert logged["sender"] == STRANGER


@pytest.mark.parametrize(
    ("resources", "reason"),
    [
        ([subnet(PRODUCER)], "not_lineage_group"),
        ([lineage_group(PRODUCER), subnet(PRODUCER)], "mixed_resources"),
        ([lineage_group(THIRD_ACCOUNT)], "foreign_resource_owner"),
        ([], "no_resources"),
    ],
)
def test_invitation_whose_resources_are_not_only_the_senders_lineage_group_is_skipped(
    ram, caplog, resources, reason
):
    invitation = invitation_item(PRODUCER, "inv-b")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, resources)

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    assert ram.calls == [GET, LIST_RESOURCES]  # never an Accept
    [logged] = decision_logs(caplog)
    assert (logged["action"], logged["reason"]) == ("skip", reason)


def test_share_not_owned_by_the_sender_is_skipped_without_listing_resources(ram, caplog):
    ram.invitations_page([invitation_item(PRODUCER, "inv-c", share_owner=THIRD_ACCOUNT)])

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    assert ram.calls == [GET]
    assert decision_logs(caplog)[0]["reason"] == "share_owner_mismatch"


def test_invitations_that_are_not_pending_are_ignored(ram, caplog):
    ram.invitations_page(
        [
            invitation_item(PRODUCER, "inv-1", status="ACCEPTED"),
            invitation_item(PRODUCER, "inv-2", status="REJECTED"),
            invitation_item(OTHER_PRODUCER, "inv-3", status="EXPIRED"),
        ]
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "trigger": "schedule"}
    assert ram.calls == [GET]
    assert decision_logs(caplog) == []


# ---------------------------------------------------------------------------- RAM's answers


def test_already_accepted_counts_as_success(ram, caplog):
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [lineage_group(PRODUCER)])
    ram.accept_error(
        invitation,
        "ResourceShareInvitationAlreadyAcceptedException",
        "The invitation was already accepted.",
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "already_accepted": 1, "trigger": "schedule"}
    assert ram.calls == [GET, LIST_RESOURCES, ACCEPT]
    assert decision_logs(caplog)[0]["action"] == "already_accepted"


def test_expired_invitation_is_counted_and_logged_without_failing_the_run(ram, caplog):
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [lineage_group(PRODUCER)])
    ram.accept_error(
        invitation, "ResourceShareInvitationExpiredException", "The invitation has expired."
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "expired": 1, "trigger": "schedule"}
    [logged] = decision_logs(caplog)
    assert logged["action"] == "expired"
    assert logged["reason"] == (
        "ResourceShareInvitationExpiredException: The invitation has expired."
    )
    assert [r.levelname for r in caplog.records if hasattr(r, "invitation_arn")] == ["WARNING"]


def test_expired_reported_while_listing_resources_is_counted_as_expired(ram):
    # ListPendingInvitationResources models this error too: no Accept is attempted then.
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources_error(
        invitation, "ResourceShareInvitationExpiredException", "The invitation has expired."
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "expired": 1, "trigger": "schedule"}
    assert ram.calls == [GET, LIST_RESOURCES]


def test_already_rejected_invitation_is_skipped_with_that_reason(ram, caplog):
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [lineage_group(PRODUCER)])
    ram.accept_error(
        invitation, "ResourceShareInvitationAlreadyRejectedException", "Already rejected."
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    [logged] = decision_logs(caplog)
    assert (logged["action"], logged["reason"]) == ("skip", "already_rejected")


@pytest.mark.parametrize("during", ["listing its resources", "accepting it"])
def test_an_invitation_withdrawn_since_it_was_listed_is_skipped_not_failed(ram, caplog, during):
    # The producer disassociated this account (to re-invite it) or deleted the share meanwhile.
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    code, message = "ResourceShareInvitationArnNotFoundException", "Invitation not found."
    if during == "listing its resources":
        ram.pending_resources_error(invitation, code, message)
    else:
        ram.pending_resources(invitation, [lineage_group(PRODUCER)])
        ram.accept_error(invitation, code, message)

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))  # does not raise

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    [logged] = decision_logs(caplog)
    assert (logged["action"], logged["reason"]) == ("skip", "withdrawn")


def test_a_new_invitation_to_a_share_this_account_rejected_is_left_for_a_person(ram, caplog):
    rejected = invitation_item(PRODUCER, "inv-a", status="REJECTED")
    reinvited = {
        **invitation_item(PRODUCER, "inv-b"),
        "resourceShareArn": rejected["resourceShareArn"],
    }
    ram.invitations_page([rejected, reinvited])

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "skipped": 1, "trigger": "schedule"}
    assert ram.calls == [GET]  # neither listed nor accepted
    [logged] = [r for r in caplog.records if getattr(r, "invitation_arn", None)]
    assert (logged.levelname, logged.reason) == ("WARNING", "previously_rejected")


def test_one_failing_invitation_does_not_stop_the_others_and_the_run_raises_at_the_end(ram, caplog):
    failing = invitation_item(PRODUCER, "inv-1")
    unlistable = invitation_item(OTHER_PRODUCER, "inv-2")
    fine = invitation_item(OTHER_PRODUCER, "inv-3")
    ram.invitations_page([failing, unlistable, fine])
    ram.pending_resources(failing, [lineage_group(PRODUCER)])
    ram.accept_error(
        failing,
        "OperationNotPermittedException",
        "You can't accept this invitation: it is not addressed to you.",
    )
    ram.pending_resources_error(unlistable, "InvalidParameterException", "bad request")
    ram.pending_resources(fine, [lineage_group(OTHER_PRODUCER)])
    ram.accept(fine)

    with pytest.raises(InvitationsFailed) as raised:
        handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    # Every invitation had its turn before the run failed.
    assert ram.calls == [GET, LIST_RESOURCES, ACCEPT, LIST_RESOURCES, LIST_RESOURCES, ACCEPT]
    summary = json.loads(str(raised.value).split("summary: ", 1)[1])
    assert summary == {**ZERO, "accepted": 1, "failed": 2, "trigger": "schedule"}
    logged = decision_logs(caplog)
    assert [(line["action"], line["reason"]) for line in logged] == [
        (
            "failed",
            "OperationNotPermittedException: "
            "You can't accept this invitation: it is not addressed to you.",
        ),
        ("failed", "InvalidParameterException: bad request"),
        ("accept", "lineage_groups_of_allowed_producer"),
    ]
    failures = [r for r in caplog.records if getattr(r, "action", None) == "failed"]
    assert all(r.levelname == "ERROR" and r.exc_info for r in failures)
    summary_line = next(r for r in caplog.records if getattr(r, "action", None) == "summary")
    assert (summary_line.accepted, summary_line.failed) == (1, 2)


def test_failing_to_list_invitations_fails_the_run(ram, caplog):
    ram.stub.add_client_error(
        "get_resource_share_invitations",
        service_error_code="AccessDeniedException",
        service_message="not authorized to perform: ram:GetResourceShareInvitations",
        http_status_code=403,
    )

    with pytest.raises(Exception, match="AccessDeniedException"):
        handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert ram.calls == [GET]
    [line] = [r for r in caplog.records if getattr(r, "action", None) == "list_invitations"]
    assert line.levelname == "ERROR" and "AccessDeniedException" in line.reason


# ---------------------------------------------------------------------------- pagination


def test_every_page_is_read_even_after_an_empty_page_with_a_next_token(ram):
    first = invitation_item(PRODUCER, "inv-1")
    last = invitation_item(OTHER_PRODUCER, "inv-2")
    ram.invitations_page([first], next_token="t1")
    ram.invitations_page([], next_token="t2", after="t1")
    ram.invitations_page([last], after="t2")
    # The resource list pages the same way.
    ram.pending_resources(first, [], next_token="r1")
    ram.pending_resources(first, [lineage_group(PRODUCER)], after="r1")
    ram.accept(first)
    ram.pending_resources(last, [lineage_group(OTHER_PRODUCER)])
    ram.accept(last)

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "accepted": 2, "trigger": "schedule"}
    assert ram.calls == [
        GET,
        GET,
        GET,
        LIST_RESOURCES,
        LIST_RESOURCES,
        ACCEPT,
        LIST_RESOURCES,
        ACCEPT,
    ]


def test_an_empty_resource_page_with_a_next_token_is_not_mistaken_for_no_resources(ram):
    invitation = invitation_item(PRODUCER, "inv-1")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [], next_token="r1")
    ram.pending_resources(invitation, [subnet(PRODUCER)], after="r1")

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    # Seen to the end: a subnet, not "no resources".
    assert summary["skipped"] == 1
    assert ram.calls == [GET, LIST_RESOURCES, LIST_RESOURCES]


def test_a_repeated_next_token_stops_the_run_instead_of_looping(ram):
    ram.invitations_page([], next_token="same")
    ram.invitations_page([], next_token="same", after="same")

    with pytest.raises(RuntimeError, match="same nextToken twice"):
        handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))
    assert ram.calls == [GET, GET]


# ---------------------------------------------------------------------------- call budget


@pytest.mark.parametrize(("allowed_pending", "foreign_pending"), [(0, 0), (0, 3), (1, 0), (5, 2)])
def test_api_call_budget_is_one_list_plus_two_calls_per_pending_invitation(
    ram, allowed_pending, foreign_pending
):
    allowed = [invitation_item(PRODUCER, f"inv-{n}") for n in range(allowed_pending)]
    foreign = [invitation_item(STRANGER, f"inv-x{n}") for n in range(foreign_pending)]
    settled = [invitation_item(PRODUCER, "old", status="ACCEPTED")]
    ram.invitations_page(foreign + settled + allowed)
    for invitation in allowed:
        ram.pending_resources(invitation, [lineage_group(PRODUCER)])
        ram.accept(invitation)

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram.client))

    assert len(ram.calls) == 1 + 2 * allowed_pending
    assert (summary["accepted"], summary["skipped"]) == (allowed_pending, foreign_pending)


# ---------------------------------------------------------------------------- triggers


@pytest.mark.parametrize(
    ("event", "trigger"),
    [(SCHEDULED_EVENT, "schedule"), (RAM_EVENT, "ram_event"), ({}, "manual")],
)
def test_every_trigger_runs_the_same_full_sweep_and_is_logged(ram, caplog, event, trigger):
    invitation = invitation_item(PRODUCER, "inv-a")
    ram.invitations_page([invitation])
    ram.pending_resources(invitation, [lineage_group(PRODUCER)])
    ram.accept(invitation)

    summary = handle(event, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "accepted": 1, "trigger": trigger}
    assert ram.calls == [GET, LIST_RESOURCES, ACCEPT]
    [start] = [r for r in caplog.records if getattr(r, "action", None) == "start"]
    assert start.trigger == trigger
    summary_line = next(r for r in caplog.records if getattr(r, "action", None) == "summary")
    assert summary_line.trigger == trigger and summary_line.accepted == 1


def test_ram_event_detail_is_logged_but_not_trusted(ram, caplog):
    # The event names a status, but only the invitation list decides: nothing pending here.
    ram.invitations_page([invitation_item(PRODUCER, "inv-a", status="ACCEPTED")])

    summary = handle(RAM_EVENT, FakeContext(), deps_for(ram.client))

    assert summary == {**ZERO, "trigger": "ram_event"}
    [start] = [r for r in caplog.records if getattr(r, "action", None) == "start"]
    assert (start.ram_event, start.ram_status) == ("Resource Share Invitation", "Pending")


# ---------------------------------------------------------------------------- configuration


@pytest.fixture
def lambda_environment(monkeypatch):
    """A Lambda-like environment with fake credentials; the cached dependencies start empty."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "LineageInvitationAcceptor")
    acceptor.default_dependencies.cache_clear()
    yield monkeypatch
    acceptor.default_dependencies.cache_clear()


PARAMETER_NAMES = [
    f"/LineageSharing-consumer-{REGION}/InvitationAcceptor/allowed/{n}" for n in (1, 2)
]


def allow_list_environment(
    accounts=(PRODUCER, OTHER_PRODUCER), names=tuple(PARAMETER_NAMES)
) -> dict[str, str]:
    return {
        ALLOW_LIST_PARAMETERS_VARIABLE: ",".join(names),
        ALLOW_LIST_SHA256_VARIABLE: allow_list_digest(accounts),
    }


@pytest.fixture
def ssm() -> Iterator[Any]:
    """Stubbed SSM client: every GetParameters request is checked against the model."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    client = session.client("ssm", config=aws_edge.RETRY_CONFIG)
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def parameter(name: str, value: str) -> dict[str, Any]:
    return {"Name": name, "Type": "StringList", "Value": value, "Version": 1}


def test_allow_list_is_read_from_every_parameter_and_checked_against_the_digest(ssm, ram_client):
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {
            "Parameters": [
                parameter(PARAMETER_NAMES[0], PRODUCER),
                parameter(PARAMETER_NAMES[1], OTHER_PRODUCER),
            ]
        },
        {"Names": PARAMETER_NAMES},
    )

    deps = acceptor.load_dependencies(allow_list_environment(), ram=ram_client, ssm=client)

    assert deps.allowed_producers == ALLOWED


def test_more_than_ten_parameters_are_read_ten_names_per_call(ssm, ram_client):
    client, stub = ssm
    accounts = [f"{100000000000 + n}" for n in range(12)]
    names = [f"/stack/allowed/{n}" for n in range(12)]
    for batch in (slice(0, 10), slice(10, 12)):
        stub.add_response(
            "get_parameters",
            {
                "Parameters": [
                    parameter(n, a) for n, a in zip(names[batch], accounts[batch], strict=True)
                ]
            },
            {"Names": names[batch]},
        )

    deps = acceptor.load_dependencies(
        allow_list_environment(accounts, names), ram=ram_client, ssm=client
    )

    assert deps.allowed_producers == set(accounts)


def test_a_list_that_is_not_the_deployed_one_is_refused(ssm, ram_client):
    # E.g. read between CloudFormation's update of the parameter and of the function.
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {"Parameters": [parameter(PARAMETER_NAMES[0], f"{PRODUCER},{STRANGER}")]},
        {"Names": PARAMETER_NAMES[:1]},
    )
    environment = allow_list_environment(names=PARAMETER_NAMES[:1])

    with pytest.raises(InvalidAllowList, match="does not match ALLOWED_PRODUCERS_SHA256"):
        acceptor.load_dependencies(environment, ram=ram_client, ssm=client)


def test_a_missing_parameter_is_named(ssm, ram_client):
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {
            "Parameters": [parameter(PARAMETER_NAMES[0], PRODUCER)],
            "InvalidParameters": [PARAMETER_NAMES[1]],
        },
        {"Names": PARAMETER_NAMES},
    )

    with pytest.raises(InvalidAllowList, match=PARAMETER_NAMES[1]):
        acceptor.load_dependencies(allow_list_environment(), ram=ram_client, ssm=client)


@pytest.mark.parametrize("value", ["1111", "111111111111,abc", "111111111111 222222222222"])
def test_a_malformed_parameter_value_names_the_parameter(ssm, ram_client, value):
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {"Parameters": [parameter(PARAMETER_NAMES[0], value)]},
        {"Names": PARAMETER_NAMES[:1]},
    )
    environment = allow_list_environment(names=PARAMETER_NAMES[:1])

    with pytest.raises(InvalidAllowList, match=f"SSM parameter {PARAMETER_NAMES[0]}"):
        acceptor.load_dependencies(environment, ram=ram_client, ssm=client)


def test_no_parameters_named_fails_the_invocation_before_any_call(lambda_environment):
    lambda_environment.delenv(ALLOW_LIST_PARAMETERS_VARIABLE, raising=False)
    with pytest.raises(InvalidAllowList, match="not set or empty"):
        handle(SCHEDULED_EVENT, FakeContext())


def test_default_dependencies_are_built_once_with_standard_retries(lambda_environment, ssm):
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {"Parameters": [parameter(PARAMETER_NAMES[0], f"{PRODUCER},{OTHER_PRODUCER}")]},
        {"Names": PARAMETER_NAMES[:1]},
    )
    for key, value in allow_list_environment(names=PARAMETER_NAMES[:1]).items():
        lambda_environment.setenv(key, value)
    lambda_environment.setattr(acceptor.aws_edge, "create_ssm_client", lambda: client)

    deps = acceptor.default_dependencies()

    assert deps is acceptor.default_dependencies()  # the parameters were read once
    assert deps.allowed_producers == ALLOWED
    assert deps.ram.meta.service_model.service_name == "ram"
    assert deps.ram.meta.region_name == REGION
    assert deps.ram.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}


def test_the_ssm_client_has_standard_retries_in_the_functions_region(lambda_environment):
    client = aws_edge.create_ssm_client()
    assert client.meta.service_model.service_name == "ssm"
    assert client.meta.region_name == REGION
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}


# ---------------------------------------------------------------------------- retries


class FakeRamHttp:
    """Answers RAM requests below botocore's retry loop, so the client's retry mode is exercised.

    Replies are queued per operation as (HTTP status, JSON body, error code or None).
    """

    def __init__(self) -> None:
        self.replies: dict[str, deque] = {GET: deque(), LIST_RESOURCES: deque(), ACCEPT: deque()}
        self.sent: list[tuple[str, dict]] = []

    def __call__(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        self.sent.append((operation, json.loads(request.body or b"{}")))
        status, body, error_code = self.replies[operation].popleft()
        headers = {"Content-Type": "application/json"}
        if error_code:
            headers["x-amzn-ErrorType"] = error_code
        return AWSResponse(request.url, status, headers, _Body(json.dumps(body).encode()))

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.sent]


class _Body:
    def __init__(self, payload: bytes) -> None:
        self._payload = payload

    def stream(self, **_: Any):
        yield self._payload


def json_invitation(sender: str, invitation_id: str) -> dict[str, Any]:
    item = invitation_item(sender, invitation_id)
    return {**item, "invitationTimestamp": item["invitationTimestamp"].timestamp()}


@pytest.fixture
def fake_http(ram_client, monkeypatch):
    fake = FakeRamHttp()
    ram_client.meta.events.register("before-send.ram", fake)
    sleeps: list[float] = []
    # botocore sleeps between attempts; record instead of waiting (keeps the suite fast).
    monkeypatch.setattr("botocore.endpoint.time.sleep", sleeps.append)
    fake.sleeps = sleeps
    return fake


def test_throttling_and_5xx_are_retried_by_the_standard_retry_client(ram_client, fake_http):
    invitation = json_invitation(PRODUCER, "inv-a")
    throttled = {"message": "Rate exceeded"}
    fake_http.replies[GET].extend(
        [
            (429, throttled, "ThrottlingException"),
            (200, {"resourceShareInvitations": [invitation]}, None),
        ]
    )
    fake_http.replies[LIST_RESOURCES].append((200, {"resources": [lineage_group(PRODUCER)]}, None))
    fake_http.replies[ACCEPT].extend(
        [
            (503, {"message": "try again"}, "ServiceUnavailableException"),
            (200, {"resourceShareInvitation": {**invitation, "status": "ACCEPTED"}}, None),
        ]
    )

    summary = handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram_client))

    assert summary == {**ZERO, "accepted": 1, "trigger": "schedule"}
    # Each failed attempt was sent again by botocore, after a backoff, not by the handler.
    assert fake_http.operations() == [GET, GET, LIST_RESOURCES, ACCEPT, ACCEPT]
    assert len(fake_http.sleeps) == 2
    first_accept, retried_accept = (body for op, body in fake_http.sent if op == ACCEPT)
    assert (
        first_accept
        == retried_accept
        == {
            "resourceShareInvitationArn": invitation["resourceShareInvitationArn"],
            "clientToken": client_token_for(invitation["resourceShareInvitationArn"]),
        }
    )


def test_throttling_that_outlasts_the_retries_fails_that_invitation_only(
    ram_client, fake_http, caplog
):
    throttled_one = json_invitation(PRODUCER, "inv-1")
    fine = json_invitation(OTHER_PRODUCER, "inv-2")
    fake_http.replies[GET].append((200, {"resourceShareInvitations": [throttled_one, fine]}, None))
    fake_http.replies[LIST_RESOURCES].extend(
        [
            (200, {"resources": [lineage_group(PRODUCER)]}, None),
            (200, {"resources": [lineage_group(OTHER_PRODUCER)]}, None),
        ]
    )
    fake_http.replies[ACCEPT].extend(
        [(429, {"message": "Rate exceeded"}, "ThrottlingException")] * 8
    )
    fake_http.replies[ACCEPT].append((200, {"resourceShareInvitation": fine}, None))

    with pytest.raises(InvitationsFailed, match='"failed": 1'):
        handle(SCHEDULED_EVENT, FakeContext(), deps_for(ram_client))

    # total_max_attempts=8 means 8 sends in all for the throttled accept, then the next invitation.
    assert fake_http.operations() == [GET, LIST_RESOURCES] + [ACCEPT] * 8 + [LIST_RESOURCES, ACCEPT]
    assert len(fake_http.sleeps) == 7
    failed = [line for line in decision_logs(caplog) if line["action"] == "failed"]
    assert [line["reason"] for line in failed] == ["ThrottlingException: Rate exceeded"]


# ---------------------------------------------------------------------------- metrics


class RecordingMetrics:
    def __init__(self) -> None:
        self.emitted: list[dict[str, int]] = []

    def emit(self, counts):
        self.emitted.append(dict(counts))


def test_a_run_reports_its_counts(ram):
    accepted = invitation_item(PRODUCER, "inv-a")
    foreign = invitation_item(STRANGER, "inv-x")
    ram.invitations_page([accepted, foreign, invitation_item(PRODUCER, "inv-z", status="ACCEPTED")])
    ram.pending_resources(accepted, [lineage_group(PRODUCER)])
    ram.accept(accepted)
    metrics = RecordingMetrics()

    handle(SCHEDULED_EVENT, FakeContext(), Dependencies(ram.client, ALLOWED, metrics))

    [counts] = metrics.emitted
    assert counts["InvitationsAccepted"] == 1 and counts["InvitationsSkipped"] == 1
    assert counts["InvitationsPending"] == 2  # the accepted one was not pending any more


def test_a_failed_run_still_reports_its_counts(ram):
    failing = invitation_item(OTHER_PRODUCER, "inv-1")
    ram.invitations_page([failing])
    ram.pending_resources_error(failing, "InvalidParameterException", "bad request")
    metrics = RecordingMetrics()

    with pytest.raises(InvitationsFailed):
        handle(SCHEDULED_EVENT, FakeContext(), Dependencies(ram.client, ALLOWED, metrics))

    assert metrics.emitted[0]["InvitationsFailed"] == 1


def test_lambda_dependencies_print_metrics_named_after_the_function(lambda_environment, ssm):
    client, stub = ssm
    stub.add_response(
        "get_parameters",
        {"Parameters": [parameter(PARAMETER_NAMES[0], PRODUCER)]},
        {"Names": PARAMETER_NAMES[:1]},
    )
    environment = allow_list_environment(accounts=[PRODUCER], names=PARAMETER_NAMES[:1])
    for key, value in environment.items():
        lambda_environment.setenv(key, value)
    lambda_environment.setattr(acceptor.aws_edge, "create_ssm_client", lambda: client)
    deps = acceptor.default_dependencies()
    assert isinstance(deps.metrics, EmbeddedMetrics)
    assert deps.metrics.function_name == "LineageInvitationAcceptor"
