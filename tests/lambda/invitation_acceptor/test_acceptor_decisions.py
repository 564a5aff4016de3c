"""The acceptor's pure decisions, with plain data: no clients, no stubs."""

from __future__ import annotations

import uuid

import pytest

from invitation_acceptor.decisions import (
    ACCEPT,
    ALLOW_LIST_PARAMETERS_VARIABLE,
    ALLOW_LIST_SHA256_VARIABLE,
    Decision,
    InvalidAllowList,
    Invitation,
    Outcome,
    PendingResource,
    SkipReason,
    Summary,
    Trigger,
    allow_list_digest,
    allow_list_from_parameters,
    allow_list_parameter_names,
    client_token_for,
    decide,
    outcome_of_error,
    parse_allowed_producer_accounts,
    pending_only,
    rejected_shares,
    screen_sender,
    trigger_of,
)

PRODUCER = "111111111111"
OTHER_PRODUCER = "222222222222"
THIRD_ACCOUNT = "444444444444"
STRANGER = "999999999999"
ALLOWED = frozenset({PRODUCER, OTHER_PRODUCER})


def invitation(
    sender: str = PRODUCER, *, share_owner: str | None = None, status: str = "PENDING"
) -> Invitation:
    owner = share_owner or sender
    return Invitation(
        arn=f"arn:aws:ram:eu-west-1:{sender}:resource-share-invitation/inv-1",
        sender=sender,
        resource_share_arn=f"arn:aws:ram:eu-west-1:{owner}:resource-share/share-1",
        resource_share_name="central_lineage",
        status=status,
    )


def lineage_group(owner: str = PRODUCER, name: str = "sagemaker-default-lineage-group"):
    return PendingResource(
        arn=f"arn:aws:sagemaker:eu-west-1:{owner}:lineage-group/{name}",
        type="sagemaker:LineageGroup",
    )


SUBNET = PendingResource(
    arn=f"arn:aws:ec2:eu-west-1:{PRODUCER}:subnet/subnet-0123456789abcdef0", type="ec2:Subnet"
)


# ---------------------------------------------------------------------------- allow-list


SOURCE = "SSM parameter /stack/allowed/1"


def test_allow_list_parses_comma_separated_account_ids_and_tolerates_spaces():
    assert parse_allowed_producer_accounts(
        " 111111111111, 222222222222,111111111111", source=SOURCE
    ) == {PRODUCER, OTHER_PRODUCER}


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_allow_list_missing_is_a_clear_error(raw):
    with pytest.raises(InvalidAllowList, match=f"{SOURCE} is not set or empty"):
        parse_allowed_producer_accounts(raw, source=SOURCE)


@pytest.mark.parametrize(
    ("raw", "culprit"),
    [
        ("11111111111", "'11111111111'"),  # 11 digits
        ("111111111111;222222222222", "'111111111111;222222222222'"),
        ("111111111111,", "''"),  # trailing comma: an empty entry
        ("111111111111,arn:aws:iam::222222222222:root", "'arn:aws:iam::222222222222:root'"),
        ("１１１１１１１１１１１１", "'１１１１１１１１１１１１'"),  # full-width digits
    ],
)
def test_allow_list_malformed_names_the_bad_entry(raw, culprit):
    with pytest.raises(InvalidAllowList) as caught:
        parse_allowed_producer_accounts(raw, source=SOURCE)
    assert culprit in str(caught.value)
    assert SOURCE in str(caught.value)
    assert "is not a 12-digit AWS account id" in str(caught.value)


def test_allow_list_parameters_are_named_by_the_environment():
    environment = {ALLOW_LIST_PARAMETERS_VARIABLE: "/s/allowed/1, /s/allowed/2"}
    assert allow_list_parameter_names(environment) == ["/s/allowed/1", "/s/allowed/2"]
    with pytest.raises(InvalidAllowList, match="ALLOWED_PRODUCERS_PARAMETERS is not set"):
        allow_list_parameter_names({})


def test_allow_list_from_parameters_is_the_union_when_the_digest_matches():
    values = {"/s/allowed/1": PRODUCER, "/s/allowed/2": OTHER_PRODUCER}
    environment = {ALLOW_LIST_SHA256_VARIABLE: allow_list_digest([OTHER_PRODUCER, PRODUCER])}
    assert allow_list_from_parameters(values, environment) == ALLOWED


