"""on_event / is_complete against real boto3 clients stubbed with botocore's Stubber.

Given a CloudFormation request and what RAM and SageMaker answer, when the Provider framework
calls the handler, then exactly the expected AWS calls happen and the framework gets the
expected result. Each stub lists the exact request parameters: a missing or extra call fails.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY

from share_manager import handler as share_handler
from share_manager.decisions import (
    LOGICAL_ID_TAG,
    PRINCIPALS_TAG,
    STACK_ID_TAG,
    ShareRequestRefused,
    principals_digest,
)
from share_manager.embedded_metrics import EmbeddedMetrics
from share_manager.handler import CREATED_SHARE_KEY, Dependencies, is_complete, on_event, reconcile

ACCOUNT = "111111111111"
REGION = "us-east-1"
CONSUMER_A, CONSUMER_B, CONSUMER_C = "222222222222", "333333333333", "444444444444"
OWN_GROUP_ARN = (
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:lineage-group/sagemaker-default-lineage-group"
)
FOREIGN_GROUP_ARN = (
    f"arn:aws:sagemaker:{REGION}:{CONSUMER_A}:lineage-group/sagemaker-default-lineage-group"
)
SHARE_ARN = f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/7ab63972-b505-7e2a-420d-6f5d3EXAMPLE"
NEW_SHARE_ARN = f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/0c9b0d1e-0000-4000-8000-0001"
SHARE_NAME = "sm_lineage_sharing"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/LineageSharing-training/abc"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LOGICAL_ID = "ProducerShareResource1A2B3C4D"
# The tag naming the principal set a share was deployed for, as for properties() below.
DEPLOYED_FOR_A_AND_B = {PRINCIPALS_TAG: principals_digest([CONSUMER_A, CONSUMER_B])}
# The tags naming the custom resource a share belongs to.
OWNER = {STACK_ID_TAG: STACK_ID, LOGICAL_ID_TAG: LOGICAL_ID}


@dataclass
class FakeLambdaContext:
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:share-manager-on-event"


CONTEXT = FakeLambdaContext()


def properties(**overrides) -> dict:
    return {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider-framework",
        "ShareName": SHARE_NAME,
        "Principals": [CONSUMER_A, CONSUMER_B],
        "AllowExternalPrincipals": "true",
        "BootstrapLineageGroup": "false",
        "BootstrapContextName": "lineage-sharing-bootstrap",
        "Tags": {"team": "ml-platform"},
        **overrides,
    }


def cfn_event(request_type: str, *, physical_id=None, old=None, request_id=None, **props) -> dict:
    event = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:provider-framework",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": STACK_ID,
        "RequestId": request_id or "6f2f5e7c-1d5b-4c4a-9a37-0f3f0e2c1a11",
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::LineageGroupShare",
        "ResourceProperties": properties(**props),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    return event


@pytest.fixture
def deps(aws) -> Dependencies:
    return Dependencies(
        ram=aws.ram, sagemaker=aws.sagemaker, cloudformation=aws.cloudformation, now=lambda: NOW
    )


# ---------------------------------------------------------------------------- stub helpers


def expect_lineage_groups(aws, *arns: str) -> None:
    summaries = [
        {"LineageGroupArn": arn, "LineageGroupName": arn.rsplit("/", 1)[1]} for arn in arns
    ]
    aws.sagemaker_stub.add_response("list_lineage_groups", {"LineageGroupSummaries": summaries}, {})


def share(
    arn=SHARE_ARN, *, status="ACTIVE", name=SHARE_NAME, tags=None, external=True, message=None
):
    body = {
        "resourceShareArn": arn,
        "name": name,
        "owningAccountId": ACCOUNT,
        "allowExternalPrincipals": external,
        "status": status,
        "tags": [
            {"key": k, "value": v}
            for k, v in (tags or {"team": "ml-platform", **DEPLOYED_FOR_A_AND_B, **OWNER}).items()
        ],
    }
    if message:
        body["statusMessage"] = message
    return body


def expect_get_share(aws, arn=SHARE_ARN, **share_fields) -> None:
    aws.ram_stub.add_response(
        "get_resource_shares",
        {"resourceShares": [share(arn, **share_fields)]},
        {"resourceOwner": "SELF", "resourceShareArns": [arn]},
    )


def principal(entity: str, status: str, age=timedelta(minutes=5), message=None) -> dict:
    record = {
        "resourceShareArn": SHARE_ARN,
        "resourceShareName": SHARE_NAME,
        "associatedEntity": entity,
        "associationType": "PRINCIPAL",
        "status": status,
        "creationTime": NOW - age - timedelta(minutes=1),
        "lastUpdatedTime": NOW - age,
        "external": True,
    }
    if message:
        record["statusMessage"] = message
    return record


def expect_associations(aws, *records: dict, arn=SHARE_ARN) -> None:
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {"resourceShareAssociations": list(records)},
        {"associationType": "PRINCIPAL", "resourceShareArns": [arn]},
    )


def expect_find_shares(aws, *shares: dict, name=SHARE_NAME) -> None:
    """The look-up for shares an earlier attempt of this custom resource made."""
    request = {
        "resourceOwner": "SELF",
        "tagFilters": [{"tagKey": k, "tagValues": [v]} for k, v in sorted(OWNER.items())],
    }
    if name:
        request["name"] = name
    aws.ram_stub.add_response("get_resource_shares", {"resourceShares": list(shares)}, request)


def expect_create_share(aws, *, arn=SHARE_ARN, status="ACTIVE"):
    expect_find_shares(aws)
    tags = {"team": "ml-platform", **DEPLOYED_FOR_A_AND_B, **OWNER}
    aws.ram_stub.add_response(
        "create_resource_share",
        {"resourceShare": share(arn, status=status)},
        {
            "name": SHARE_NAME,
            "resourceArns": [OWN_GROUP_ARN],
            "principals": [CONSUMER_A, CONSUMER_B],
            "allowExternalPrincipals": True,
            "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())],
            "clientToken": ANY,
        },
    )


def expect_group_association(aws, status="ASSOCIATED", *, arn=SHARE_ARN, message=None) -> None:
    record = {
        "resourceShareArn": arn,
        "associatedEntity": OWN_GROUP_ARN,
        "associationType": "RESOURCE",
        "status": status,
    }
    if message:
        record["statusMessage"] = message
    aws.ram_stub.add_response(
        "get_resource_share_associations",
        {"resourceShareAssociations": [record]},
        {"associationType": "RESOURCE", "resourceShareArns": [arn]},
    )


def expect_ready_share(aws, arn=SHARE_ARN, **share_fields) -> None:
    """is_complete's reads of an ACTIVE share before it looks at the principals."""
    expect_get_share(aws, arn, **share_fields)
    expect_group_association(aws, arn=arn)


