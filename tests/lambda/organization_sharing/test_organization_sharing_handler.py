"""Custom::RamSharingWithOrganization: enable on Create/Update, nothing on Delete, clear
errors otherwise. Decisions with plain data; the RAM call with botocore's Stubber."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from organization_sharing import aws_edge
from organization_sharing.handler import Action, on_event, plan_request

MANAGEMENT = "111111111111"
ORGANIZATION_ARN = f"arn:aws:organizations::{MANAGEMENT}:organization/o-abc123defg"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{MANAGEMENT}:function:EnableRamSharing"


@dataclass(frozen=True)
class Context:
    invoked_function_arn: str = FUNCTION_ARN


def event(request_type: str, **fields) -> dict:
    return {
        "RequestType": request_type,
        "RequestId": "request-1",
        "LogicalResourceId": "RamSharingWithOrganization",
        "ResourceProperties": {"OrganizationArn": ORGANIZATION_ARN},
        **fields,
    }


@pytest.fixture
def ram():
    client = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    ).client("ram", config=aws_edge.RETRY_CONFIG)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_create_and_update_enable_sharing_named_after_the_organization(request_type):
    plan = plan_request(event(request_type), MANAGEMENT)
    assert plan.action is Action.ENABLE
    assert plan.physical_resource_id == ORGANIZATION_ARN


def test_delete_does_nothing_and_keeps_the_physical_id():
    plan = plan_request(event("Delete", PhysicalResourceId=ORGANIZATION_ARN), MANAGEMENT)
    assert plan.action is Action.NOTHING
    assert plan.physical_resource_id == ORGANIZATION_ARN
    assert "cut every organization share" in plan.reason


def test_outside_the_management_account_it_refuses_naming_where_to_deploy():
    with pytest.raises(ValueError, match="managed by 111111111111.*deploy this stack there"):
        plan_request(event("Create"), "222222222222")


def test_a_malformed_organization_arn_is_refused():
    bad = event("Create", ResourceProperties={"OrganizationArn": "o-abc123defg"})
    with pytest.raises(ValueError, match="OrganizationArn must be an organization ARN.*'o-abc"):
        plan_request(bad, MANAGEMENT)


def test_an_unknown_request_type_is_refused():
    with pytest.raises(ValueError, match="unsupported RequestType 'Reconcile'"):
        plan_request(event("Reconcile"), MANAGEMENT)


def test_create_calls_ram_once_and_answers_the_physical_id(ram):
    client, stubber = ram
    stubber.add_response("enable_sharing_with_aws_organization", {"returnValue": True}, {})
    assert on_event(event("Create"), Context(), client) == {"PhysicalResourceId": ORGANIZATION_ARN}


def test_delete_makes_no_call(ram):
    client, _ = ram  # the Stubber fails any call it was not told about
    answer = on_event(event("Delete", PhysicalResourceId=ORGANIZATION_ARN), Context(), client)
    assert answer == {"PhysicalResourceId": ORGANIZATION_ARN}


def test_return_value_false_fails_the_resource(ram):
    client, stubber = ram
    stubber.add_response("enable_sharing_with_aws_organization", {"returnValue": False}, {})
    with pytest.raises(RuntimeError, match="returnValue false"):
        on_event(event("Update"), Context(), client)


def test_rams_refusal_reaches_cloudformation_with_its_cause(ram):
    client, stubber = ram
    stubber.add_client_error(
        "enable_sharing_with_aws_organization",
        service_error_code="OperationNotPermittedException",
        service_message="This account is not the management account of an organization.",
    )
    with pytest.raises(ClientError, match="OperationNotPermittedException"):
        on_event(event("Create"), Context(), client)
