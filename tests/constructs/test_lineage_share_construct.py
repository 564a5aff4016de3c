"""Producer construct: the handler role's exact grants and the custom resource's properties."""

from __future__ import annotations

import json

# The stacks' regions are known, so with @aws-cdk/core:enablePartitionLiterals CDK writes the
# partition as a literal instead of a Ref to AWS::Partition.
PARTITION = "aws"


def arn(suffix: str) -> str:
    return f"arn:{PARTITION}{suffix}"


def role_statements(template: dict, role: str) -> dict[str, dict]:
    (policy,) = [
        v
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Policy" and k.startswith(f"LineageGroupShare{role}")
    ]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def handler_role_statements(template: dict) -> dict[str, dict]:
    return role_statements(template, "HandlerRole")


def test_create_share_needs_star_but_is_fenced_to_the_own_lineage_group(example_app):
    statements = handler_role_statements(example_app.templates["LineageSharing-training-us-east-1"])
    assert statements["CreateShareOfOwnLineageGroupOnly"] == {
        "Sid": "CreateShareOfOwnLineageGroupOnly",
        "Effect": "Allow",
        "Action": "ram:CreateResourceShare",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"ram:RequestedResourceType": "sagemaker:LineageGroup"},
            "ArnEquals": {
                "ram:ResourceArn": arn(
                    ":sagemaker:us-east-1:111111111111:lineage-group/sagemaker-default-lineage-group"
                )
            },
            "Bool": {"ram:RequestedAllowsExternalPrincipals": "true"},
        },
    }
    # RAM authorizes each principal of the request in a context of its own.
    assert statements["CreateShareForConfiguredConsumersOnly"] == {
        "Sid": "CreateShareForConfiguredConsumersOnly",
        "Effect": "Allow",
        "Action": "ram:CreateResourceShare",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"ram:Principal": ["222222222222", "333333333333"]},
            "Bool": {"ram:RequestedAllowsExternalPrincipals": "true"},
        },
    }


def test_share_management_is_limited_to_own_shares_with_the_configured_name(example_app):
    statements = handler_role_statements(example_app.templates["LineageSharing-staging-us-east-1"])
    own_shares = arn(":ram:us-east-1:222222222222:resource-share/*")
    assert statements["InviteOnlyConfiguredConsumers"] == {
        "Sid": "InviteOnlyConfiguredConsumers",
        "Effect": "Allow",
        "Action": "ram:AssociateResourceShare",
        "Resource": own_shares,
        "Condition": {
            "StringEquals": {
                "ram:ResourceShareName": "sm_lineage_sharing",
                "ram:Principal": ["111111111111", "333333333333"],
            }
        },
    }
    assert statements["DisassociateOnlyPrincipals"] == {
        "Sid": "DisassociateOnlyPrincipals",
        "Effect": "Allow",
        "Action": "ram:DisassociateResourceShare",
        "Resource": own_shares,
        "Condition": {
            "StringEquals": {"ram:ResourceShareName": "sm_lineage_sharing"},
            "Null": {"ram:Principal": "false"},
        },
    }
    assert statements["ManageOnlyTheConfiguredShare"] == {
        "Sid": "ManageOnlyTheConfiguredShare",
        "Effect": "Allow",
        "Action": ["ram:DeleteResourceShare", "ram:TagResource", "ram:UntagResource"],
        "Resource": own_shares,
        "Condition": {"StringEquals": {"ram:ResourceShareName": "sm_lineage_sharing"}},
    }
    assert statements["SetOnlyTheConfiguredExternalPrincipalsFlag"] == {
        "Sid": "SetOnlyTheConfiguredExternalPrincipalsFlag",
        "Effect": "Allow",
        "Action": "ram:UpdateResourceShare",
        "Resource": own_shares,
        "Condition": {
            "StringEquals": {"ram:ResourceShareName": "sm_lineage_sharing"},
            "Bool": {"ram:RequestedAllowsExternalPrincipals": "true"},
        },
    }