def expect_delete(aws, arn=SHARE_ARN) -> None:
    aws.ram_stub.add_response(
        "delete_resource_share",
        {"returnValue": True},
        {"resourceShareArn": arn, "clientToken": ANY},
    )


def expect_associate(aws, *principals: str) -> None:
    aws.ram_stub.add_response(
        "associate_resource_share",
        {},
        {"resourceShareArn": SHARE_ARN, "principals": list(principals), "clientToken": ANY},
    )


def expect_disassociate(aws, *principals: str) -> None:
    aws.ram_stub.add_response(
        "disassociate_resource_share",
        {},
        {"resourceShareArn": SHARE_ARN, "principals": list(principals), "clientToken": ANY},
    )


def complete_result(arn=SHARE_ARN) -> dict:
    return {
        "IsComplete": True,
        "PhysicalResourceId": arn,
        "Data": {"LineageGroupArn": OWN_GROUP_ARN, "ResourceShareArn": arn},
    }


# ---------------------------------------------------------------------------- create


def test_create_shares_the_own_group_even_when_a_foreign_group_is_listed_first(
    aws, deps, capture_requests
):
    expect_lineage_groups(aws, FOREIGN_GROUP_ARN, OWN_GROUP_ARN)
    expect_create_share(aws)
    creates = capture_requests(aws.ram, "CreateResourceShare")

    result = on_event(cfn_event("Create"), CONTEXT, deps)

    assert result == {"PhysicalResourceId": SHARE_ARN}
    [request] = creates
    assert request["resourceArns"] == [OWN_GROUP_ARN]
    assert uuid.UUID(request["clientToken"])  # RAM recommends a UUID


def test_more_principals_than_the_pending_invitation_quota_are_invited_in_batches(
    aws, deps, capture_requests
):
    many = [f"{n:012d}" for n in range(500000000001, 500000000026)]  # 25 consumers
    creates = capture_requests(aws.ram, "CreateResourceShare")
    associates = capture_requests(aws.ram, "AssociateResourceShare")
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws)
    aws.ram_stub.add_response("create_resource_share", {"resourceShare": share()}, None)

    on_event(cfn_event("Create", Principals=many), CONTEXT, deps)

    # 20 invitations is RAM's default quota per sharing account: the rest must wait.
    assert creates[0]["principals"] == many[:20]

    # 18 still pending, 2 accepted: room for 2 more of the 5 held back, and not complete yet.
    expect_ready_share(aws)
    records = [principal(p, "ASSOCIATED") for p in many[:2]]
    records += [principal(p, "ASSOCIATING") for p in many[2:20]]
    expect_associations(aws, *records)
    aws.ram_stub.add_response("associate_resource_share", {"resourceShareAssociations": []}, None)

    result = is_complete(cfn_event("Create", physical_id=SHARE_ARN, Principals=many), CONTEXT, deps)

    assert result == {"IsComplete": False}
    assert associates[0]["principals"] == many[20:22]


def test_create_client_token_is_the_same_when_the_request_is_retried(aws, deps, capture_requests):
    creates = capture_requests(aws.ram, "CreateResourceShare")
    for request_id in ("request-1", "request-1", "request-2"):
        expect_lineage_groups(aws, OWN_GROUP_ARN)
        expect_create_share(aws)
        on_event(cfn_event("Create", request_id=request_id), CONTEXT, deps)

    tokens = [request["clientToken"] for request in creates]
    assert tokens[0] == tokens[1]  # a retried request cannot create a second share
    assert tokens[2] != tokens[0]  # a new request is a new create


def test_create_then_is_complete_returns_data_once_the_share_is_active(aws, deps):
    expect_get_share(aws)
    # The share's association of the account's own group names the group for the outputs.
    expect_group_association(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATING"), principal(CONSUMER_B, "ASSOCIATING")
    )

    result = is_complete(cfn_event("Create", physical_id=SHARE_ARN), CONTEXT, deps)

    assert result == complete_result()