@pytest.mark.parametrize("digest", [None, "0" * 64, allow_list_digest([PRODUCER])])
def test_allow_list_from_parameters_refuses_a_list_that_was_not_deployed(digest):
    values = {"/s/allowed/1": f"{PRODUCER},{OTHER_PRODUCER}"}
    environment = {} if digest is None else {ALLOW_LIST_SHA256_VARIABLE: digest}
    with pytest.raises(InvalidAllowList, match="does not match ALLOWED_PRODUCERS_SHA256"):
        allow_list_from_parameters(values, environment)


def test_allow_list_digest_is_of_the_sorted_distinct_ids():
    assert allow_list_digest([OTHER_PRODUCER, PRODUCER, PRODUCER]) == allow_list_digest(
        [PRODUCER, OTHER_PRODUCER]
    )
    assert allow_list_digest([PRODUCER]) != allow_list_digest([OTHER_PRODUCER])


# ---------------------------------------------------------------------------- the decision


def test_accepts_an_allow_listed_producers_own_lineage_group():
    assert decide(invitation(), [lineage_group()], ALLOWED) == ACCEPT
    assert ACCEPT.accept is True


def test_accepts_several_lineage_groups_all_owned_by_the_sender():
    groups = [lineage_group(), lineage_group(name="team-lineage")]
    assert decide(invitation(), groups, ALLOWED).accept


def test_foreign_sender_is_refused_before_its_resources_are_listed():
    decision = screen_sender(invitation(STRANGER), ALLOWED)
    assert decision is not None and not decision.accept
    assert decision.reason == "foreign_sender"
    assert decide(invitation(STRANGER), [lineage_group(STRANGER)], ALLOWED).reason == (
        "foreign_sender"
    )


def test_allow_listed_sender_needs_its_resources_looked_at():
    assert screen_sender(invitation(), ALLOWED) is None


def test_share_owned_by_another_account_than_the_sender_is_skipped():
    skipped = invitation(PRODUCER, share_owner=THIRD_ACCOUNT)
    assert screen_sender(skipped, ALLOWED).reason == "share_owner_mismatch"
    assert decide(skipped, [lineage_group()], ALLOWED).reason == "share_owner_mismatch"


@pytest.mark.parametrize(
    "share_arn",
    [
        "",
        "not-an-arn",
        f"arn:aws:ram:eu-west-1:{PRODUCER}:permission/AWSRAMDefaultPermissionLineageGroup",
        f"arn:aws:sagemaker:eu-west-1:{PRODUCER}:resource-share/share-1",
    ],
)
def test_malformed_share_arn_is_skipped(share_arn):
    odd = Invitation(
        arn="arn:aws:ram:eu-west-1:111111111111:resource-share-invitation/inv-1",
        sender=PRODUCER,
        resource_share_arn=share_arn,
        resource_share_name="x",
        status="PENDING",
    )
    assert decide(odd, [lineage_group()], ALLOWED).reason == "share_owner_mismatch"


def test_share_with_no_resources_is_skipped():
    assert decide(invitation(), [], ALLOWED).reason == "no_resources"


def test_share_of_other_resource_types_is_skipped():
    assert decide(invitation(), [SUBNET], ALLOWED).reason == "not_lineage_group"


def test_lineage_group_type_with_an_arn_that_is_no_lineage_group_is_not_trusted():
    fake = PendingResource(
        arn=f"arn:aws:sagemaker:eu-west-1:{PRODUCER}:model-package-group/x",
        type="sagemaker:LineageGroup",
    )
    bare = PendingResource(
        arn=f"arn:aws:sagemaker:eu-west-1:{PRODUCER}:lineage-group/", type="sagemaker:LineageGroup"
    )
    assert decide(invitation(), [fake], ALLOWED).reason == "not_lineage_group"
    assert decide(invitation(), [bare], ALLOWED).reason == "not_lineage_group"


def test_lineage_group_shared_together_with_anything_else_is_skipped():
    assert decide(invitation(), [lineage_group(), SUBNET], ALLOWED).reason == "mixed_resources"