def test_both_roles_may_let_ram_maintain_the_lineage_group_policy(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    expected = {
        "Sid": "LetRamMaintainTheLineageGroupPolicy",
        "Effect": "Allow",
        "Action": [
            "sagemaker:CreateLineageGroupPolicy",
            "sagemaker:DeleteLineageGroupPolicy",
            "sagemaker:PutLineageGroupPolicy",
        ],
        "Resource": "*",
    }
    assert handler_role_statements(template)["LetRamMaintainTheLineageGroupPolicy"] == expected
    reconcile = role_statements(template, "ReconcileRole")
    assert reconcile["LetRamMaintainTheLineageGroupPolicy"] == expected


def test_read_only_and_bootstrap_grants(example_app):
    statements = handler_role_statements(example_app.templates["LineageSharing-training-us-east-1"])
    assert statements["ReadShareState"]["Action"] == [
        "ram:GetResourceShareAssociations",
        "ram:GetResourceShares",
    ]
    assert statements["ReadShareState"]["Resource"] == "*"
    assert statements["FindOwnLineageGroup"]["Action"] == "sagemaker:ListLineageGroups"
    assert statements["CreateBootstrapMarkerContextOnly"] == {
        "Sid": "CreateBootstrapMarkerContextOnly",
        "Effect": "Allow",
        "Action": "sagemaker:CreateContext",
        "Resource": arn(":sagemaker:us-east-1:111111111111:context/lineage-sharing-bootstrap"),
    }


def test_exactly_these_grants_and_no_wildcard_action(example_app):
    statements = handler_role_statements(example_app.templates["LineageSharing-training-us-east-1"])
    assert set(statements) == {
        "CreateShareOfOwnLineageGroupOnly",
        "CreateShareForConfiguredConsumersOnly",
        "InviteOnlyConfiguredConsumers",
        "DisassociateOnlyPrincipals",
        "ManageOnlyTheConfiguredShare",
        "SetOnlyTheConfiguredExternalPrincipalsFlag",
        "LetRamMaintainTheLineageGroupPolicy",
        "ReadShareState",
        "FindOwnLineageGroup",
        "CreateBootstrapMarkerContextOnly",
        "WriteLogsOnEvent",
        "WriteLogsIsComplete",
    }
    for statement in statements.values():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        assert all("*" not in action for action in actions)
        assert statement["Effect"] == "Allow"


def test_no_bootstrap_grant_when_bootstrapping_is_off(hub_app):
    statements = handler_role_statements(hub_app.templates["LineageSharing-team-a-eu-west-1"])
    assert "CreateBootstrapMarkerContextOnly" not in statements
    assert statements["ManageOnlyTheConfiguredShare"]["Condition"] == {
        "StringEquals": {"ram:ResourceShareName": "central_lineage"}
    }


def test_custom_resource_properties(example_app):
    example_app.assertions["LineageSharing-production-us-east-1"].has_resource_properties(
        "Custom::LineageGroupShare",
        {
            "ShareName": "sm_lineage_sharing",
            "Principals": ["111111111111", "222222222222"],
            "AllowExternalPrincipals": "true",
            "BootstrapLineageGroup": "true",
            "BootstrapContextName": "lineage-sharing-bootstrap",
            "Tags": {"project": "ml-lineage-sharing"},
        },
    )


def test_handlers_run_from_the_share_manager_asset(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    handlers = {
        v["Properties"]["Handler"]: v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Lambda::Function"
        and k.startswith("LineageGroupShare")
        and "Provider" not in k
    }
    assert set(handlers) == {
        "share_manager.handler.on_event",
        "share_manager.handler.is_complete",
        "share_manager.handler.reconcile",
    }
    for properties in handlers.values():
        assert properties["Runtime"] == "python3.14"
        assert properties["LoggingConfig"]["LogFormat"] == "JSON"


def test_provider_waits_long_enough_for_bootstrap_and_reinvites(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (machine,) = [
        v for v in template["Resources"].values() if v["Type"] == "AWS::StepFunctions::StateMachine"
    ]
    definition = "".join(
        part if isinstance(part, str) else "<ref>"
        for part in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    )
    assert '"IntervalSeconds":15' in definition
    assert '"MaxAttempts":120' in definition  # 30 minutes / 15 s


def test_reconcile_schedule_sends_the_custom_resource_request_for_the_deployed_share(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (share_id,) = [
        k for k, v in template["Resources"].items() if v["Type"] == "Custom::LineageGroupShare"
    ]
    share_properties = {
        k: v
        for k, v in template["Resources"][share_id]["Properties"].items()
        if k != "ServiceToken"
    }
    (rule,) = [
        v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Events::Rule" and k.startswith("LineageGroupShareReconcile")
    ]
    assert rule["ScheduleExpression"] == "rate(1 hour)"  # the config's sweep interval
    (target,) = rule["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2}
    # Rebuild the JSON input with the two deploy-time values made visible.
    parts = target["Input"]["Fn::Join"][1]
    rendered = "".join(
        part
        if isinstance(part, str)
        else {"AWS::StackId": "<stack id>", share_id: "<share arn>"}[part["Ref"]]
        for part in parts
    )
    assert json.loads(rendered) == {
        "RequestType": "Reconcile",
        "StackId": "<stack id>",
        "LogicalResourceId": share_id,
        "PhysicalResourceId": "<share arn>",
        "ResourceProperties": share_properties,
    }


def test_the_schedule_role_may_only_read_and_re_invite_through_the_configured_share(example_app):
    statements = role_statements(
        example_app.templates["LineageSharing-training-us-east-1"], "ReconcileRole"
    )
    own_shares = arn(":ram:us-east-1:111111111111:resource-share/*")
    assert statements["ReadShareState"]["Action"] == [
        "ram:GetResourceShareAssociations",
        "ram:GetResourceShares",
    ]
    handler = handler_role_statements(example_app.templates["LineageSharing-training-us-east-1"])
    # The same fences as the custom resource's role, for the two calls the schedule makes.
    assert statements["InviteOnlyConfiguredConsumers"] == handler["InviteOnlyConfiguredConsumers"]
    assert statements["DisassociateOnlyPrincipals"] == handler["DisassociateOnlyPrincipals"]
    assert statements["InviteOnlyConfiguredConsumers"]["Resource"] == own_shares
    assert set(statements) == {
        "ReadShareState",
        "InviteOnlyConfiguredConsumers",
        "DisassociateOnlyPrincipals",
        "LetRamMaintainTheLineageGroupPolicy",
        "WriteLogsReconcile",
    }


def test_a_failed_scheduled_run_is_not_retried_by_lambda(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (config,) = [
        v["Properties"]
        for v in template["Resources"].values()
        if v["Type"] == "AWS::Lambda::EventInvokeConfig"
    ]
    assert config["MaximumRetryAttempts"] == 0