def test_pending_share_is_not_complete_and_carries_no_data(aws, deps):
    expect_get_share(aws, status="PENDING")

    assert is_complete(cfn_event("Create", physical_id=SHARE_ARN), CONTEXT, deps) == {
        "IsComplete": False
    }


def test_failed_share_fails_the_deployment_with_rams_reason(aws, deps):
    expect_get_share(aws, status="FAILED", message="The resource is not shareable")

    with pytest.raises(RuntimeError, match="is FAILED: The resource is not shareable"):
        is_complete(cfn_event("Create", physical_id=SHARE_ARN), CONTEXT, deps)


def test_a_lineage_group_ram_failed_to_share_fails_the_deployment_with_rams_message(aws, deps):
    # The share itself is ACTIVE: only its resource association tells.
    expect_get_share(aws)
    expect_group_association(aws, "FAILED", message="Could not attach the resource policy.")

    with pytest.raises(RuntimeError) as raised:
        is_complete(cfn_event("Create", physical_id=SHARE_ARN), CONTEXT, deps)

    assert str(raised.value) == (
        f"RAM could not share the lineage group {OWN_GROUP_ARN} through resource share "
        f"{SHARE_ARN}: its resource association is FAILED: Could not attach the resource policy."
    )


def test_a_lineage_group_still_associating_is_waited_for(aws, deps):
    expect_get_share(aws)
    expect_group_association(aws, "ASSOCIATING")

    assert is_complete(cfn_event("Create", physical_id=SHARE_ARN), CONTEXT, deps) == {
        "IsComplete": False
    }


def test_access_denied_reaches_cloudformation_with_code_and_action(aws, deps, caplog):
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws)
    denial = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/ShareHandlerRole/fn is not authorized to "
        "perform: ram:CreateResourceShare because no identity-based policy allows the "
        "ram:CreateResourceShare action"
    )
    aws.ram_stub.add_client_error(
        "create_resource_share", "AccessDeniedException", denial, http_status_code=403
    )
    expect_find_shares(aws)  # nothing an earlier attempt left behind
    caplog.set_level(logging.INFO, logger="share_manager")

    with pytest.raises(ClientError) as raised:
        on_event(cfn_event("Create"), CONTEXT, deps)

    message = str(raised.value)
    assert "AccessDeniedException" in message
    assert "is not authorized to perform: ram:CreateResourceShare" in message
    [error_line] = [r for r in caplog.records if getattr(r, "action", None) == "error"]
    assert error_line.exc_info is not None
    assert error_line.reason.startswith("AccessDeniedException: ")
    assert error_line.logical_resource_id == LOGICAL_ID


def test_every_action_is_one_structured_log_line(aws, deps, caplog):
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws)
    caplog.set_level(logging.INFO, logger="share_manager")

    on_event(cfn_event("Create"), CONTEXT, deps)

    lines = {record.action: record for record in caplog.records}
    assert list(lines) == ["find_group", "create_share"]
    assert lines["find_group"].lineage_group_arn == OWN_GROUP_ARN
    assert lines["create_share"].share_arn == SHARE_ARN
    assert lines["create_share"].principals == [CONSUMER_A, CONSUMER_B]
    assert lines["create_share"].account == ACCOUNT


# ---------------------------------------------------------------------------- no lineage group


def test_no_group_without_bootstrap_fails_with_what_to_do(aws, deps):
    expect_lineage_groups(aws, FOREIGN_GROUP_ARN)

    with pytest.raises(ShareRequestRefused) as raised:
        on_event(cfn_event("Create"), CONTEXT, deps)

    message = str(raised.value)
    assert f"No SageMaker lineage group exists yet in account {ACCOUNT}, region {REGION}" in message
    assert "bootstrap_lineage_group: true" in message


def test_no_group_with_bootstrap_creates_the_marker_then_shares_once_the_group_appears(
    aws, deps, capture_requests
):
    # on_event: no group yet -> marker context; no physical id (the framework uses RequestId)
    expect_lineage_groups(aws, FOREIGN_GROUP_ARN)
    aws.sagemaker_stub.add_response(
        "create_context",
        {"ContextArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/lineage-sharing-bootstrap"},
        {
            "ContextName": "lineage-sharing-bootstrap",
            "ContextType": "LineageSharingBootstrap",
            "Source": {"SourceUri": "urn:lineage-sharing:bootstrap"},
            "Description": ANY,
        },
    )
    create = cfn_event("Create", BootstrapLineageGroup="true")
    assert on_event(create, CONTEXT, deps) == {}

    # The framework spreads on_event's result over the event: PhysicalResourceId = RequestId.
    polled = {**create, "PhysicalResourceId": create["RequestId"]}
    creates = capture_requests(aws.ram, "CreateResourceShare")

    # poll 1: SageMaker has not created the group yet
    expect_lineage_groups(aws, FOREIGN_GROUP_ARN)
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 2: the group exists -> share created (still PENDING)
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws, status="PENDING")
    expect_get_share(aws, status="PENDING")
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 3: the share poll 2 created is found by its tags (never a second one), now ACTIVE
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws, share())
    expect_get_share(aws)
    expect_group_association(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATING"), principal(CONSUMER_B, "ASSOCIATED")
    )
    assert is_complete(polled, CONTEXT, deps) == complete_result()

    assert len(creates) == 1


