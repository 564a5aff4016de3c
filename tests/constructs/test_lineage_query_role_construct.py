"""The consumer's query role: assumable by the configured principals only, reading exactly the
producers' lineage entities, association writes only when enabled."""

from __future__ import annotations

from lineage_constructs.lineage_query_role import DESCRIBE_ACTIONS, LINEAGE_RESOURCE_TYPES

TRAINING, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
GOVERNANCE, TEAM_A, TEAM_B = "444444444444", "555555555555", "666666666666"


def query_role(template: dict) -> tuple[dict, list[dict]]:
    (role_id, role), *more = [
        (k, v)
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Role" and k.startswith("LineageQueryRole")
    ]
    assert not more
    (policy,) = [
        v
        for v in template["Resources"].values()
        if v["Type"] == "AWS::IAM::Policy" and v["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    return role, policy["Properties"]["PolicyDocument"]["Statement"]


def entity_arns(region: str, accounts, types=LINEAGE_RESOURCE_TYPES) -> list[str]:
    return sorted(
        f"arn:aws:sagemaker:{region}:{account}:{resource_type}/*"
        for account in accounts
        for resource_type in types
    )


def test_only_the_accounts_that_opt_in_get_one(example_app):
    for name, template in example_app.templates.items():
        has_role = any(k.startswith("LineageQueryRole") for k in template["Resources"])
        assert has_role == ("staging" in name)


def test_the_configured_principals_may_assume_it(example_app, hub_app):
    role, _ = query_role(example_app.templates["LineageSharing-staging-us-east-1"])
    assert role["Properties"]["RoleName"] == "LineageSharingQuery-us-east-1"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{STAGING}:root"},
        }
    ]
    role, _ = query_role(hub_app.templates["LineageSharing-governance-eu-west-1"])
    [trust] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{GOVERNANCE}:role/LineageAuditors"}


def test_it_describes_the_producers_entities_and_queries_lineage_nothing_more(example_app):
    _, statements = query_role(example_app.templates["LineageSharing-staging-us-east-1"])
    by_sid = {statement["Sid"]: statement for statement in statements}
    for action, resource_type in DESCRIBE_ACTIONS:
        [statement] = [s for s in statements if s["Action"] == action]
        assert sorted(statement["Resource"]) == entity_arns(
            "us-east-1", [TRAINING, PRODUCTION], [resource_type]
        )
    assert by_sid["QueryLineage"] == {
        "Sid": "QueryLineage",
        "Effect": "Allow",
        "Action": "sagemaker:QueryLineage",
        "Resource": "*",
    }
    assert len(statements) == 5  # no association writes: not enabled for staging


def test_association_writes_cover_this_accounts_and_the_producers_entities(hub_app):
    _, statements = query_role(hub_app.templates["LineageSharing-governance-eu-west-1"])
    [writes] = [s for s in statements if s["Sid"] == "AssociateThisAccountsAndProducersLineage"]
    assert writes["Action"] == ["sagemaker:AddAssociation", "sagemaker:DeleteAssociation"]
    assert sorted(writes["Resource"]) == entity_arns("eu-west-1", [GOVERNANCE, TEAM_A, TEAM_B])


def test_its_arn_is_a_stack_output(example_app):
    template = example_app.templates["LineageSharing-staging-us-east-1"]
    (role_id,) = [
        k
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Role" and k.startswith("LineageQueryRole")
    ]
    assert template["Outputs"]["QueryRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}
