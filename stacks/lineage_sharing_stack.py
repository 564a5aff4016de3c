"""One stack per (account, region): the producer part, the consumer part, or both; their
monitoring (metrics, alarms, a dashboard, notifications) and, opt-in, a consumer query role."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CfnOutput, Duration, Environment, Stack, Tags
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from config.model import SharingConfig, StackPlan, partition_of
from lineage_constructs.alarm_notifications import AlarmNotifications
from lineage_constructs.handler_function import RETENTION_BY_DAYS
from lineage_constructs.invitation_acceptor import InvitationAcceptor
from lineage_constructs.lineage_query_role import LineageQueryRole
from lineage_constructs.lineage_share import LineageGroupShare
from lineage_constructs.sharing_monitoring import (
    AcceptorMonitoring,
    OperationsDashboard,
    ReconcileMonitoring,
)
from lineage_sharing.cloud_assembly import QUERY_ROLE_PREFIX


class ProducerPart:
    """The share of the account's own lineage group with its outputs and monitoring."""

    def __init__(
        self,
        stack: Stack,
        config: SharingConfig,
        *,
        principals: Sequence[str],
        allow_external_principals: bool,
    ) -> None:
        sweep_interval = Duration.minutes(config.sweep_interval_minutes)
        self.share = LineageGroupShare(
            stack,
            "LineageGroupShare",
            share_name=config.share_name,
            principals=principals,
            allow_external_principals=allow_external_principals,
            bootstrap_lineage_group=config.bootstrap_lineage_group,
            tags=config.tags,
            log_retention=RETENTION_BY_DAYS[config.log_retention_days],
            reconcile_interval=sweep_interval,
        )
        CfnOutput(stack, "LineageGroupArn", value=self.share.lineage_group_arn)
        CfnOutput(stack, "ResourceShareArn", value=self.share.resource_share_arn)
        reconciling = ReconcileMonitoring(
            stack,
            "ReconcileMonitoring",
            function=self.share.reconcile_function,
            reconcile_interval=sweep_interval,
        )
        self.alarms: list[cloudwatch.Alarm] = [
            self.share.reconcile_errors_alarm,
            *reconciling.alarms,
        ]
        self.widgets = reconciling.widgets


def query_role_name(region: str) -> str:
    # IAM roles are global: one per region the account receives in. The status command finds
    # it by the prefix.
    return f"{QUERY_ROLE_PREFIX}{region}"


class LineageSharingStack(Stack):
    def __init__(self, scope: Construct, *, plan: StackPlan, config: SharingConfig) -> None:
        super().__init__(
            scope,
            plan.stack_name,
            # Explicit, so the copy a pipeline deploys (inside a CDK Stage, which would prefix
            # its id) updates the same CloudFormation stack as `cdk deploy <stack>`.
            stack_name=plan.stack_name,
            env=Environment(account=plan.account.id, region=plan.region),
            description=f"SageMaker lineage sharing for {plan.account.name} "
            f"({plan.account.id}) in {plan.region}",
        )
        log_retention = RETENTION_BY_DAYS[config.log_retention_days]
        sweep_interval = Duration.minutes(config.sweep_interval_minutes)
        alarms: list[cloudwatch.Alarm] = []
        widget_rows: list[list[cloudwatch.IWidget]] = []
        functions = {}

        if plan.shares:
            producer = ProducerPart(
                self,
                config,
                # Account ids, or the organization/OU ARNs in organization mode.
                principals=plan.share_principals,
                allow_external_principals=plan.allow_external_principals,
            )
            alarms += producer.alarms
            widget_rows.append(producer.widgets)
            functions.update(producer.share.functions)

        if plan.accepts_invitations:
            # In organization mode only producers outside the organization (or all, for an
            # account outside it) invite: shares within it need no acceptance.
            acceptor = InvitationAcceptor(
                self,
                "InvitationAcceptor",
                producer_accounts=plan.inviting_producers,
                sweep_interval=sweep_interval,
                log_retention=log_retention,
            )
            CfnOutput(self, "AcceptorFunctionArn", value=acceptor.function.function_arn)
            CfnOutput(self, "AcceptorRoleArn", value=acceptor.role.role_arn)
            accepting = AcceptorMonitoring(
                self,
                "AcceptorMonitoring",
                function=acceptor.function,
                dead_letter_queue=acceptor.dead_letter_queue,
                sweep_interval=sweep_interval,
            )
            alarms += [acceptor.errors_alarm, acceptor.dead_letters_alarm]
            widget_rows.append(accepting.widgets)
            functions["acceptor"] = acceptor.function

        query_role = plan.account.query_role
        if plan.receives and query_role is not None:
            reader = LineageQueryRole(
                self,
                "LineageQueryRole",
                role_name=query_role_name(plan.region),
                producer_accounts=plan.producers,
                trusted_principals=query_role.principal_arns(partition_of(plan.region)),
                association_writes=query_role.association_writes,
            )
            CfnOutput(self, "QueryRoleArn", value=reader.role.role_arn)

        OperationsDashboard(
            self,
            "Dashboard",
            dashboard_name=plan.stack_name,
            alarms=alarms,
            widget_rows=widget_rows,
            functions=functions,
        )
        notifications = config.alarm_notifications
        if notifications is not None:
            # Every alarm of this stack notifies the topic (an aspect: whichever made it).
            topic = AlarmNotifications(
                self,
                "AlarmNotifications",
                emails=notifications.emails or (),
                topic_arn=notifications.topic_arn_in(plan.region),
            ).topic
            CfnOutput(self, "AlarmTopicArn", value=topic.topic_arn)

        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
