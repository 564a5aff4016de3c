"""`sharing:`: organization/OU mode, validated formats, and how plans share in it."""

from __future__ import annotations

import copy

import pytest

from config.model import ConfigError, parse_config, plan_stacks

ORG = "arn:aws:organizations::111111111111:organization/o-abc123defg"
OU = "arn:aws:organizations::111111111111:ou/o-abc123defg/ou-ab12-cdef3456"
OU_2 = "arn:aws:organizations::111111111111:ou/o-abc123defg/ou-ab12-99999999"

ORGANIZATION = {
    "sharing": {
        "mode": "organization",
        "organization_arn": ORG,
        "ou_arns": [OU],
        "management_account_region": "us-east-1",
    },
    "accounts": [
        {"id": "222222222222", "name": "training", "region": "us-east-1"},
        {"id": "333333333333", "name": "production", "region": "us-east-1"},
        {"id": "444444444444", "name": "staging", "region": "us-east-1"},
    ],
    "topology": {"type": "mesh"},
}
PARTNER = {"id": "999999999999", "name": "partner", "region": "us-east-1"}


def organization(**changes) -> dict:
    raw = copy.deepcopy(ORGANIZATION)
    for key, value in changes.items():
        if key == "sharing":
            raw["sharing"] = {**raw["sharing"], **value}
        else:
            raw[key] = value
    return raw


def plans_by_name(raw: dict):
    return {plan.account.name: plan for plan in plan_stacks(parse_config(raw))}


def test_without_the_section_sharing_is_by_invitation_as_before():
    raw = {k: v for k, v in ORGANIZATION.items() if k != "sharing"}
    config = parse_config(raw)
    assert config.sharing.mode == "invitations"
    assert config.sharing.management_stack_name is None
    for plan in plan_stacks(config):
        assert plan.share_principals == plan.consumers
        assert plan.allow_external_principals is True
        assert plan.inviting_producers == plan.producers


def test_a_mesh_in_organization_mode_shares_with_the_ous_and_invites_nobody():
    plans = plans_by_name(ORGANIZATION)
    for plan in plans.values():
        assert plan.share_principals == (OU,)
        assert plan.allow_external_principals is False
        assert plan.inviting_producers == ()
        assert plan.receives and not plan.accepts_invitations


def test_without_ou_arns_the_whole_organization_is_the_principal():
    raw = organization(sharing={"ou_arns": []})
    assert {plan.share_principals for plan in plans_by_name(raw).values()} == {(ORG,)}


def test_an_account_outside_the_organization_is_invited_and_invites():
    raw = organization(
        accounts=[*ORGANIZATION["accounts"], {**PARTNER, "outside_organization": True}]
    )
    plans = plans_by_name(raw)
    training = plans["training"]
    assert training.share_principals == (OU, "999999999999")
    # RAM refuses an outside account on a share that does not allow external principals.
    assert training.allow_external_principals is True
    assert training.inviting_producers == ("999999999999",)
    partner = plans["partner"]
    assert partner.share_principals == ("222222222222", "333333333333", "444444444444")
    assert partner.allow_external_principals is True
    assert partner.inviting_producers == ("222222222222", "333333333333", "444444444444")


def test_other_topologies_share_with_account_ids_which_need_no_invitation_in_the_org():
    raw = organization(topology={"type": "hub-and-spoke", "hub": "training"})
    plans = plans_by_name(raw)
    assert plans["training"].share_principals == ("333333333333", "444444444444")
    assert plans["production"].share_principals == ("222222222222",)
    assert all(
        not p.allow_external_principals and not p.accepts_invitations for p in plans.values()
    )


def test_the_management_stack_is_named_after_the_organization():
    sharing = parse_config(ORGANIZATION).sharing
    assert sharing.management_account == "111111111111"
    assert sharing.management_stack_name == "LineageSharingOrganization-o-abc123defg"
    assert sharing.principals == (OU,)


INVALID = {
    "organization ARN malformed": (
        organization(sharing={"organization_arn": "arn:aws:organizations::111111111111:o-abc"}),
        [
            "sharing.organization_arn",
            "'arn:aws:organizations::111111111111:o-abc'",
            "not an organization ARN",
        ],
    ),
    "an OU ARN as the organization": (
        organization(sharing={"organization_arn": OU}),
        ["sharing.organization_arn", "that is an OU's ARN"],
    ),
    "OU ARN malformed": (
        organization(sharing={"ou_arns": ["ou-ab12-cdef3456"]}),
        ["sharing.ou_arns[0]", "'ou-ab12-cdef3456'", "not an OU ARN"],
    ),
    "OU of another organization": (
        organization(
            sharing={
                "ou_arns": ["arn:aws:organizations::111111111111:ou/o-zzzzzzzzzz/ou-ab12-cdef3456"]
            }
        ),
        ["ou_arns[0]", "organization id 'o-zzzzzzzzzz'", "'o-abc123defg'"],
    ),
    "OU of another management account": (
        organization(
            sharing={
                "ou_arns": ["arn:aws:organizations::555555555555:ou/o-abc123defg/ou-ab12-cdef3456"]
            }
        ),
        ["ou_arns[0]", "management account '555555555555'"],
    ),
    "OU listed twice": (organization(sharing={"ou_arns": [OU, OU_2, OU]}), ["ou_arns[2]", "twice"]),
    "organization mode without the organization": (
        organization(sharing={"organization_arn": None}),
        ["sharing", "organization_arn is required"],
    ),
    "organization mode without the management region": (
        organization(sharing={"management_account_region": None}),
        ["sharing", "management_account_region is required"],
    ),
    "unknown management region": (
        organization(sharing={"management_account_region": "us-east-9"}),
        ["sharing.management_account_region", "'us-east-9'"],
    ),
    "unknown mode": (
        organization(sharing={"mode": "org"}),
        ["sharing.mode", "'org'", "invitations", "organization"],
    ),
    "organization fields in invitations mode": (
        organization(sharing={"mode": "invitations"}),
        ["sharing", "organization_arn applies only with mode organization"],
    ),
    "outside_organization in invitations mode": (
        {
            "accounts": [*ORGANIZATION["accounts"], {**PARTNER, "outside_organization": True}],
            "topology": {"type": "mesh"},
        },
        ["accounts[3].outside_organization", "applies only with"],
    ),
    "organization in another partition": (
        organization(
            sharing={
                "organization_arn": "arn:aws-cn:organizations::111111111111:organization/o-abc123defg",
                "ou_arns": [],
            }
        ),
        ["sharing.organization_arn", "partition 'aws-cn'"],
    ),
    "the management account outside its organization": (
        organization(
            accounts=[
                *ORGANIZATION["accounts"],
                {
                    "id": "111111111111",
                    "name": "mgmt",
                    "region": "us-east-1",
                    "outside_organization": True,
                },
            ]
        ),
        ["accounts[3]", "management account", "cannot be outside_organization"],
    ),
    "unknown key in the section": (
        organization(sharing={"ou": [OU]}),
        ["sharing.ou", "unknown key", "ou_arns"],
    ),
}


@pytest.mark.parametrize("raw, expected", INVALID.values(), ids=INVALID.keys())
def test_invalid_sharing_sections_name_the_field_and_value(raw, expected):
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    for fragment in expected:
        assert fragment in str(error.value)
