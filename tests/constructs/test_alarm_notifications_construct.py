"""Alarms that reach someone: every alarm of every stack notifies the configured topic (ALARM
and OK); a created topic is KMS-encrypted with a key CloudWatch may use, TLS-only, and lets only
this account's alarms publish."""

from __future__ import annotations

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template

from lineage_constructs.alarm_notifications import AlarmNotifications

EXISTING_TOPIC = "arn:aws:sns:eu-west-1:999999999999:ml-alarms"


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_every_alarm_of_every_example_stack_notifies_its_own_topic(example_app):
    for name, template in example_app.templates.items():
        (topic,) = resources_of_type(template, "AWS::SNS::Topic")
        alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
        assert len(alarms) == 6, name  # acceptor errors, dead letters, reconcile: 4
        for alarm in alarms.values():
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
            assert alarm["Properties"]["OKActions"] == [{"Ref": topic}]


def test_an_existing_topic_is_notified_and_nothing_is_created(hub_app):
    for name, template in hub_app.templates.items():
        assert not resources_of_type(template, "AWS::SNS::Topic"), name
        assert not resources_of_type(template, "AWS::KMS::Key"), name
        alarms = resources_of_type(template, "AWS::CloudWatch::Alarm").values()
        assert alarms
        for alarm in alarms:
            assert alarm["Properties"]["AlarmActions"] == [EXISTING_TOPIC]
            assert alarm["Properties"]["OKActions"] == [EXISTING_TOPIC]


def test_the_created_topic_is_encrypted_with_a_rotated_key_cloudwatch_may_use(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (key_id, key), *more = resources_of_type(template, "AWS::KMS::Key").items()
    assert not more and key["Properties"]["EnableKeyRotation"] is True
    (topic,) = resources_of_type(template, "AWS::SNS::Topic").values()
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert statements["LetCloudWatchAlarmsPublishToTheEncryptedTopic"] == {
        "Sid": "LetCloudWatchAlarmsPublishToTheEncryptedTopic",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }


def test_the_created_topic_takes_tls_only_and_alarms_of_this_account_only(example_app):
    template = example_app.templates["LineageSharing-training-us-east-1"]
    (topic_id,) = resources_of_type(template, "AWS::SNS::Topic")
    (policy,) = resources_of_type(template, "AWS::SNS::TopicPolicy").values()
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["AllowPublishThroughSSLOnly"]["Effect"] == "Deny"
    assert statements["LetThisAccountsAlarmsPublish"] == {
        "Sid": "LetThisAccountsAlarmsPublish",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": {"Ref": topic_id},
        "Condition": {
            "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:us-east-1:111111111111:alarm:*"},
            "StringEquals": {"aws:SourceAccount": "111111111111"},
        },
    }
    (subscription,) = resources_of_type(template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"] == {
        "Endpoint": "ml-platform-oncall@example.com",
        "Protocol": "email",
        "TopicArn": {"Ref": topic_id},
    }


def test_an_alarm_made_after_the_notifications_is_wired_too_and_only_once():
    app = App()
    stack = Stack(app, "Alarms", env=Environment(account="111111111111", region="eu-west-1"))
    metric = cloudwatch.Metric(namespace="LineageSharing", metric_name="ConsumersHeldBack")
    cloudwatch.Alarm(stack, "Before", metric=metric, threshold=1, evaluation_periods=1)
    AlarmNotifications(stack, "Notify", topic_arn=EXISTING_TOPIC)
    cloudwatch.Alarm(stack, "After", metric=metric, threshold=1, evaluation_periods=1)

    alarms = resources_of_type(Template.from_stack(stack).to_json(), "AWS::CloudWatch::Alarm")
    assert [a["Properties"]["AlarmActions"] for a in alarms.values()] == [[EXISTING_TOPIC]] * 2


@pytest.mark.parametrize("settings", [{}, {"emails": ["a@example.com"], "topic_arn": "arn"}])
def test_exactly_one_destination_is_required(settings):
    stack = Stack(App(), "Alarms")
    with pytest.raises(ValueError, match="either topic_arn or emails"):
        AlarmNotifications(stack, "Notify", **settings)