def test_bootstrap_tolerates_a_marker_context_that_already_exists(aws, deps):
    expect_lineage_groups(aws)
    # Recognised by its code and a DescribeContext, not by this (changing) wording.
    aws.sagemaker_stub.add_client_error(
        "create_context",
        "ValidationException",
        "Context names must be unique within an AWS account and region.",
    )
    aws.sagemaker_stub.add_response(
        "describe_context",
        {"ContextName": "lineage-sharing-bootstrap"},
        {"ContextName": "lineage-sharing-bootstrap"},
    )

    assert on_event(cfn_event("Create", BootstrapLineageGroup="true"), CONTEXT, deps) == {}


def test_a_bootstrap_share_that_failed_is_deleted_before_failing(aws, deps):
    create = cfn_event("Create", BootstrapLineageGroup="true")
    polled = {**create, "PhysicalResourceId": create["RequestId"]}
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws, status="FAILED")
    expect_get_share(aws, status="FAILED", message="Internal failure")
    expect_delete(aws)

    with pytest.raises(RuntimeError, match="is FAILED: Internal failure"):
        is_complete(polled, CONTEXT, deps)


def test_a_bootstrap_poll_adopts_the_share_an_earlier_poll_made_under_another_token(aws, deps):
    # Poll 1 was refused for quota and created the share without principals (second token);
    # with room now, the first token would make a second share. The tags find the first.
    create = cfn_event("Create", BootstrapLineageGroup="true")
    polled = {**create, "PhysicalResourceId": create["RequestId"]}
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws, share(status="DELETED", arn=NEW_SHARE_ARN), share())
    expect_get_share(aws)
    expect_group_association(aws)
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATING"))
    expect_associate(aws, CONSUMER_B)

    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}


# ---------------------------------------------------------------------------- update


def update_event(**props) -> dict:
    return cfn_event(
        "Update",
        physical_id=SHARE_ARN,
        request_id="9d7c0a55-update",
        old=properties(),
        **props,
    )


def test_update_with_changed_principals_keeps_the_share_and_reconciles_in_place(aws, deps):
    event = update_event(Principals=[CONSUMER_A, CONSUMER_C])  # B removed, C added
    expect_get_share(aws)
    expect_group_association(aws)
    # First the share records the principal set it is now deployed for (see reconcile).
    aws.ram_stub.add_response(
        "tag_resource",
        {},
        {
            "resourceShareArn": SHARE_ARN,
            "tags": [{"key": PRINCIPALS_TAG, "value": principals_digest([CONSUMER_C, CONSUMER_A])}],
        },
    )
    assert on_event(event, CONTEXT, deps) == {"PhysicalResourceId": SHARE_ARN}

    polled = {**event, "PhysicalResourceId": SHARE_ARN}
    # poll 1: disassociate B, associate C
    expect_ready_share(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATED"), principal(CONSUMER_B, "ASSOCIATED")
    )
    expect_disassociate(aws, CONSUMER_B)
    expect_associate(aws, CONSUMER_C)
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 2: B still disassociating -> wait
    expect_ready_share(aws)
    expect_associations(
        aws,
        principal(CONSUMER_A, "ASSOCIATED"),
        principal(CONSUMER_B, "DISASSOCIATING"),
        principal(CONSUMER_C, "ASSOCIATING"),
    )
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 3: converged -> complete with the same physical id
    expect_ready_share(aws)
    expect_associations(
        aws,
        principal(CONSUMER_A, "ASSOCIATED"),
        principal(CONSUMER_B, "DISASSOCIATED"),
        principal(CONSUMER_C, "ASSOCIATING"),
    )
    assert is_complete(polled, CONTEXT, deps) == complete_result()


def test_expired_invitation_is_reinvited_on_update(aws, deps):
    polled = update_event()
    # poll 1: B has been ASSOCIATING for 13 h -> disassociate it first
    expect_ready_share(aws)
    expect_associations(
        aws,
        principal(CONSUMER_A, "ASSOCIATED"),
        principal(CONSUMER_B, "ASSOCIATING", age=timedelta(hours=13)),
    )
    expect_disassociate(aws, CONSUMER_B)
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 2: B is DISASSOCIATED -> associate it again (a fresh invitation)
    expect_ready_share(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATED"), principal(CONSUMER_B, "DISASSOCIATED")
    )
    expect_associate(aws, CONSUMER_B)
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 3: fresh invitation pending -> complete
    expect_ready_share(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATED"), principal(CONSUMER_B, "ASSOCIATING")
    )
    assert is_complete(polled, CONTEXT, deps) == complete_result()


def test_failed_association_is_associated_again_directly_and_logged(aws, deps, caplog):
    caplog.set_level(logging.INFO, logger="share_manager")
    expect_ready_share(aws)
    failed = principal(CONSUMER_B, "FAILED", age=timedelta(hours=9), message="Account closed")
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"), failed)
    expect_associate(aws, CONSUMER_B)  # no disassociation first

    assert is_complete(update_event(), CONTEXT, deps) == {"IsComplete": False}
    [reinvite] = [r for r in caplog.records if r.action == "reinvite"]
    assert reinvite.principals == [CONSUMER_B]
    assert reinvite.reason == "association FAILED: Account closed"


