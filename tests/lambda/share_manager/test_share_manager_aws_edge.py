"""The boto3 edge: every page is read, known errors map to plain answers, transient ones retry."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from share_manager import aws_edge
from share_manager.decisions import (
    Caller,
    LineageGroup,
    PrincipalAssociation,
    select_own_lineage_group,
)

ACCOUNT = "111111111111"
SHARE_ARN = f"arn:aws:ram:us-east-1:{ACCOUNT}:resource-share/7ab63972-b505-7e2a-420d-6f5d3EXAMPLE"
CHANGED = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


def group_summary(account: str, name: str = "sagemaker-default-lineage-group") -> dict:
    return {
        "LineageGroupArn": f"arn:aws:sagemaker:us-east-1:{account}:lineage-group/{name}",
        "LineageGroupName": name,
    }


def principal(entity: str, status: str) -> dict:
    return {
        "resourceShareArn": SHARE_ARN,
        "associatedEntity": entity,
        "associationType": "PRINCIPAL",
        "status": status,
        "lastUpdatedTime": CHANGED,
    }


def test_lineage_groups_are_read_from_every_page(aws):
    aws.sagemaker_stub.add_response(
        "list_lineage_groups",
        {"LineageGroupSummaries": [group_summary("222222222222")], "NextToken": "page-2"},
        {},
    )
    aws.sagemaker_stub.add_response(
        "list_lineage_groups",
        {"LineageGroupSummaries": [group_summary(ACCOUNT)]},
        {"NextToken": "page-2"},
    )

    groups = aws_edge.list_lineage_groups(aws.sagemaker)

    own = select_own_lineage_group(groups, Caller("aws", "us-east-1", ACCOUNT))
    assert own == LineageGroup(
        f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:lineage-group/sagemaker-default-lineage-group",
        "sagemaker-default-lineage-group",
    )
    assert len(groups) == 2


def test_an_empty_association_page_that_still_has_a_next_token_is_not_the_end(aws):
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {"resourceShareAssociations": [principal("222222222222", "ASSOCIATED")], "nextToken": "t1"},
        {"associationType": "PRINCIPAL", "resourceShareArns": [SHARE_ARN]},
    )
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {"resourceShareAssociations": [], "nextToken": "t2"},
        {"associationType": "PRINCIPAL", "resourceShareArns": [SHARE_ARN], "nextToken": "t1"},
    )
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {"resourceShareAssociations": [principal("333333333333", "ASSOCIATING")]},
        {"associationType": "PRINCIPAL", "resourceShareArns": [SHARE_ARN], "nextToken": "t2"},
    )

    associations = aws_edge.list_principal_associations(aws.ram, SHARE_ARN)

    assert associations == [
        PrincipalAssociation("222222222222", "ASSOCIATED", CHANGED),
        PrincipalAssociation("333333333333", "ASSOCIATING", CHANGED),
    ]


def test_a_share_ram_does_not_know_reads_as_none(aws):
    aws.ram_stub.add_client_error(
        "get_resource_shares", "UnknownResourceException", "no such share"
    )
    aws.ram_stub.add_response(
        "get_resource_shares",
        {"resourceShares": []},
        {"resourceOwner": "SELF", "resourceShareArns": [SHARE_ARN]},
    )

    assert aws_edge.get_resource_share(aws.ram, SHARE_ARN) is None
    assert aws_edge.get_resource_share(aws.ram, SHARE_ARN) is None


CONTEXT_ARN = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:context/marker"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        # Two wordings SageMaker has used for a taken name; neither is relied on.
        ("ValidationException", "Context names must be unique within an AWS account and region"),
        ("ValidationException", f"Context {CONTEXT_ARN} already exists."),
        # Other SageMaker resources answer a taken name with ResourceInUse.
        ("ResourceInUse", "The name marker is already in use."),
    ],
)
def test_a_marker_context_that_exists_is_recognised_by_describing_it(aws, code, message):
    aws.sagemaker_stub.add_client_error("create_context", code, message)
    aws.sagemaker_stub.add_response(
        "describe_context",
        {"ContextName": "marker", "ContextArn": CONTEXT_ARN},
        {"ContextName": "marker"},
    )

    assert aws_edge.create_bootstrap_context(aws.sagemaker, "marker") is False


def test_create_context_errors_that_are_not_an_existing_context_are_raised(aws):
    aws.sagemaker_stub.add_client_error(
        "create_context", "ValidationException", "ContextName must match the pattern"
    )
    aws.sagemaker_stub.add_client_error(
        "describe_context", "ResourceNotFound", "Context marker does not exist."
    )
    aws.sagemaker_stub.add_client_error(
        "create_context", "ResourceLimitExceeded", "You have reached the context limit."
    )
    aws.sagemaker_stub.add_response("create_context", {"ContextArn": CONTEXT_ARN})

    with pytest.raises(ClientError, match="must match the pattern"):
        aws_edge.create_bootstrap_context(aws.sagemaker, "marker")
    with pytest.raises(ClientError, match="ResourceLimitExceeded"):  # not even described
        aws_edge.create_bootstrap_context(aws.sagemaker, "marker")
    assert aws_edge.create_bootstrap_context(aws.sagemaker, "marker") is True


def share_item(arn: str, tags: dict[str, str], status: str = "ACTIVE") -> dict:
    return {
        "resourceShareArn": arn,
        "name": "lineage",
        "status": status,
        "tags": [{"key": key, "value": value} for key, value in tags.items()],
    }


def test_shares_of_a_resource_are_found_by_name_and_tags_and_checked_again(aws):
    owner = {"lineage-sharing:logical-id": "Share", "lineage-sharing:stack-id": "arn:stack"}
    other = f"{SHARE_ARN[:-7]}OTHER00"
    aws.ram_stub.add_response(
        "get_resource_shares",
        # RAM's filters narrow the answer; a share missing one of the tags is still dropped.
        {"resourceShares": [share_item(SHARE_ARN, owner), share_item(other, {"x": "y"})]},
        {
            "resourceOwner": "SELF",
            "name": "lineage",
            "tagFilters": [
                {"tagKey": "lineage-sharing:logical-id", "tagValues": ["Share"]},
                {"tagKey": "lineage-sharing:stack-id", "tagValues": ["arn:stack"]},
            ],
        },
    )

    [found] = aws_edge.find_shares(aws.ram, "lineage", owner)

    assert found.arn == SHARE_ARN and found.tags == owner


def test_resource_associations_carry_rams_status_message(aws):
    group = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:lineage-group/sagemaker-default-lineage-group"
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {
            "resourceShareAssociations": [
                {
                    "resourceShareArn": SHARE_ARN,
                    "associatedEntity": group,
                    "associationType": "RESOURCE",
                    "status": "FAILED",
                    "statusMessage": "Could not attach the resource policy.",
                }
            ]
        },
        {"associationType": "RESOURCE", "resourceShareArns": [SHARE_ARN]},
    )

    [association] = aws_edge.list_resource_associations(aws.ram, SHARE_ARN)

    assert (association.resource_arn, association.status) == (group, "FAILED")
    assert association.status_message == "Could not attach the resource policy."


def test_resource_properties_are_read_from_the_stacks_template(aws):
    stack_id = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/S/0f1e2d3c"
    template = {"Resources": {"Share": {"Type": "Custom::X", "Properties": {"Principals": ["2"]}}}}
    # CloudFormation sends the template as a string; botocore decodes JSON ones itself.
    aws.cloudformation_stub.add_response(
        "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": stack_id}
    )
    aws.cloudformation_stub.add_response(
        "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": stack_id}
    )

    properties = aws_edge.get_resource_properties(aws.cloudformation, stack_id, "Share")

    assert properties == {"Principals": ["2"]}
    with pytest.raises(RuntimeError, match="has no resource Missing"):
        aws_edge.get_resource_properties(aws.cloudformation, stack_id, "Missing")


# ---------------------------------------------------------------------------- retries


@pytest.fixture
def production_clients(monkeypatch):
    """The clients the Lambda builds (aws_edge.create_clients), with fake credentials."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_RETRY_MODE", raising=False)
    monkeypatch.delenv("AWS_MAX_ATTEMPTS", raising=False)
    return aws_edge.create_clients()


