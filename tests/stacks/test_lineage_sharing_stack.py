"""Stack composition from config: names, environments, which parts, outputs."""

from __future__ import annotations


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_one_stack_per_account_with_readable_names(example_app):
    assert sorted(example_app.templates) == [
        "LineageSharing-production-us-east-1",
        "LineageSharing-staging-us-east-1",
        "LineageSharing-training-us-east-1",
    ]


def test_stack_environment_comes_from_config(example_app):
    manifest_env = {
        name: (example_app.outdir / f"{name}.template.json").exists()
        for name in example_app.templates
    }
    assert all(manifest_env.values())
    import json

    manifest = json.loads((example_app.outdir / "manifest.json").read_text())
    environments = {
        name: artifact["environment"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert environments == {
        "LineageSharing-training-us-east-1": "aws://111111111111/us-east-1",
        "LineageSharing-staging-us-east-1": "aws://222222222222/us-east-1",
        "LineageSharing-production-us-east-1": "aws://333333333333/us-east-1",
    }


def test_mesh_stack_holds_both_parts_and_all_outputs(example_app):
    for name, template in example_app.templates.items():
        assert len(resources_of_type(template, "Custom::LineageGroupShare")) == 1
        # The acceptor's event rule and sweep, the share's reconcile schedule and event rule.
        assert len(resources_of_type(template, "AWS::Events::Rule")) == 4
        # Only staging opts in to a query role (config/example.yaml).
        query_role = {"QueryRoleArn"} if "staging" in name else set()
        assert set(template["Outputs"]) == {
            "LineageGroupArn",
            "ResourceShareArn",
            "AcceptorFunctionArn",
            "AcceptorRoleArn",
            "AlarmTopicArn",
            *query_role,
        }


def test_outputs_point_at_the_share_and_the_acceptor(example_app):
    template = example_app.templates["LineageSharing-staging-us-east-1"]
    (share_id,) = resources_of_type(template, "Custom::LineageGroupShare")
    (role_id,) = [
        k
        for k in resources_of_type(template, "AWS::IAM::Role")
        if k.startswith("InvitationAcceptorRole")
    ]
    (function_id,) = [
        k
        for k in resources_of_type(template, "AWS::Lambda::Function")
        if k.startswith("InvitationAcceptorFunction")
    ]
    outputs = template["Outputs"]
    assert outputs["LineageGroupArn"]["Value"] == {"Fn::GetAtt": [share_id, "LineageGroupArn"]}
    assert outputs["ResourceShareArn"]["Value"] == {"Fn::GetAtt": [share_id, "ResourceShareArn"]}
    assert outputs["AcceptorFunctionArn"]["Value"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert outputs["AcceptorRoleArn"]["Value"] == {"Fn::GetAtt": [role_id, "Arn"]}


def test_hub_only_consumes_and_spokes_only_produce(hub_app):
    names = sorted(hub_app.templates)
    # team-a's us-west-2 region has no partner, so it gets no stack.
    assert names == [
        "LineageSharing-governance-eu-west-1",
        "LineageSharing-team-a-eu-west-1",
        "LineageSharing-team-b-eu-west-1",
    ]
    hub = hub_app.templates["LineageSharing-governance-eu-west-1"]
    assert not resources_of_type(hub, "Custom::LineageGroupShare")
    assert set(hub["Outputs"]) == {
        "AcceptorFunctionArn",
        "AcceptorRoleArn",
        "AlarmTopicArn",
        "QueryRoleArn",
    }
    for spoke in ("LineageSharing-team-a-eu-west-1", "LineageSharing-team-b-eu-west-1"):
        template = hub_app.templates[spoke]
        # Only the share's reconcile schedule and RAM event rule: no acceptor, no sweep.
        (rule, on_event) = resources_of_type(template, "AWS::Events::Rule").values()
        assert rule["Properties"]["ScheduleExpression"] == "rate(30 minutes)"
        assert on_event["Properties"]["Targets"] == rule["Properties"]["Targets"]
        assert set(template["Outputs"]) == {"LineageGroupArn", "ResourceShareArn", "AlarmTopicArn"}
        (share,) = resources_of_type(template, "Custom::LineageGroupShare").values()
        assert share["Properties"]["Principals"] == ["444444444444"]
        assert share["Properties"]["ShareName"] == "central_lineage"


def test_config_tags_reach_taggable_resources(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    for role in resources_of_type(template, "AWS::IAM::Role").values():
        assert {"Key": "project", "Value": "ml-lineage-sharing"} in role["Properties"]["Tags"]