def test_lineage_group_owned_by_a_third_account_is_skipped():
    assert decide(invitation(), [lineage_group(THIRD_ACCOUNT)], ALLOWED).reason == (
        "foreign_resource_owner"
    )
    # Even if that third account is itself an allowed producer: only the sender's own group.
    resources = [lineage_group(), lineage_group(OTHER_PRODUCER)]
    assert decide(invitation(), resources, ALLOWED).reason == "foreign_resource_owner"


def test_skip_reasons_are_the_documented_stable_strings():
    assert {reason.value for reason in SkipReason} == {
        "foreign_sender",
        "share_owner_mismatch",
        "no_resources",
        "not_lineage_group",
        "mixed_resources",
        "foreign_resource_owner",
        "already_rejected",
        "previously_rejected",
        "withdrawn",
    }


def test_a_share_this_account_rejected_is_screened_out_before_its_resources_are_listed():
    listed = [invitation(status="REJECTED"), invitation(status="PENDING")]
    rejected = rejected_shares(listed)

    assert rejected == {listed[0].resource_share_arn}
    decision = screen_sender(listed[1], frozenset({PRODUCER}), rejected)
    assert decision == Decision.skip(SkipReason.PREVIOUSLY_REJECTED)
    assert screen_sender(listed[1], frozenset({PRODUCER})) is None  # nothing rejected: look


def test_only_pending_invitations_are_kept():
    listed = [
        invitation(status=status) for status in ("ACCEPTED", "PENDING", "REJECTED", "EXPIRED")
    ]
    assert [item.status for item in pending_only(listed)] == ["PENDING"]


# ---------------------------------------------------------------------------- client token


def test_client_token_is_a_stable_uuid_per_invitation():
    arn = invitation().arn
    token = client_token_for(arn)
    assert token == client_token_for(arn)
    assert str(uuid.UUID(token)) == token and len(token) <= 64
    assert client_token_for(invitation(OTHER_PRODUCER).arn) != token


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ResourceShareInvitationAlreadyAcceptedException", (Outcome.ALREADY_ACCEPTED, None)),
        ("ResourceShareInvitationExpiredException", (Outcome.EXPIRED, None)),
        ("ResourceShareInvitationAlreadyRejectedException", (Outcome.SKIPPED, "already_rejected")),
        # Withdrawn by the producer since it was listed: a skip, never a retry into the DLQ.
        ("ResourceShareInvitationArnNotFoundException", (Outcome.SKIPPED, "withdrawn")),
        ("AccessDeniedException", (Outcome.FAILED, None)),
        ("ThrottlingException", (Outcome.FAILED, None)),
    ],
)
def test_error_codes_map_to_outcomes(code, expected):
    assert outcome_of_error(code) == expected


def test_error_codes_that_are_not_failures_exist_in_the_ram_model():
    import botocore.session

    model = botocore.session.get_session().get_service_model("ram")
    accept_errors = {
        shape.name for shape in model.operation_model("AcceptResourceShareInvitation").error_shapes
    }
    assert {
        "ResourceShareInvitationAlreadyAcceptedException",
        "ResourceShareInvitationExpiredException",
        "ResourceShareInvitationAlreadyRejectedException",
    } <= accept_errors


# ---------------------------------------------------------------------------- trigger


@pytest.mark.parametrize(
    ("event", "trigger"),
    [
        ({"source": "aws.ram", "detail-type": "Resource Sharing State Change"}, Trigger.RAM_EVENT),
        ({"source": "aws.events", "detail-type": "Scheduled Event"}, Trigger.SCHEDULE),
        ({"source": "aws.ram", "detail-type": "AWS API Call via CloudTrail"}, Trigger.MANUAL),
        ({}, Trigger.MANUAL),
        (None, Trigger.MANUAL),
        ("not a mapping", Trigger.MANUAL),
    ],
)
def test_trigger_kind(event, trigger):
    assert trigger_of(event) is trigger


# ---------------------------------------------------------------------------- summary


def test_summary_counts_each_outcome_and_names_the_trigger():
    summary = Summary(Trigger.SCHEDULE)
    for outcome in [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.SKIPPED, Outcome.FAILED]:
        summary.count(outcome)
    assert summary.as_dict() == {
        "accepted": 2,
        "already_accepted": 0,
        "skipped": 1,
        "expired": 0,
        "failed": 1,
        "trigger": "schedule",
    }
