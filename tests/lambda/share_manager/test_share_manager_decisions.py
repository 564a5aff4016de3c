"""The share manager's pure decisions, tested with plain data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from share_manager.decisions import (
    MIN_TIME_BETWEEN_REINVITES,
    RECONCILE_METRICS,
    STACK_ID_TAG,
    Caller,
    ExternalPrincipalsChange,
    LineageGroup,
    PrincipalAssociation,
    PrincipalPlan,
    ResourceAssociation,
    ResourceShare,
    ShareReadiness,
    caller_from_function_arn,
    client_token,
    initial_principals,
    is_share_arn,
    lineage_group_association,
    lineage_group_not_shared_message,
    lineage_group_readiness,
    owner_tags,
    parse_share_properties,
    plan_external_principals_change,
    plan_principal_changes,
    plan_tag_changes,
    principals_digest,
    select_own_lineage_group,
    share_readiness,
    shares_to_adopt,
    tags_for_share,
    within_invitation_quota,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CALLER = Caller(partition="aws", region="us-east-1", account="111111111111")
OWN_DEFAULT = LineageGroup(
    arn="arn:aws:sagemaker:us-east-1:111111111111:lineage-group/sagemaker-default-lineage-group",
    name="sagemaker-default-lineage-group",
)
FOREIGN_DEFAULT = LineageGroup(
    arn="arn:aws:sagemaker:us-east-1:222222222222:lineage-group/sagemaker-default-lineage-group",
    name="sagemaker-default-lineage-group",
)


def association(principal: str, status: str, age: timedelta = timedelta(minutes=5), message=""):
    return PrincipalAssociation(principal, status, last_updated=NOW - age, status_message=message)


# ---------------------------------------------------------------------------- request


def test_caller_comes_from_the_function_arn_including_partition():
    arn = "arn:aws-cn:lambda:cn-north-1:123456789012:function:share-manager"
    assert caller_from_function_arn(arn) == Caller("aws-cn", "cn-north-1", "123456789012")


def test_a_qualified_function_arn_is_accepted_and_garbage_is_not():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:share-manager:live"
    assert caller_from_function_arn(arn).account == "123456789012"
    with pytest.raises(ValueError, match="not a Lambda function ARN"):
        caller_from_function_arn("share-manager")


def test_properties_arrive_as_cloudformation_strings_and_are_typed():
    properties = parse_share_properties(
        {
            "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:framework",
            "ShareName": "sm_lineage_sharing",
            "Principals": ["222222222222", "333333333333", "222222222222"],
            "AllowExternalPrincipals": "true",
            "BootstrapLineageGroup": "false",
            "BootstrapContextName": "lineage-sharing-bootstrap",
            "Tags": {"team": "ml"},
        }
    )
    assert properties.share_name == "sm_lineage_sharing"
    assert properties.principals == ("222222222222", "333333333333")  # duplicates dropped
    assert properties.allow_external_principals is True
    assert properties.bootstrap_lineage_group is False
    assert properties.tags == {"team": "ml"}


def test_absent_tags_mean_no_tags():
    properties = parse_share_properties(
        {
            "ShareName": "s",
            "Principals": ["222222222222"],
            "AllowExternalPrincipals": "false",
            "BootstrapLineageGroup": "false",
        }
    )
    assert properties.tags == {}
    assert properties.allow_external_principals is False


@pytest.mark.parametrize(
    "override, field",
    [
        ({"AllowExternalPrincipals": "yes"}, "AllowExternalPrincipals"),
        ({"Principals": []}, "Principals"),
        # A template read back by the schedule could hold an intrinsic function.
        ({"Principals": [{"Ref": "Consumers"}]}, "Principals"),
        ({"ShareName": ""}, "ShareName"),
        ({"BootstrapLineageGroup": "true", "BootstrapContextName": ""}, "BootstrapContextName"),
    ],
)
def test_invalid_properties_are_refused_naming_the_field(override, field):
    properties = {
        "ShareName": "s",
        "Principals": ["222222222222"],
        "AllowExternalPrincipals": "true",
        "BootstrapLineageGroup": "false",
        **override,
    }
    with pytest.raises(ValueError, match=f"ResourceProperties.{field}"):
        parse_share_properties(properties)


def test_client_token_is_a_uuid_that_depends_only_on_the_request():
    token = client_token("stack", "Share", "request-1", "create")
    assert uuid.UUID(token).version == 5
    assert token == client_token("stack", "Share", "request-1", "create")
    assert token != client_token("stack", "Share", "request-2", "create")
    assert token != client_token("stack", "Share", "request-1", "delete")


@pytest.mark.parametrize(
    "physical_id, expected",
    [
        ("arn:aws:ram:us-east-1:111111111111:resource-share/7ab63972-b505-7e2a-420d", True),
        ("arn:aws-us-gov:ram:us-gov-west-1:111111111111:resource-share/abc", True),
        ("arn:aws:ram:us-east-1:111111111111:resource-share/", False),
        ("2f1c1d5e-4a7d-4c9f-9a4f-1d1f2e3a4b5c", False),  # a RequestId
        ("arn:aws:sagemaker:us-east-1:111111111111:lineage-group/x", False),
        (None, False),
    ],
)
def test_is_share_arn(physical_id, expected):
    assert is_share_arn(physical_id) is expected


# ---------------------------------------------------------------------------- lineage group


def test_own_group_is_chosen_even_when_a_foreign_group_is_listed_first():
    assert select_own_lineage_group([FOREIGN_DEFAULT, OWN_DEFAULT], CALLER) == OWN_DEFAULT


def test_only_foreign_groups_means_no_own_group():
    assert select_own_lineage_group([FOREIGN_DEFAULT], CALLER) is None
    assert select_own_lineage_group([], CALLER) is None


def test_own_group_in_another_region_does_not_count():
    other_region = LineageGroup(OWN_DEFAULT.arn.replace("us-east-1", "eu-west-1"), OWN_DEFAULT.name)
    assert select_own_lineage_group([other_region], CALLER) is None


def test_the_default_group_wins_over_another_own_group():
    other_own = LineageGroup(
        "arn:aws:sagemaker:us-east-1:111111111111:lineage-group/legacy", "legacy"
    )
    assert select_own_lineage_group([other_own, OWN_DEFAULT], CALLER) == OWN_DEFAULT
    assert select_own_lineage_group([other_own], CALLER) == other_own


# ---------------------------------------------------------------------------- share status


@pytest.mark.parametrize(
    "status, readiness",
    [
        ("ACTIVE", ShareReadiness.READY),
        ("PENDING", ShareReadiness.WAIT),
        ("FAILED", ShareReadiness.UNUSABLE),
        ("DELETING", ShareReadiness.UNUSABLE),
        ("DELETED", ShareReadiness.UNUSABLE),
    ],
)
def test_share_readiness(status, readiness):
    assert share_readiness(status) is readiness


# ---------------------------------------------------------------------------- principals


def test_converged_when_every_principal_is_associated_or_invited_recently():
    plan = plan_principal_changes(
        ["222222222222", "333333333333"],
        [association("222222222222", "ASSOCIATED"), association("333333333333", "ASSOCIATING")],
        NOW,
    )
    assert plan.converged


def test_missing_and_disassociated_principals_are_associated():
    plan = plan_principal_changes(
        ["222222222222", "333333333333"],
        [association("333333333333", "DISASSOCIATED")],
        NOW,
    )
    assert plan.associate == ("222222222222", "333333333333")
    assert not plan.disassociate_now


@pytest.mark.parametrize("status", ["ASSOCIATED", "ASSOCIATING", "SUSPENDED"])
def test_principals_no_longer_configured_are_disassociated(status):
    plan = plan_principal_changes(
        ["222222222222"],
        [association("222222222222", "ASSOCIATED"), association("444444444444", status)],
        NOW,
    )
    assert plan.disassociate == ("444444444444",)
    assert plan.disassociate_now == ("444444444444",)
    assert not plan.associate and not plan.reinvite


@pytest.mark.parametrize("status", ["DISASSOCIATED", "FAILED"])
def test_unconfigured_principals_without_access_are_left_alone(status):
    plan = plan_principal_changes(
        ["222222222222"],
        [association("222222222222", "ASSOCIATED"), association("444444444444", status)],
        NOW,
    )
    assert plan.converged


def test_invitation_older_than_twelve_hours_is_reinvited():
    plan = plan_principal_changes(
        ["222222222222"], [association("222222222222", "ASSOCIATING", timedelta(hours=13))], NOW
    )
    assert [principal for principal, _ in plan.reinvite] == ["222222222222"]
    assert "invitation expired" in plan.reinvite[0][1]
    assert plan.disassociate_now == ("222222222222",)
    assert not plan.associate  # associated again only once RAM reports DISASSOCIATED


def test_invitation_just_under_twelve_hours_is_still_waited_for():
    age = timedelta(hours=12) - timedelta(seconds=1)
    plan = plan_principal_changes(
        ["222222222222"], [association("222222222222", "ASSOCIATING", age)], NOW
    )
    assert plan.converged


def test_associating_without_timestamp_is_not_taken_for_expired():
    plan = plan_principal_changes(
        ["222222222222"], [PrincipalAssociation("222222222222", "ASSOCIATING")], NOW
    )
    assert plan.converged


@pytest.mark.parametrize("status", ["FAILED", "SUSPENDED"])
def test_failed_or_suspended_configured_principal_is_associated_again_directly(status):
    plan = plan_principal_changes(
        ["222222222222"],
        [association("222222222222", status, age=timedelta(hours=9), message="Not allowed")],
        NOW,
    )
    assert plan.reassociate == (("222222222222", f"association {status}: Not allowed"),)
    assert plan.reassociate_now == ("222222222222",)
    assert plan.disassociate_now == ()  # no disassociation first
    assert plan.acts_or_waits


def test_reinvites_of_one_principal_are_capped_at_one_per_8_hours():
    assert timedelta(hours=8) == MIN_TIME_BETWEEN_REINVITES  # at most 3 a day
    recent = [association("222222222222", "FAILED", age=timedelta(hours=7, minutes=59))]
    plan = plan_principal_changes(["222222222222"], recent, NOW)

    assert plan.reassociate == ()
    [(principal, reason)] = plan.deferred
    assert principal == "222222222222" and "next after" in reason
    # Deferred is not a reason to keep a deployment waiting: the schedule tries again.
    assert not plan.acts_or_waits and not plan.converged

    due = [association("222222222222", "FAILED", age=timedelta(hours=8))]
    assert plan_principal_changes(["222222222222"], due, NOW).reassociate_now == ("222222222222",)


def test_a_principal_ram_disassociated_is_invited_like_a_new_one():
    # FACTS: RAM disassociates a principal whose invitation expired.
    plan = plan_principal_changes(
        ["222222222222"], [association("222222222222", "DISASSOCIATED")], NOW
    )
    assert plan.associate == ("222222222222",)


def test_reassociations_go_first_under_the_invitation_quota():
    desired = ["222222222222", "333333333333"]
    failed = [association("333333333333", "FAILED", age=timedelta(hours=9))]
    plan = within_invitation_quota(
        plan_principal_changes(desired, failed, NOW), failed, NOW, quota=1
    )
    assert plan.reassociate_now == ("333333333333",)
    assert (plan.associate, plan.held_back) == ((), ("222222222222",))


@pytest.mark.parametrize("status", ["DISASSOCIATING", "SUSPENDING", "RESTORING"])
def test_transitional_states_are_waited_for(status):
    for desired in (["222222222222"], []):
        plan = plan_principal_changes(desired, [association("222222222222", status)], NOW)
        assert plan.waiting == (("222222222222", status),)
        assert not plan.converged
        assert not plan.associate and not plan.disassociate_now


def test_the_newest_record_of_a_principal_decides():
    plan = plan_principal_changes(
        ["222222222222"],
        [
            association("222222222222", "ASSOCIATING", timedelta(minutes=1)),
            association("222222222222", "DISASSOCIATED", timedelta(days=2)),
        ],
        NOW,
    )
    assert plan.converged


def test_organization_principals_are_compared_as_arns():
    org = "arn:aws:organizations::111111111111:organization/o-exampleorgid"
    plan = plan_principal_changes([org], [association(org, "ASSOCIATED")], NOW)
    assert plan.converged


# ---------------------------------------------------------------------------- resource association


def test_the_own_lineage_groups_association_is_picked_and_the_best_record_wins():
    own = OWN_DEFAULT.arn
    associations = [
        ResourceAssociation(FOREIGN_DEFAULT.arn, "ASSOCIATED"),
        ResourceAssociation(own, "DISASSOCIATED"),
        ResourceAssociation(own, "ASSOCIATED"),
    ]
    assert lineage_group_association(associations, CALLER) == ResourceAssociation(own, "ASSOCIATED")
    assert lineage_group_association(associations[:1], CALLER) is None


@pytest.mark.parametrize(
    ("status", "readiness"),
    [
        ("ASSOCIATED", ShareReadiness.READY),
        ("ASSOCIATING", ShareReadiness.WAIT),
        ("FAILED", ShareReadiness.UNUSABLE),
        ("DISASSOCIATED", ShareReadiness.UNUSABLE),
    ],
)
def test_only_an_associated_lineage_group_is_shared(status, readiness):
    association = ResourceAssociation(OWN_DEFAULT.arn, status, "RAM said why")
    assert lineage_group_readiness(association) is readiness
    assert lineage_group_readiness(None) is ShareReadiness.UNUSABLE


def test_the_failure_message_is_rams_status_message():
    association = ResourceAssociation(OWN_DEFAULT.arn, "FAILED", "Could not attach the policy.")
    message = lineage_group_not_shared_message("arn:share", None, association)
    assert message == (
        f"RAM could not share the lineage group {OWN_DEFAULT.arn} through resource share "
        "arn:share: its resource association is FAILED: Could not attach the policy."
    )
    assert "does not hold the lineage group" in lineage_group_not_shared_message(
        "arn:share", OWN_DEFAULT.arn, None
    )


# ---------------------------------------------------------------------------- owner tags


def test_only_live_shares_of_this_resource_other_than_the_replaced_one_are_adopted():
    owner = owner_tags("arn:stack", "Share")
    mine = {**owner, "team": "x"}
    shares = [
        ResourceShare("arn:b", "lineage", "ACTIVE", tags=mine),
        ResourceShare("arn:a", "lineage", "PENDING", tags=mine),
        ResourceShare("arn:c", "lineage", "FAILED", tags=mine),
        ResourceShare("arn:d", "lineage", "ACTIVE", tags={**owner, STACK_ID_TAG: "arn:other"}),
        ResourceShare("arn:e", "lineage", "ACTIVE", tags=mine),
    ]
    assert [s.arn for s in shares_to_adopt(shares, owner, replacing="arn:e")] == ["arn:a", "arn:b"]


def test_a_share_is_tagged_with_what_it_belongs_to_and_its_principal_set():
    properties = parse_share_properties(
        {
            "ShareName": "lineage",
            "Principals": ["222222222222"],
            "AllowExternalPrincipals": "true",
            "BootstrapLineageGroup": "false",
            "Tags": {"team": "x"},
        }
    )
    tags = tags_for_share(properties, owner_tags("arn:stack", "Share"))
    assert tags == {
        "team": "x",
        "lineage-sharing:principals-sha256": principals_digest(["222222222222"]),
        "lineage-sharing:stack-id": "arn:stack",
        "lineage-sharing:logical-id": "Share",
    }


# ---------------------------------------------------------------------------- flags and tags


def test_external_principals_are_allowed_first_and_forbidden_last():
    assert plan_external_principals_change(True, True) is ExternalPrincipalsChange.NONE
    assert plan_external_principals_change(True, False) is ExternalPrincipalsChange.ENABLE_FIRST
    assert plan_external_principals_change(False, True) is ExternalPrincipalsChange.DISABLE_LAST


def test_tag_plan_sets_changed_and_new_tags_and_removes_only_previously_declared_ones():
    plan = plan_tag_changes(
        desired={"team": "b", "owner": "c"},
        previously_declared={"team": "a", "cost-center": "x"},
        current={"team": "a", "cost-center": "x", "added-by-someone-else": "y"},
    )
    assert plan.set_tags == {"owner": "c", "team": "b"}
    assert plan.remove_keys == ("cost-center",)


def test_unchanged_tags_plan_nothing():
    tags = {"team": "a"}
    assert plan_tag_changes(tags, tags, tags).empty


# ---------------------------------------------------------------------------- invitation quota


def test_share_is_created_with_at_most_the_quota_of_principals():
    principals = [f"{n:012d}" for n in range(1, 26)]
    now, later = initial_principals(principals, quota=20)
    assert now == tuple(principals[:20])
    assert later == tuple(principals[20:])


def test_new_invitations_fill_only_the_room_left_by_pending_ones():
    desired = [f"{n:012d}" for n in range(1, 8)]
    associations = [
        association(desired[0], "ASSOCIATING"),
        association(desired[1], "ASSOCIATING"),
        association(desired[2], "ASSOCIATED"),
        # Expired: it no longer counts as pending (and is re-invited, not held back).
        association(desired[3], "ASSOCIATING", age=timedelta(hours=13)),
    ]
    plan = within_invitation_quota(
        plan_principal_changes(desired, associations, NOW), associations, NOW, quota=3
    )
    assert plan.associate == (desired[4],)
    assert plan.held_back == (desired[5], desired[6])
    assert [principal for principal, _ in plan.reinvite] == [desired[3]]
    assert not plan.converged


def test_a_full_quota_holds_every_new_principal_back_until_invitations_are_accepted():
    desired = ["222222222222", "333333333333"]
    pending = [association("222222222222", "ASSOCIATING")]
    full = within_invitation_quota(plan_principal_changes(desired, pending, NOW), pending, NOW, 1)
    assert (full.associate, full.held_back) == ((), ("333333333333",))

    accepted = [association("222222222222", "ASSOCIATED")]
    freed = within_invitation_quota(
        plan_principal_changes(desired, accepted, NOW), accepted, NOW, 1
    )
    assert (freed.associate, freed.held_back) == (("333333333333",), ())


def test_a_plan_counts_each_kind_of_change_for_cloudwatch():
    plan = PrincipalPlan(
        associate=("A",),
        disassociate=("R",),
        reinvite=(("E1", "expired"), ("E2", "expired")),
        reassociate=(("F", "FAILED"),),
        deferred=(("D", "too recently"),),
        held_back=("H1", "H2", "H3"),
    )
    assert plan.metrics() == {
        "ConsumersInvited": 1,
        "ExpiredInvitationsResent": 2,
        "AssociationsFailed": 1,
        "ConsumersRemoved": 1,
        "ConsumersHeldBack": 3,
        "ReinvitesDeferred": 1,
        "ShareInSync": 0,
    }
    assert PrincipalPlan().metrics()["ShareInSync"] == 1
    assert tuple(plan.metrics()) == RECONCILE_METRICS
