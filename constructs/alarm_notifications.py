"""Alarms that reach someone: an SNS topic, and every CloudWatch alarm of the stack notifying it.

The topic is created here (a KMS key of its own, TLS only, email subscriptions) or an existing
one is referred to by ARN. An aspect adds the topic as ALARM and OK action to every
`cloudwatch.Alarm` in the stack, whichever construct made it, so an alarm added later cannot be
forgotten and the constructs that make alarms need not know about notifications.
"""

from __future__ import annotations

from collections.abc import Sequence

import jsii
from aws_cdk import ArnFormat, Aspects, Duration, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct

CLOUDWATCH_SERVICE = "cloudwatch.amazonaws.com"


class AlarmNotifications(Construct):
    """The stack's alarm topic; exposes `topic`.

    Give `topic_arn` (an existing standard topic in the stack's region) or `emails` (a topic is
    created and these addresses subscribed; each must confirm the subscription email first).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        emails: Sequence[str] = (),
        topic_arn: str | None = None,
    ) -> None:
        super().__init__(scope, id_)
        if (topic_arn is None) == (not emails):
            raise ValueError("give either topic_arn or emails")
        stack = Stack.of(self)
        if topic_arn is not None:
            # Its owner keeps its access policy (and key policy) open to CloudWatch (README).
            self.topic: sns.ITopic = sns.Topic.from_topic_arn(self, "Topic", topic_arn)
        else:
            self.topic = self._encrypted_topic(stack, emails)
        Aspects.of(stack).add(NotifyEveryAlarm(self.topic))

    def _encrypted_topic(self, stack: Stack, emails: Sequence[str]) -> sns.Topic:
        # The AWS managed key for SNS cannot be used: its policy does not let CloudWatch
        # encrypt, and AWS managed key policies cannot be changed (SNS developer guide, "Enable
        # compatibility between event sources from AWS services and encrypted topics").
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the lineage sharing alarm topic of this stack",
            enable_key_rotation=True,
            # Nothing else is encrypted with it, and alarm messages are transient.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # Inference: the statement AWS documents has no condition. Whether the KMS request that
        # SNS makes for CloudWatch carries aws:SourceAccount or aws:SourceArn is not documented,
        # and a condition it lacks would drop every notification without an error anywhere. The
        # key encrypts this topic only, so CloudWatch gains nothing else by it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LetCloudWatchAlarmsPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        topic = sns.Topic(
            self,
            "Topic",
            display_name="Lineage sharing alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # A topic policy replaces SNS's default one (which lets this account's services
        # publish), so CloudWatch is let in by name: only for alarms of this account and region.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="LetThisAccountsAlarmsPublish",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="cloudwatch",
                            resource="alarm",
                            resource_name="*",
                            arn_format=ArnFormat.COLON_RESOURCE_NAME,
                        )
                    },
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        for email in emails:
            topic.add_subscription(subscriptions.EmailSubscription(email))
        return topic


@jsii.implements(IAspect)
class NotifyEveryAlarm:
    """Adds the topic as ALARM and OK action to every CloudWatch alarm it visits, once."""

    def __init__(self, topic: sns.ITopic) -> None:
        self._action = cloudwatch_actions.SnsAction(topic)
        self._wired: set[str] = set()

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, cloudwatch.Alarm) or node.node.path in self._wired:
            return
        self._wired.add(node.node.path)
        node.add_alarm_action(self._action)
        # The all-clear, so whoever was paged learns that it healed (e.g. a redeploy worked).
        node.add_ok_action(self._action)
