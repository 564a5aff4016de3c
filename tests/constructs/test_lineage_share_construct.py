"""Producer construct: the handler role's exact grants and the custom resource's properties."""

from __future__ import annotations

import json

from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from lineage_constructs.lineage_share import LineageGroupShare

# The stacks' regions are known, so with @aws-cdk/core:enablePartitionLiterals CDK writes the
# partition as a literal instead of a Ref to AWS::Partition.
PARTITION = "aws"
PRODUCER = "111111111111"


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
    assert statements["BootstrapMarkerContextOnly"] == {
        "Sid": "BootstrapMarkerContextOnly",
        "Effect": "Allow",
        "Action": ["sagemaker:CreateContext", "sagemaker:DescribeContext"],
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
        "BootstrapMarkerContextOnly",
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
    assert "BootstrapMarkerContextOnly" not in statements
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


def test_reconcile_schedule_names_the_custom_resource_and_its_deployed_share(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (share_id,) = [
        k for k, v in template["Resources"].items() if v["Type"] == "Custom::LineageGroupShare"
    ]
    (rule,) = [
        v["Properties"]
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::Events::Rule" and k.startswith("LineageGroupShareReconcileSchedule")
    ]
    assert rule["ScheduleExpression"] == "rate(1 hour)"  # the config's sweep interval
    (target,) = rule["Targets"]
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2}
    # Rebuild the JSON input with the two deploy-time values made visible: no properties, the
    # handler reads them from the template (GetTemplate), so the input never outgrows 8,192.
    assert json.loads(
        rendered_input(target, {"AWS::StackId": "<stack id>", share_id: "<arn>"})
    ) == {
        "RequestType": "Reconcile",
        "StackId": "<stack id>",
        "LogicalResourceId": share_id,
        "PhysicalResourceId": "<arn>",
    }


def test_ram_events_in_the_producers_account_run_the_same_reconciliation(example_app):
    """An answered invitation frees quota: the held-back consumers are invited at once."""
    rules = {
        k: v["Properties"]
        for k, v in example_app.templates["LineageSharing-training-us-east-1"]["Resources"].items()
        if v["Type"] == "AWS::Events::Rule" and k.startswith("LineageGroupShareReconcile")
    }
    [on_event] = [rule for rule in rules.values() if "EventPattern" in rule]
    [schedule] = [rule for rule in rules.values() if "ScheduleExpression" in rule]
    assert on_event["EventPattern"] == {
        "source": ["aws.ram"],
        "detail-type": ["Resource Sharing State Change"],
        # Every status but that of the invitations the share itself just sent.
        "detail": {"status": [{"anything-but": ["PENDING"]}]},
    }
    [target] = on_event["Targets"]
    [scheduled] = schedule["Targets"]
    assert target["Input"] == scheduled["Input"] and target["Arn"] == scheduled["Arn"]
    assert target["RetryPolicy"] == scheduled["RetryPolicy"]


def rendered_input(target: dict, values: dict[str, str]) -> str:
    return "".join(
        part if isinstance(part, str) else values[part["Ref"]]
        for part in target["Input"]["Fn::Join"][1]
    )


def test_the_schedules_input_fits_eventbridge_for_500_consumers_and_50_maximal_tags(tmp_path):
    """EventBridge refuses a target input over 8,192 characters: one stack at fleet scale."""
    app = App(outdir=str(tmp_path), analytics_reporting=False)
    stack = Stack(
        app, "LineageSharing-fleet", env=Environment(account=PRODUCER, region="us-east-1")
    )
    consumers = [f"{700000000000 + n:012d}" for n in range(500)]
    tags = {f"{n:03d}".ljust(128, "k"): f"{n:03d}".ljust(256, "v") for n in range(50)}
    LineageGroupShare(
        stack,
        "LineageGroupShare",
        share_name="s" * 255,
        principals=consumers,
        allow_external_principals=True,
        bootstrap_lineage_group=True,
        tags=tags,
        log_retention=logs.RetentionDays.ONE_MONTH,
        reconcile_interval=Duration.hours(1),
    )
    template = Template.from_stack(stack).to_json()
    (share_id,) = [
        k for k, v in template["Resources"].items() if v["Type"] == "Custom::LineageGroupShare"
    ]
    assert len(template["Resources"][share_id]["Properties"]["Principals"]) == 500
    rules = {
        k: v
        for k, v in template["Resources"].items()
        if k.startswith("LineageGroupShareReconcile") and v["Type"] == "AWS::Events::Rule"
    }
    assert len(rules) == 2  # the schedule and the RAM events
    # The longest values CloudFormation can put there: a 128-character stack name in the
    # longest partition and region, and a share ARN.
    longest_stack_id = (
        "arn:aws-us-gov:cloudformation:us-gov-west-1:123456789012:stack/"
        + "s" * 128
        + "/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    )
    share_arn = "arn:aws-us-gov:ram:us-gov-west-1:123456789012:resource-share/" + "0" * 36
    for rule_id, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        rendered = rendered_input(target, {"AWS::StackId": longest_stack_id, share_id: share_arn})
        assert len(rendered) < 8192, f"{rule_id}: {len(rendered)} characters"


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
    # ... and reads the custom resource's properties from this stack's template only.
    assert statements["ReadThisStacksTemplate"] == {
        "Sid": "ReadThisStacksTemplate",
        "Effect": "Allow",
        "Action": "cloudformation:GetTemplate",
        "Resource": {"Ref": "AWS::StackId"},
    }
    assert set(statements) == {
        "ReadShareState",
        "InviteOnlyConfiguredConsumers",
        "DisassociateOnlyPrincipals",
        "LetRamMaintainTheLineageGroupPolicy",
        "ReadThisStacksTemplate",
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
