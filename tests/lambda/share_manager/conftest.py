"""Real boto3 clients for the share manager tests, stubbed with botocore's Stubber.

The Stubber checks every request against the service model (required members, types), so a
misspelt parameter fails the test. Credentials are fake and explicit: nothing looks for AWS
credentials or calls AWS.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from share_manager import aws_edge

REGION = "us-east-1"


@functools.cache
def _test_session() -> boto3.session.Session:
    # One session for the whole run: each new session re-reads botocore's data files (~0.3 s),
    # while a client from a warm session costs ~10 ms.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


def make_client(service: str) -> Any:
    return _test_session().client(service, config=aws_edge.RETRY_CONFIG)


@dataclass
class StubbedAws:
    ram: Any
    sagemaker: Any
    cloudformation: Any
    ram_stub: Stubber
    sagemaker_stub: Stubber
    cloudformation_stub: Stubber


@pytest.fixture(scope="session")
def clients() -> tuple[Any, Any, Any]:
    # Loading SageMaker's service model costs ~0.2 s: build the clients once per run.
    return make_client("ram"), make_client("sagemaker"), make_client("cloudformation")


@pytest.fixture
def aws(clients) -> Iterator[StubbedAws]:
    """Fresh stubs per test; the test fails if a queued response was never requested."""
    ram, sagemaker, cloudformation = clients
    stubbed = StubbedAws(
        ram, sagemaker, cloudformation, Stubber(ram), Stubber(sagemaker), Stubber(cloudformation)
    )
    with stubbed.ram_stub, stubbed.sagemaker_stub, stubbed.cloudformation_stub:
        yield stubbed
        stubbed.ram_stub.assert_no_pending_responses()
        stubbed.sagemaker_stub.assert_no_pending_responses()
        stubbed.cloudformation_stub.assert_no_pending_responses()


@pytest.fixture
def capture_requests(aws) -> Iterator[Callable[[Any, str], list[dict]]]:
    """capture_requests(client, "CreateResourceShare") -> the requests the handler built for it."""
    registered: list[tuple[Any, str, Callable]] = []

    def capture(client: Any, operation: str) -> list[dict]:
        seen: list[dict] = []
        service = client.meta.service_model.service_id.hyphenize()
        event = f"before-parameter-build.{service}.{operation}"

        def record(params, **_):
            seen.append(dict(params))

        client.meta.events.register(event, record)
        registered.append((client, event, record))
        return seen

    yield capture
    for client, event, record in registered:
        client.meta.events.unregister(event, record)