def test_a_principal_that_failed_again_within_8_hours_does_not_hold_the_deployment(
    aws, deps, caplog
):
    caplog.set_level(logging.INFO, logger="share_manager")
    expect_ready_share(aws)
    failed = principal(CONSUMER_B, "FAILED", age=timedelta(hours=1), message="Account closed")
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"), failed)

    assert is_complete(update_event(), CONTEXT, deps) == complete_result()  # no call at all
    [deferred] = [r for r in caplog.records if r.action == "wait" and r.principals == [CONSUMER_B]]
    assert "re-invited at most every 8 h" in deferred.reason


def test_a_failed_principal_ram_will_not_associate_again_is_disassociated_instead(aws, deps):
    expect_ready_share(aws)
    failed = principal(CONSUMER_B, "SUSPENDED", age=timedelta(hours=9))
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"), failed)
    aws.ram_stub.add_client_error(
        "associate_resource_share", "InvalidStateTransitionException", "principal is SUSPENDED"
    )
    expect_disassociate(aws, CONSUMER_B)  # a later poll associates it like a new one

    assert is_complete(update_event(), CONTEXT, deps) == {"IsComplete": False}


def test_associate_refused_while_ram_is_still_disassociating_is_just_not_complete(aws, deps):
    expect_ready_share(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATED"), principal(CONSUMER_B, "DISASSOCIATED")
    )
    aws.ram_stub.add_client_error(
        "associate_resource_share",
        "InvalidStateTransitionException",
        "The principal is being disassociated",
    )

    assert is_complete(update_event(), CONTEXT, deps) == {"IsComplete": False}


def test_other_association_errors_fail_the_deployment(aws, deps):
    expect_ready_share(aws)
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"))
    aws.ram_stub.add_client_error(
        "associate_resource_share", "MalformedArnException", "bad principal"
    )

    with pytest.raises(ClientError, match="MalformedArnException"):
        is_complete(update_event(), CONTEXT, deps)


def test_rename_is_refused_with_a_clear_way_out(aws, deps):
    expect_get_share(aws, name=SHARE_NAME)

    with pytest.raises(ShareRequestRefused) as raised:
        on_event(update_event(ShareName="renamed_share"), CONTEXT, deps)

    message = str(raised.value)
    assert f"named '{SHARE_NAME}'" in message and "'renamed_share'" in message
    assert "ram:ResourceShareName" in message
    assert f"Set share_name back to '{SHARE_NAME}'" in message


def test_rollback_of_a_refused_rename_succeeds(aws, deps):
    # CloudFormation rolls back with the old properties as the new ones: the share's real name
    # matches them, so the rollback must not be refused again.
    expect_get_share(aws, name=SHARE_NAME)
    expect_group_association(aws)
    rollback = cfn_event("Update", physical_id=SHARE_ARN, old=properties(ShareName="renamed_share"))

    assert on_event(rollback, CONTEXT, deps) == {"PhysicalResourceId": SHARE_ARN}


def test_tag_changes_are_applied_to_the_share(aws, deps):
    event = cfn_event(
        "Update",
        physical_id=SHARE_ARN,
        old=properties(Tags={"team": "ml-platform", "cost-center": "42"}),
        Tags={"team": "lineage", "owner": "data-eng"},
    )
    # A share made before shares carried the tags naming their custom resource: it gets them.
    expect_get_share(
        aws,
        tags={"team": "ml-platform", "cost-center": "42", "other": "kept", **DEPLOYED_FOR_A_AND_B},
    )
    expect_group_association(aws)
    added = {"owner": "data-eng", "team": "lineage", **OWNER}
    aws.ram_stub.add_response(
        "tag_resource",
        {},
        {
            "resourceShareArn": SHARE_ARN,
            "tags": [{"key": k, "value": v} for k, v in sorted(added.items())],
        },
    )
    aws.ram_stub.add_response(
        "untag_resource", {}, {"resourceShareArn": SHARE_ARN, "tagKeys": ["cost-center"]}
    )

    assert on_event(event, CONTEXT, deps) == {"PhysicalResourceId": SHARE_ARN}


def replaced_by(arn: str) -> dict:
    return {"PhysicalResourceId": arn, CREATED_SHARE_KEY: arn}


def test_share_deleted_outside_cloudformation_is_recreated_on_update(aws, deps):
    expect_get_share(aws, status="DELETED")
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws, arn=NEW_SHARE_ARN)

    assert on_event(update_event(), CONTEXT, deps) == replaced_by(NEW_SHARE_ARN)


def test_a_failed_share_is_replaced_on_update_and_deleted_at_once(aws, deps, caplog):
    # Waiting would not help, and the rollback would meet the same share: a new physical id
    # heals the stack. The failed share is deleted now, not left to a cleanup that a failed
    # update would skip.
    caplog.set_level(logging.INFO, logger="share_manager")
    expect_get_share(aws, status="FAILED", message="Internal failure")
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws, arn=NEW_SHARE_ARN)
    expect_delete(aws, SHARE_ARN)

    assert on_event(update_event(), CONTEXT, deps) == replaced_by(NEW_SHARE_ARN)
    [replacing] = [r for r in caplog.records if r.action == "replace_share"]
    assert replacing.reason.endswith("is FAILED: Internal failure")


