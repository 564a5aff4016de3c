"""Consumer construct: the fenced role, triggers, dead letters, alarms, no reserved concurrency."""

from __future__ import annotations

from aws_cdk.assertions import Match

from invitation_acceptor.decisions import allow_list_digest

# Known regions: CDK writes the partition literally (@aws-cdk/core:enablePartitionLiterals).
PARTITION = "aws"


def acceptor_statements(template: dict) -> list[dict]:
    (policy,) = [
        v
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Policy" and k.startswith("InvitationAcceptorRole")
    ]
    return policy["Properties"]["PolicyDocument"]["Statement"]


def by_sid(statements: list[dict]) -> dict[str, dict]:
    return {s.get("Sid", "<none>"): s for s in statements}


def test_accept_is_fenced_to_configured_producers(example_app):
    statements = by_sid(
        acceptor_statements(example_app.templates["LineageSharing-training-us-east-1"])
    )
    # This region's invitations, of shares owned by a configured producer: an invitation ARN
    # carries its sender, and only a share's owner sends invitations for it.
    assert statements["AcceptOnlyFromConfiguredProducers"] == {
        "Sid": "AcceptOnlyFromConfiguredProducers",
        "Effect": "Allow",
        "Action": ["ram:AcceptResourceShareInvitation", "ram:ListPendingInvitationResources"],
        "Resource": f"arn:{PARTITION}:ram:us-east-1:*:resource-share-invitation/*",
        "Condition": {
            "StringEquals": {"ram:ShareOwnerAccountId": ["222222222222", "333333333333"]}
        },
    }


def test_allow_list_lives_in_standard_ssm_parameters_the_role_may_read(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    parameters = {
        logical_id: resource["Properties"]
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SSM::Parameter"
    }
    name = "/LineageSharing-training-us-east-1/InvitationAcceptor/allowed-producer-accounts/1"
    ((logical_id, parameter),) = parameters.items()
    assert parameter["Name"] == name
    assert parameter["Type"] == "StringList"
    assert parameter["Tier"] == "Standard"
    assert parameter["Value"] == "222222222222,333333333333"
    read = by_sid(acceptor_statements(template))["ReadProducerAllowList"]
    assert read["Action"] == "ssm:GetParameters"
    assert read["Resource"] == f"arn:{PARTITION}:ssm:us-east-1:111111111111:parameter{name}"
    (function,) = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Lambda::Function"
        and resource["Properties"]["Handler"] == "invitation_acceptor.handler.handle"
    ]
    # CloudFormation writes the list before the function's new digest.
    assert logical_id in function["DependsOn"]


def test_acceptor_role_has_nothing_else(example_app):
    template = example_app.templates["LineageSharing-staging-us-east-1"]
    statements = acceptor_statements(template)
    granted = sorted(
        action
        for statement in statements
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    )
    assert granted == [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ram:AcceptResourceShareInvitation",
        "ram:GetResourceShareInvitations",
        "ram:ListPendingInvitationResources",
        "sqs:SendMessage",
        "ssm:GetParameters",
    ]
    listing = by_sid(statements)["ListReceivedInvitations"]
    assert listing["Resource"] == "*" and "Condition" not in listing
    (send,) = [s for s in statements if s["Action"] == "sqs:SendMessage"]
    assert send["Resource"]["Fn::GetAtt"][0].startswith("InvitationAcceptorDeadLetters")
    (role,) = [
        v
        for k, v in template["Resources"].items()
        if v["Type"] == "AWS::IAM::Role" and k.startswith("InvitationAcceptorRole")
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


def test_function_settings(example_app):
    example_app.assertions["LineageSharing-training-us-east-1"].has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": "invitation_acceptor.handler.handle",
            "Runtime": "python3.14",
            "Environment": {
                "Variables": {
                    "ALLOWED_PRODUCERS_PARAMETERS": "/LineageSharing-training-us-east-1/"
                    "InvitationAcceptor/allowed-producer-accounts/1",
                    "ALLOWED_PRODUCERS_SHA256": allow_list_digest(["222222222222", "333333333333"]),
                }
            },
            "DeadLetterConfig": {
                "TargetArn": {
                    "Fn::GetAtt": [Match.string_like_regexp("InvitationAcceptorDeadLetters"), "Arn"]
                }
            },
            "LoggingConfig": Match.object_like({"LogFormat": "JSON"}),
        },
    )


def test_no_function_reserves_concurrency_so_a_fresh_account_can_deploy(example_app, hub_app):
    # Lambda refuses a reservation that leaves fewer than 10 unreserved executions, and new
    # accounts often have a quota of 10: any ReservedConcurrentExecutions can fail the deploy.
    for app in (example_app, hub_app):
        for template in app.templates.values():
            functions = [
                v for v in template["Resources"].values() if v["Type"] == "AWS::Lambda::Function"
            ]
            assert functions
            assert all("ReservedConcurrentExecutions" not in f["Properties"] for f in functions)


def test_event_rule_and_schedule_with_retries_and_dead_letters(example_app):
    template = example_app.assertions["LineageSharing-training-us-east-1"]
    target = Match.object_like(
        {
            "DeadLetterConfig": {
                "Arn": {
                    "Fn::GetAtt": [Match.string_like_regexp("InvitationAcceptorDeadLetters"), "Arn"]
                }
            },
            "RetryPolicy": {"MaximumEventAgeInSeconds": 7200, "MaximumRetryAttempts": 4},
        }
    )
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.ram"],
                "detail-type": ["Resource Sharing State Change"],
            },
            "Targets": [target],
        },
    )
    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(1 hour)", "Targets": [target]}
    )


def test_sweep_interval_follows_config(hub_app):
    hub_app.assertions["LineageSharing-governance-eu-west-1"].has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(30 minutes)"}
    )


def test_dead_letter_queue_is_encrypted_and_tls_only(example_app):
    template = example_app.assertions["LineageSharing-training-us-east-1"]
    template.has_resource_properties(
        "AWS::SQS::Queue", {"SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1209600}
    )
    template.has_resource_properties(
        "AWS::SQS::QueuePolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Effect": "Deny",
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        )
                    ]
                )
            }
        },
    )


def test_alarms_on_errors_and_dead_letters(example_app):
    template = example_app.assertions["LineageSharing-training-us-east-1"]
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "Errors",
            "Namespace": "AWS/Lambda",
            "Threshold": 1,
            "TreatMissingData": "notBreaching",
        },
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Namespace": "AWS/SQS",
            "Threshold": 1,
        },
    )


def test_every_log_group_has_retention(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    groups = [v for v in template["Resources"].values() if v["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 5  # on-event, is-complete, reconcile, provider framework, acceptor
    assert all(group["Properties"]["RetentionInDays"] == 30 for group in groups)
    assert not [v for v in template["Resources"].values() if v["Type"] == "Custom::LogRetention"]
