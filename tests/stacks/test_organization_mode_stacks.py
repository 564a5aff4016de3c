"""Organization mode: producers share with the org/OU principals (allowExternalPrincipals false),
in-organization consumers have no acceptor, and the management account gets its own stack."""

from __future__ import annotations

import pytest

from tests.organization_configs import MANAGEMENT_STACK, OU, PARTNER, RAW


def of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def share_properties(template: dict) -> dict:
    ((_, share),) = of_type(template, "Custom::LineageGroupShare").items()
    return share["Properties"]


def statements(template: dict, role_fragment: str) -> dict[str, dict]:
    found = {}
    for logical_id, policy in of_type(template, "AWS::IAM::Policy").items():
        if role_fragment in logical_id:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                found[statement.get("Sid", "")] = statement
    return found


def test_the_management_stack_comes_first_in_the_management_account(organization_app):
    names = list(organization_app.templates)
    assert names[0] == MANAGEMENT_STACK
    assert sorted(names[1:]) == [
        "LineageSharing-production-us-east-1",
        "LineageSharing-training-us-east-1",
    ]


def test_producers_share_with_the_ou_without_external_principals(organization_app):
    template = organization_app.templates["LineageSharing-training-us-east-1"]
    properties = share_properties(template)
    assert properties["Principals"] == [OU]
    assert properties["AllowExternalPrincipals"] == "false"
    granted = statements(template, "HandlerRole")
    create = granted["CreateShareForConfiguredConsumersOnly"]
    assert create["Condition"] == {
        "StringEquals": {"ram:Principal": [OU]},
        "Bool": {"ram:RequestedAllowsExternalPrincipals": "false"},
    }
    assert granted["CreateShareOfOwnLineageGroupOnly"]["Condition"]["Bool"] == {
        "ram:RequestedAllowsExternalPrincipals": "false"
    }
    assert granted["InviteOnlyConfiguredConsumers"]["Condition"]["StringEquals"][
        "ram:Principal"
    ] == [OU]


def test_consumers_in_the_organization_have_no_acceptor(organization_app):
    for name, template in organization_app.templates.items():
        handlers = [
            f["Properties"].get("Handler")
            for f in of_type(template, "AWS::Lambda::Function").values()
        ]
        assert "invitation_acceptor.handler.handle" not in handlers, name


def test_an_outside_account_is_invited_and_accepts_only_what_invites_it(mixed_app):
    training = mixed_app.templates["LineageSharing-training-us-east-1"]
    assert share_properties(training)["Principals"] == [OU, PARTNER]
    assert share_properties(training)["AllowExternalPrincipals"] == "true"
    partner = mixed_app.templates["LineageSharing-partner-us-east-1"]
    assert share_properties(partner)["Principals"] == ["222222222222", "333333333333"]
    parameters = {
        p["Properties"]["Value"] for p in of_type(training, "AWS::SSM::Parameter").values()
    }
    assert parameters == {PARTNER}  # training's acceptor accepts the partner's invitation only


def test_the_management_stack_enables_ram_sharing_with_least_privilege(organization_app):
    template = organization_app.templates[MANAGEMENT_STACK]
    ((_, resource),) = of_type(template, "Custom::RamSharingWithOrganization").items()
    assert resource["Properties"]["OrganizationArn"] == RAW["sharing"]["organization_arn"]
    granted = statements(template, "HandlerRole")
    assert {sid: s["Action"] for sid, s in granted.items() if not sid.startswith("WriteLogs")} == {
        "EnableRamSharingWithOrganization": "ram:EnableSharingWithAwsOrganization",
        "CreateOnlyRamsServiceLinkedRole": "iam:CreateServiceLinkedRole",
        "EnableTrustedAccessForRamOnly": "organizations:EnableAWSServiceAccess",
        "ReadTheOrganization": "organizations:DescribeOrganization",
    }
    assert granted["CreateOnlyRamsServiceLinkedRole"]["Resource"] == (
        "arn:aws:iam::111111111111:role/aws-service-role/ram.amazonaws.com/"
        "AWSServiceRoleForResourceAccessManager"
    )
    assert granted["CreateOnlyRamsServiceLinkedRole"]["Condition"] == {
        "StringEquals": {"iam:AWSServiceName": "ram.amazonaws.com"}
    }
    assert granted["EnableTrustedAccessForRamOnly"]["Condition"] == {
        "StringEquals": {"organizations:ServicePrincipal": "ram.amazonaws.com"}
    }
    environment = organization_app.outdir / "manifest.json"
    assert '"aws://111111111111/us-east-1"' in environment.read_text()


# ---------------------------------------------------------------------------- review gates
ORGANIZATION_SNAPSHOTS = [MANAGEMENT_STACK, "LineageSharing-training-us-east-1"]


@pytest.fixture
def snapshot_json(snapshot):
    from syrupy.extensions.json import JSONSnapshotExtension

    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack_name", ORGANIZATION_SNAPSHOTS)
def test_organization_mode_stack_snapshot(organization_app, snapshot_json, stack_name):
    from tests.stacks.test_template_snapshots import masked

    assert masked(organization_app.templates[stack_name]) == snapshot_json


def test_cdk_nag_and_cfn_lint_are_clean_in_organization_mode(mixed_app, organization_app):
    from cfnlint.api import ManualArgs, lint_file

    from tests.test_quality_gates import CFN_LINT_IGNORED

    for synthesized in (mixed_app, organization_app):
        report = (synthesized.outdir / "validation-report.json").read_text()
        assert '"pluginReports": []' in report
    for stack_name in organization_app.templates:  # the partner's stacks are like any invitee's
        matches = lint_file(
            organization_app.template_path(stack_name),
            config=ManualArgs(regions=["us-east-1"], ignore_checks=CFN_LINT_IGNORED),
        )
        assert [str(m) for m in matches] == [], stack_name