def test_a_share_whose_lineage_group_association_failed_is_replaced_on_update(aws, deps):
    expect_get_share(aws)
    expect_group_association(aws, "FAILED", message="Could not attach the resource policy.")
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_create_share(aws, arn=NEW_SHARE_ARN)
    expect_delete(aws, SHARE_ARN)

    assert on_event(update_event(), CONTEXT, deps) == replaced_by(NEW_SHARE_ARN)


def test_a_replacement_that_then_fails_is_deleted_as_cloudformation_never_will(aws, deps):
    polled = {**update_event(), **replaced_by(NEW_SHARE_ARN)}
    expect_get_share(aws, NEW_SHARE_ARN)
    expect_group_association(aws, "FAILED", arn=NEW_SHARE_ARN, message="Transient failure.")
    expect_delete(aws, NEW_SHARE_ARN)

    with pytest.raises(RuntimeError, match="Transient failure."):
        is_complete(polled, CONTEXT, deps)


def test_switching_to_external_principals_allows_them_before_associating(aws, deps):
    expect_ready_share(aws, external=False)
    aws.ram_stub.add_response(
        "update_resource_share",
        {"resourceShare": share(external=True)},
        {"resourceShareArn": SHARE_ARN, "allowExternalPrincipals": True, "clientToken": ANY},
    )

    assert is_complete(update_event(), CONTEXT, deps) == {"IsComplete": False}


def test_forbidding_external_principals_waits_until_they_are_gone(aws, deps):
    org = "arn:aws:organizations::111111111111:organization/o-exampleorgid"
    polled = update_event(Principals=[org], AllowExternalPrincipals="false")
    # poll 1: the external accounts are still associated -> remove them, keep the flag
    expect_ready_share(aws, external=True)
    expect_associations(aws, principal(org, "ASSOCIATED"), principal(CONSUMER_A, "ASSOCIATED"))
    expect_disassociate(aws, CONSUMER_A)
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}

    # poll 2: only the organization is left -> now forbid external principals
    expect_ready_share(aws, external=True)
    expect_associations(aws, principal(org, "ASSOCIATED"), principal(CONSUMER_A, "DISASSOCIATED"))
    aws.ram_stub.add_response(
        "update_resource_share",
        {"resourceShare": share(external=False)},
        {"resourceShareArn": SHARE_ARN, "allowExternalPrincipals": False, "clientToken": ANY},
    )
    assert is_complete(polled, CONTEXT, deps) == {"IsComplete": False}


# ---------------------------------------------------------------------------- delete


def delete_event(physical_id=SHARE_ARN, **props) -> dict:
    return cfn_event("Delete", physical_id=physical_id, request_id="delete-request", **props)


def test_delete_deletes_the_share_with_a_stable_client_token(aws, deps, capture_requests):
    deletes = capture_requests(aws.ram, "DeleteResourceShare")
    for _ in range(2):  # the framework may retry the same request
        expect_get_share(aws)
        aws.ram_stub.add_response(
            "delete_resource_share",
            {"returnValue": True},
            {"resourceShareArn": SHARE_ARN, "clientToken": ANY},
        )
        assert on_event(delete_event(), CONTEXT, deps) == {}

    assert deletes[0]["clientToken"] == deletes[1]["clientToken"]


def test_delete_of_a_share_ram_no_longer_knows_succeeds(aws, deps):
    expect_get_share(aws)
    aws.ram_stub.add_client_error(
        "delete_resource_share", "UnknownResourceException", f"{SHARE_ARN} not found"
    )

    assert on_event(delete_event(), CONTEXT, deps) == {}


@pytest.mark.parametrize("status", ["DELETED", "DELETING"])
def test_delete_of_a_share_already_going_away_succeeds_without_a_call(aws, deps, status):
    expect_get_share(aws, status=status)

    assert on_event(delete_event(), CONTEXT, deps) == {}


def test_delete_after_a_create_that_never_made_a_share_only_looks(aws, deps):
    # The invalid properties that failed the Create come back with its rollback Delete.
    event = delete_event(physical_id="6f2f5e7c-1d5b-4c4a-9a37-0f3f0e2c1a11", Principals=[])
    expect_find_shares(aws)

    assert on_event(event, CONTEXT, deps) == {}


def test_delete_after_a_create_that_timed_out_deletes_the_share_it_made(aws, deps):
    # A Create whose is_complete timed out reports its RequestId as physical id, yet a poll
    # had created a share: its tags name this custom resource.
    event = delete_event(physical_id="6f2f5e7c-1d5b-4c4a-9a37-0f3f0e2c1a11")
    expect_find_shares(aws, share(status="PENDING"), share(NEW_SHARE_ARN, status="DELETED"))
    expect_get_share(aws, status="PENDING")
    expect_delete(aws, SHARE_ARN)

    assert on_event(event, CONTEXT, deps) == {}