def test_production_clients_use_standard_retries(production_clients):
    # 8 sends in all: the first call and 7 retries.
    for client in production_clients:
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 8}


def test_throttling_is_retried_by_the_client_until_it_succeeds(production_clients, monkeypatch):
    # botocore's Stubber answers before the retry loop runs (a stubbed error is raised at once),
    # so this test answers at the HTTP layer instead: 429 ThrottlingException, then success.
    ram, _, _ = production_clients
    answers = [
        (429, {"x-amzn-ErrorType": "ThrottlingException"}, {"message": "Rate exceeded"}),
        (200, {}, {"resourceShareAssociations": [principal("222222222222", "ASSOCIATED")]}),
    ]
    sent: list[str] = []

    def answer_over_http(request, **_):
        sent.append(request.url)
        status, headers, body = answers.pop(0)
        headers = {"Content-Type": "application/json", **headers}
        return AWSResponse(request.url, status, headers, _Raw(_json_body(body)))

    slept: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", _RecordingTime(slept))
    ram.meta.events.register("before-send.ram.GetResourceShareAssociations", answer_over_http)

    associations = aws_edge.list_principal_associations(ram, SHARE_ARN)

    assert [a.principal for a in associations] == ["222222222222"]
    assert len(sent) == 2  # the throttled request was sent again
    assert len(slept) == 1  # with a backoff in between


def _json_body(body: dict) -> bytes:
    return json.dumps(body, default=lambda value: value.timestamp()).encode()


class _Raw:
    """Just enough of urllib3's response for botocore to read a body."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, *_args, **_kwargs):
        yield self._content


class _RecordingTime:
    def __init__(self, slept: list[float]) -> None:
        self._slept = slept

    def sleep(self, seconds: float) -> None:
        self._slept.append(seconds)

    def __getattr__(self, name):
        import time

        return getattr(time, name)
