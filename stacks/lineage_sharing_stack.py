"""One stack per (account, region): the producer part, the consumer part, or both."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Environment, Stack, Tags
from constructs import Construct

from config.model import SharingConfig, StackPlan
from lineage_constructs.handler_function import RETENTION_BY_DAYS
from lineage_constructs.invitation_acceptor import InvitationAcceptor
from lineage_constructs.lineage_share import LineageGroupShare


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

        if plan.shares:
            share = LineageGroupShare(
                self,
                "LineageGroupShare",
                share_name=config.share_name,
                principals=plan.consumers,
                allow_external_principals=True,
                bootstrap_lineage_group=config.bootstrap_lineage_group,
                tags=config.tags,
                log_retention=log_retention,
                reconcile_interval=Duration.minutes(config.sweep_interval_minutes),
            )
            CfnOutput(self, "LineageGroupArn", value=share.lineage_group_arn)
            CfnOutput(self, "ResourceShareArn", value=share.resource_share_arn)

        if plan.receives:
            acceptor = InvitationAcceptor(
                self,
                "InvitationAcceptor",
                producer_accounts=plan.producers,
                sweep_interval=Duration.minutes(config.sweep_interval_minutes),
                log_retention=log_retention,
            )
            CfnOutput(self, "AcceptorFunctionArn", value=acceptor.function.function_arn)
            CfnOutput(self, "AcceptorRoleArn", value=acceptor.role.role_arn)

        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