def test_a_create_whose_answer_was_lost_deletes_what_it_made_before_failing(aws, deps):
    # The framework answers a failed on_event Create with a marker and never passes its
    # rollback Delete on: a share created by an attempt whose answer never came would leak.
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws)
    aws.ram_stub.add_client_error(
        "create_resource_share", "ServiceUnavailableException", "try later", 503
    )
    expect_find_shares(aws, share())
    expect_delete(aws, SHARE_ARN)

    with pytest.raises(ClientError, match="ServiceUnavailable"):
        on_event(cfn_event("Create"), CONTEXT, deps)


def test_delete_racing_another_deletion_succeeds(aws, deps):
    expect_get_share(aws)
    aws.ram_stub.add_client_error(
        "delete_resource_share", "InvalidStateTransitionException", "share is being deleted"
    )
    expect_get_share(aws, status="DELETING")

    assert on_event(delete_event(), CONTEXT, deps) == {}


def test_is_complete_for_delete_is_complete_at_once(aws, deps):
    assert is_complete(delete_event(), CONTEXT, deps) == {"IsComplete": True}


# ---------------------------------------------------------------------------- anything else


@pytest.mark.parametrize("entry", [on_event, is_complete])
def test_unknown_request_type_fails(aws, deps, entry):
    with pytest.raises(ValueError, match="unsupported RequestType 'Replace'"):
        entry(cfn_event("Replace"), CONTEXT, deps)


# ---------------------------------------------------------------------------- quota and schedule


def test_complete_while_the_quota_holds_principals_back_for_the_schedule(aws, deps, caplog):
    caplog.set_level(logging.INFO, logger="share_manager")
    many = [f"{n:012d}" for n in range(500000000001, 500000000022)]  # 21 consumers
    expect_ready_share(aws)
    expect_associations(aws, *(principal(p, "ASSOCIATING") for p in many[:20]))

    result = is_complete(cfn_event("Create", physical_id=SHARE_ARN, Principals=many), CONTEXT, deps)

    # Waiting for consumers to accept could outlast the Provider's 30 minutes: do not block.
    assert result == complete_result()
    [held] = [r for r in caplog.records if r.action == "wait" and r.principals == many[20:]]
    assert "quota" in held.reason


def reconcile_event() -> dict:
    """What the construct's schedule sends (see the rule's Input in the template)."""
    return {
        "RequestType": "Reconcile",
        "StackId": STACK_ID,
        "LogicalResourceId": LOGICAL_ID,
        "PhysicalResourceId": SHARE_ARN,
    }


def expect_template(aws, **props) -> None:
    """The stack's template, where the schedule reads the custom resource's properties."""
    share_properties = {
        **properties(**props),
        "ServiceToken": {"Fn::GetAtt": ["ProviderframeworkonEvent", "Arn"]},
    }
    template = {
        "Resources": {
            LOGICAL_ID: {"Type": "Custom::LineageGroupShare", "Properties": share_properties}
        }
    }
    aws.cloudformation_stub.add_response(
        "get_template", {"TemplateBody": json.dumps(template)}, {"StackName": STACK_ID}
    )


@dataclass
class ScheduledContext(FakeLambdaContext):
    aws_request_id: str = "c0ffee00-0000-4000-8000-000000000001"


class RecordingMetrics:
    def __init__(self) -> None:
        self.emitted: list[dict[str, int]] = []

    def emit(self, counts):
        self.emitted.append(dict(counts))


def test_schedule_resends_an_expired_invitation_without_a_deployment(aws, deps):
    metrics = RecordingMetrics()
    expect_get_share(aws)
    expect_template(aws)
    expect_group_association(aws)
    expect_associations(
        aws,
        principal(CONSUMER_A, "ASSOCIATED"),
        principal(CONSUMER_B, "ASSOCIATING", age=timedelta(hours=13)),
    )
    expect_disassociate(aws, CONSUMER_B)

    result = reconcile(reconcile_event(), ScheduledContext(), replace(deps, metrics=metrics))

    assert result == {
        "share_arn": SHARE_ARN,
        "in_sync": False,
        "associated": [],
        "reinvited": [CONSUMER_B],
        "disassociated": [],
        "held_back": [],
        "deferred": [],
    }
    aws.ram_stub.assert_no_pending_responses()
    # ... and reports it (CloudWatch metrics: embedded_metrics).
    assert metrics.emitted == [
        {
            "ConsumersInvited": 0,
            "ExpiredInvitationsResent": 1,
            "AssociationsFailed": 0,
            "ConsumersRemoved": 0,
            "ConsumersHeldBack": 0,
            "ReinvitesDeferred": 0,
            "ShareInSync": 0,
        }
    ]


def test_schedule_in_sync_only_reads(aws, deps):
    expect_get_share(aws)
    expect_template(aws)
    expect_group_association(aws)
    expect_associations(
        aws, principal(CONSUMER_A, "ASSOCIATED"), principal(CONSUMER_B, "ASSOCIATING")
    )

    result = reconcile(reconcile_event(), ScheduledContext(), deps)

    assert result["in_sync"] is True
    aws.ram_stub.assert_no_pending_responses()


def test_schedule_before_the_share_exists_does_nothing(aws, deps):
    event = {**reconcile_event(), "PhysicalResourceId": "not-a-share-yet"}

    assert reconcile(event, ScheduledContext(), deps) == {
        "share_arn": "not-a-share-yet",
        "in_sync": False,
        "skipped": "not created yet",
    }


