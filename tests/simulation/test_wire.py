"""The wire layer: real botocore clients answered in-process, validation, faults and retries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from simulation.fake_service import FakeOperation
from simulation.shape_validation import (
    ResponseShapeViolation,
    input_constraint_violations,
    output_violations,
)
from simulation.world import World

OWNER, CONSUMER = "111111111111", "222222222222"
REGION = "eu-west-1"
START = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def world() -> World:
    world = World(start=START)
    world.add_account(OWNER)
    world.add_account(CONSUMER)
    return world


def ram_operation(name: str):
    return botocore.session.get_session().get_service_model("ram").operation_model(name)


# ------------------------------------------------------------------ the shape checker


def test_output_checker_accepts_a_well_formed_response():
    share = {
        "resourceShareArn": "arn:aws:ram:eu-west-1:111111111111:resource-share/x",
        "status": "ACTIVE",
        "tags": [{"key": "k", "value": "v"}],
        "creationTime": START,
        "allowExternalPrincipals": False,
    }
    shape = ram_operation("GetResourceShares").output_shape

    assert output_violations(shape, {"resourceShares": [share], "nextToken": "t"}) == []


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ({"resourceShares": [{"colour": "red"}]}, "unknown member 'colour'"),
        ({"resourceShares": [{"status": "SHARED"}]}, "'SHARED' is not one of"),
        ({"resourceShares": [{"allowExternalPrincipals": "true"}]}, "expected boolean, got str"),
        ({"resourceShares": [{"creationTime": datetime(2025, 1, 1)}]}, "timezone-aware datetime"),
        ({"resourceShares": [{"creationTime": 1735689600}]}, "timezone-aware datetime"),
        ({"resourceShares": {"not": "a list"}}, "expected list, got dict"),
        ({"nextToken": None}, "None (omit the member instead)"),
    ],
)
def test_output_checker_names_each_violation(response, expected):
    violations = output_violations(ram_operation("GetResourceShares").output_shape, response)

    assert any(expected in violation for violation in violations), violations


def test_output_checker_checks_patterns_lengths_and_maps():
    sagemaker = botocore.session.get_session().get_service_model("sagemaker")
    shape = sagemaker.operation_model("DescribeContext").output_shape

    violations = output_violations(
        shape,
        {
            "ContextArn": "arn:aws:s3:::bucket",
            "ContextName": "x" * 121,
            "Properties": {"k": 1},
            "Source": {"SourceType": "t"},
        },
    )

    assert any("does not match pattern" in v for v in violations)
    assert any("above the maximum 120" in v for v in violations)
    assert any("Properties['k']: expected string" in v for v in violations)
    assert any("missing required member 'SourceUri'" in v for v in violations)


def test_input_checker_reports_what_botocore_leaves_to_the_service():
    sagemaker = botocore.session.get_session().get_service_model("sagemaker")
    shape = sagemaker.operation_model("ListLineageGroups").input_shape

    violations = input_constraint_violations(
        shape, {"SortBy": "Size", "MaxResults": 101, "CreatedAfter": "2025-01-01T00:00:00Z"}
    )

    assert len(violations) == 2
    assert any("'Size' is not one of" in v for v in violations)
    assert any("above the maximum 100" in v for v in violations)


# ------------------------------------------------------------------ requests and responses


def test_a_malformed_fake_response_raises_instead_of_reaching_the_caller(world):
    world.ram.operations["GetResourceShares"] = FakeOperation(
        world.ram.operations["GetResourceShares"].authorization,
        lambda caller, params: {"resourceShares": [{"status": "SHARED"}]},
    )
    ram = world.client("ram", account=OWNER, region=REGION)

    with pytest.raises(ResponseShapeViolation, match="GetResourceShares.*'SHARED'"):
        ram.get_resource_shares(resourceOwner="SELF")


def test_an_invalid_request_is_rejected_by_botocore_validation_before_sending(world):
    ram = world.client("ram", account=OWNER, region=REGION)

    with pytest.raises(ParamValidationError, match="resourceOwner"):
        ram.get_resource_shares(resourceOwnr="SELF")

    assert world.call_log == []


def test_a_request_breaking_a_service_limit_gets_the_services_validation_error(world):
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)

    with pytest.raises(ClientError) as raised:
        sagemaker.create_context(
            ContextName="not a valid name", ContextType="t", Source={"SourceUri": "urn:x"}
        )

    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "does not match pattern" in raised.value.response["Error"]["Message"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert world.lineage_group_arn(OWNER, REGION) is None


def test_timestamps_travel_as_epoch_seconds_and_parse_back(world):
    world.clock.advance(timedelta(minutes=5))
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)
    sagemaker.create_context(ContextName="c", ContextType="t", Source={"SourceUri": "urn:x"})

    described = sagemaker.describe_context(ContextName="c")

    assert described["CreationTime"] == START + timedelta(minutes=5)


def test_an_unimplemented_operation_raises_naming_it(world):
    ram = world.client("ram", account=OWNER, region=REGION)
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)

    with pytest.raises(NotImplementedError, match="ram:GetPermission"):
        ram.get_permission(permissionArn="arn:aws:ram::aws:permission/AWSRAMDefaultPermission")
    with pytest.raises(NotImplementedError, match="sagemaker:ListTrialComponents"):
        sagemaker.list_trial_components()
    assert [record.error_code for record in world.call_log] == ["NotImplementedError"] * 2


def test_clients_ignore_the_users_aws_environment(world, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "profile-that-does-not-exist")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    world.faults.fail("GetResourceShares", "ThrottlingException", times=2)
    ram = world.client("ram", account=OWNER, region=REGION)

    response = ram.get_resource_shares(resourceOwner="SELF")

    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert ram.meta.endpoint_url == f"https://ram.{REGION}.amazonaws.com"


# ------------------------------------------------------------------ faults and retries


def test_throttling_is_retried_by_botocore_in_simulated_time(world, monkeypatch):
    world.faults.fail("GetResourceShareInvitations", "ThrottlingException", times=3)
    ram = world.client("ram", account=CONSUMER, region=REGION)
    real_sleeps: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", real_sleeps.append)

    response = ram.get_resource_share_invitations()

    # botocore's backoff between attempts took simulated time, not real time.
    assert real_sleeps == [0, 0, 0]
    assert response["ResponseMetadata"]["RetryAttempts"] == 3
    attempts = [
        r.error_code for r in world.call_log if r.operation == "GetResourceShareInvitations"
    ]
    assert attempts == ["ThrottlingException"] * 3 + [None]
    assert START < world.clock.now() <= START + timedelta(seconds=3 * 20)


def test_retries_stop_at_the_production_attempt_limit(world):
    world.faults.fail("GetResourceShares", "ServiceUnavailableException", times=20)
    ram = world.client("ram", account=OWNER, region=REGION)

    with pytest.raises(ClientError) as raised:
        ram.get_resource_shares(resourceOwner="SELF")

    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert raised.value.response["ResponseMetadata"]["RetryAttempts"] == 7
    assert len(world.call_log) == 8


def test_ram_throttling_answers_429_and_sagemaker_throttling_answers_400(world):
    world.faults.fail("GetResourceShares", "ThrottlingException", times=8)
    world.faults.fail("ListLineageGroups", "ThrottlingException", times=8)
    ram = world.client("ram", account=OWNER, region=REGION)
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)

    with pytest.raises(ClientError) as ram_error:
        ram.get_resource_shares(resourceOwner="SELF")
    with pytest.raises(ClientError) as sagemaker_error:
        sagemaker.list_lineage_groups()

    assert ram_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert sagemaker_error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sagemaker_error.value.response["Error"]["Code"] == "ThrottlingException"
    assert sagemaker_error.value.response["ResponseMetadata"]["RetryAttempts"] == 7


def test_a_client_error_fault_is_not_retried_and_only_hits_its_account(world):
    world.faults.fail("GetResourceShares", "InvalidParameterException", account=CONSUMER)
    owner_ram = world.client("ram", account=OWNER, region=REGION)
    consumer_ram = world.client("ram", account=CONSUMER, region=REGION)

    owner_ram.get_resource_shares(resourceOwner="SELF")
    with pytest.raises(consumer_ram.exceptions.InvalidParameterException):
        consumer_ram.get_resource_shares(resourceOwner="SELF")

    assert [(r.account, r.error_code) for r in world.call_log] == [
        (OWNER, None),
        (CONSUMER, "InvalidParameterException"),
    ]


def test_an_empty_page_with_a_token_leads_to_the_real_first_page(world):
    world.faults.empty_page("ListLineageGroups")
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)
    sagemaker.create_context(ContextName="c", ContextType="t", Source={"SourceUri": "urn:x"})

    first = sagemaker.list_lineage_groups()
    second = sagemaker.list_lineage_groups(NextToken=first["NextToken"])

    assert first["LineageGroupSummaries"] == []
    assert [g["LineageGroupArn"] for g in second["LineageGroupSummaries"]] == [
        world.lineage_group_arn(OWNER, REGION)
    ]
    assert "NextToken" not in second


def test_botocore_paginators_read_past_an_empty_page(world):
    world.faults.empty_page("GetResourceShares", times=2)
    sagemaker = world.client("sagemaker", account=OWNER, region=REGION)
    sagemaker.create_context(ContextName="c", ContextType="t", Source={"SourceUri": "urn:x"})
    ram = world.client("ram", account=OWNER, region=REGION)
    group = world.lineage_group_arn(OWNER, REGION)
    for index in range(3):
        ram.create_resource_share(name=f"share-{index}", resourceArns=[group])

    pages = list(
        ram.get_paginator("get_resource_shares").paginate(
            resourceOwner="SELF", PaginationConfig={"PageSize": 2}
        )
    )

    names = [share["name"] for page in pages for share in page["resourceShares"]]
    assert sorted(names) == ["share-0", "share-1", "share-2"]
    assert [len(page["resourceShares"]) for page in pages] == [0, 0, 2, 1]


def test_faults_refuse_unknown_operations_and_unpaged_empty_pages(world):
    with pytest.raises(ValueError, match="AcceptInvitation"):
        world.faults.fail("AcceptInvitation", "ThrottlingException")
    with pytest.raises(ValueError, match="does not page"):
        world.faults.empty_page("AcceptResourceShareInvitation")


def test_cloudformation_answers_in_xml_and_botocore_decodes_the_json_template(world):
    """The query protocol: XML answers and errors (ErrorResponse), as CloudFormation sends them."""
    world.add_account("111111111111")
    stack_id = "arn:aws:cloudformation:eu-west-1:111111111111:stack/Lineage/0f1e2d3c-4b5a"
    world.cloudformation.put_template(stack_id, {"Resources": {"R": {"Type": "T"}}})
    client = world.client("cloudformation", account="111111111111", region="eu-west-1")

    answer = client.get_template(StackName="Lineage")

    assert answer["TemplateBody"] == {"Resources": {"R": {"Type": "T"}}}
    assert answer["StagesAvailable"] == ["Original", "Processed"]
    with pytest.raises(ClientError) as raised:
        client.get_template(StackName="Missing")
    error = raised.value.response["Error"]
    assert (error["Code"], error["Type"]) == ("ValidationError", "Sender")
    assert error["Message"] == "Stack with id Missing does not exist"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