def test_schedule_failure_reaches_the_logs_and_the_errors_alarm(aws, deps, caplog):
    aws.ram_stub.add_client_error(
        "get_resource_shares", "AccessDeniedException", "not authorized", 403
    )

    with pytest.raises(ClientError, match="AccessDenied"):
        reconcile(reconcile_event(), ScheduledContext(), deps)
    [error] = [r for r in caplog.records if getattr(r, "action", None) == "error"]
    assert error.entry == "reconcile"


def test_schedule_acts_only_for_the_principals_the_share_was_deployed_for(aws, deps):
    # An update to [A, C] is under way: the share already says so, the template not (yet).
    expect_get_share(aws, tags={PRINCIPALS_TAG: principals_digest([CONSUMER_A, CONSUMER_C])})
    expect_template(aws)

    result = reconcile(reconcile_event(), ScheduledContext(), deps)

    assert result["skipped"] == "deployment under way"
    aws.ram_stub.assert_no_pending_responses()  # no association was read or changed


@pytest.mark.parametrize("status", ["DELETED", "FAILED"])
def test_schedule_raises_when_the_share_is_gone_so_the_alarm_fires(aws, deps, status):
    expect_get_share(aws, status=status)
    expect_find_shares(aws, share(SHARE_ARN, status=status), name=None)  # no successor

    with pytest.raises(RuntimeError, match=f"is {status}: consumers have lost access"):
        reconcile(reconcile_event(), ScheduledContext(), deps)


def test_a_run_for_a_share_an_update_replaced_skips_without_alarming(aws, deps):
    """RAM's event about the old share's deletion runs the rule that still names it."""
    successor = SHARE_ARN.replace("resource-share/", "resource-share/new-")
    expect_get_share(aws, status="DELETING")
    expect_find_shares(aws, share(SHARE_ARN, status="DELETING"), share(successor), name=None)

    result = reconcile(reconcile_event(), ScheduledContext(), deps)

    assert result == {"share_arn": SHARE_ARN, "in_sync": False, "skipped": "replaced"}
    aws.ram_stub.assert_no_pending_responses()


def test_schedule_raises_when_ram_failed_to_share_the_lineage_group(aws, deps):
    expect_get_share(aws)
    expect_template(aws)
    expect_group_association(aws, "FAILED", message="The resource policy was removed.")

    with pytest.raises(RuntimeError) as raised:
        reconcile(reconcile_event(), ScheduledContext(), deps)

    message = str(raised.value)
    assert "its resource association is FAILED: The resource policy was removed." in message
    assert "deploy this stack again with any changed property" in message


def test_quota_filled_by_other_shares_holds_principals_back_instead_of_failing(aws, deps):
    expect_ready_share(aws)
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"))
    aws.ram_stub.add_client_error(
        "associate_resource_share",
        "ResourceShareLimitExceededException",
        "You have exceeded the pending invitation limit",
    )

    # The share is ACTIVE and A has access: complete; the schedule invites B later.
    assert is_complete(update_event(), CONTEXT, deps) == complete_result()


def test_create_when_other_shares_fill_the_quota_creates_the_share_without_principals(
    aws, deps, capture_requests
):
    creates = capture_requests(aws.ram, "CreateResourceShare")
    expect_lineage_groups(aws, OWN_GROUP_ARN)
    expect_find_shares(aws)
    aws.ram_stub.add_client_error(
        "create_resource_share", "ResourceShareLimitExceededException", "pending invitation limit"
    )
    aws.ram_stub.add_response("create_resource_share", {"resourceShare": share()}, None)

    assert on_event(cfn_event("Create"), CONTEXT, deps) == {"PhysicalResourceId": SHARE_ARN}
    first, second = creates
    assert first["principals"] == [CONSUMER_A, CONSUMER_B]
    assert "principals" not in second
    assert first["clientToken"] != second["clientToken"]


# ---------------------------------------------------------------------------- metrics


def test_principals_the_quota_held_back_are_counted_as_held_back(aws, deps):
    metrics = RecordingMetrics()
    expect_get_share(aws)
    expect_template(aws)
    expect_group_association(aws)
    expect_associations(aws, principal(CONSUMER_A, "ASSOCIATED"))
    aws.ram_stub.add_client_error(
        "associate_resource_share",
        "ResourceShareLimitExceededException",
        "You have exceeded the pending invitation limit",
    )

    reconcile(reconcile_event(), ScheduledContext(), replace(deps, metrics=metrics))

    [counts] = metrics.emitted
    assert (counts["ConsumersInvited"], counts["ConsumersHeldBack"]) == (0, 1)


def test_a_run_that_skips_reports_nothing(aws, deps):
    metrics = RecordingMetrics()
    event = {**reconcile_event(), "PhysicalResourceId": "not-a-share-yet"}
    reconcile(event, ScheduledContext(), replace(deps, metrics=metrics))
    assert metrics.emitted == []


def test_lambda_dependencies_print_metrics_named_after_the_function(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "LineageSharing-training-Reconcile")
    share_handler.default_dependencies.cache_clear()
    try:
        deps = share_handler.default_dependencies()
    finally:
        share_handler.default_dependencies.cache_clear()
    assert isinstance(deps.metrics, EmbeddedMetrics)
    assert deps.metrics.function_name == "LineageSharing-training-Reconcile"
