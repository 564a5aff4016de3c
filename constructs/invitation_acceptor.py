"""Consumer side: accept RAM invitations for lineage groups from allow-listed producers.

RAM's EventBridge events are best effort and invitations expire after 12 hours, so the
acceptor runs on both the events and a schedule; every run re-lists invitations, and the
role can accept only invitations whose share owner is a configured producer.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Acknowledgment, Duration, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from invitation_acceptor.decisions import (
    ALLOW_LIST_PARAMETERS_VARIABLE,
    ALLOW_LIST_SHA256_VARIABLE,
    allow_list_digest,
)
from lineage_constructs.acceptor_layout import (
    FENCE_SID,
    allow_list_chunks,
    fence_layout,
    invitation_arn_pattern,
)
from lineage_constructs.account_list_policies import attach_account_lists
from lineage_constructs.handler_function import HandlerFunction
from lineage_constructs.nag_findings import finding_partition


class InvitationAcceptor(Construct):
    """Auto-accept Lambda, its fenced role, triggers, dead-letter queue and alarms.

    Exposes `function`, `role`, `fence_policies` (managed policies beyond the inline one, for
    very large fleets), `allow_list_parameters`, `dead_letter_queue`, `errors_alarm`,
    `dead_letters_alarm`.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        producer_accounts: Sequence[str],
        sweep_interval: Duration,
        log_retention: logs.RetentionDays,
    ) -> None:
        """The function reserves no concurrency: Lambda refuses a reservation that leaves an
        account fewer than 10 unreserved executions, and new accounts often have a quota of 10,
        so any reservation can fail a fresh account's deployment. Two sweeps at once are
        harmless (accepts carry the invitation's client token)."""
        super().__init__(scope, id_)
        producers = sorted(producer_accounts)
        if not producers:
            raise ValueError(f"{self.node.path}: an acceptor needs at least one producer account")

        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        Validations.of(self.dead_letter_queue).acknowledge(
            Acknowledgment(
                id="AwsSolutions-SQS3",
                reason="This queue is itself the dead-letter queue of the acceptor function and of "
                "its EventBridge targets.",
            )
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Accepts RAM invitations from the configured lineage producers only",
        )
        self._fence_invitations(producers)
        self.allow_list_parameters = self._allow_list_parameters(producers)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ListReceivedInvitations",
                actions=["ram:GetResourceShareInvitations"],
                resources=["*"],
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="ram:GetResourceShareInvitations has no resource type in IAM, so it needs "
                "Resource '*'; it is read-only and lists only invitations this account received.",
            )
        )

        handler = HandlerFunction(
            self,
            "Acceptor",
            asset_folder="invitation_acceptor",
            handler="invitation_acceptor.handler.handle",
            description="Accepts pending lineage group invitations from configured producers",
            timeout=Duration.minutes(3),
            log_retention=log_retention,
            role=self.role,
            environment={
                # Literal names, not the parameters' Refs: the handler reads them as they are.
                ALLOW_LIST_PARAMETERS_VARIABLE: ",".join(self.allow_list_parameter_names),
                ALLOW_LIST_SHA256_VARIABLE: allow_list_digest(producers),
            },
            dead_letter_queue=self.dead_letter_queue,
        )
        self.function = handler.function
        for parameter in self.allow_list_parameters:
            # CloudFormation writes a changed list before the function's new digest, so a fresh
            # execution environment reads a list that matches (see acceptor_layout).
            self.function.node.add_dependency(parameter)

        events.Rule(
            self,
            "OnRamEvent",
            description="Re-list invitations when RAM reports a sharing change",
            event_pattern=events.EventPattern(
                source=["aws.ram"], detail_type=["Resource Sharing State Change"]
            ),
            targets=[self._target()],
        )
        events.Rule(
            self,
            "Sweep",
            description="Re-list invitations on a schedule: RAM events are best effort",
            schedule=events.Schedule.rate(sweep_interval),
            targets=[self._target()],
        )

        self.errors_alarm = cloudwatch.Alarm(
            self,
            "ErrorsAlarm",
            alarm_description="The lineage invitation acceptor failed; see its log group.",
            metric=self.function.metric_errors(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letters_alarm = cloudwatch.Alarm(
            self,
            "DeadLettersAlarm",
            alarm_description="Acceptor runs gave up and landed in the dead-letter queue.",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5)
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

    def _fence_invitations(self, producers: Sequence[str]) -> None:
        """Accept and list only invitations of shares owned by a configured producer."""
        stack = Stack.of(self)
        layout = fence_layout(producers, invitation_arn_pattern(stack.partition, stack.region))
        acknowledgment = Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::{invitation_arn_pattern(finding_partition(stack), stack.region)}]",
            reason="Invitation ids are generated by RAM and carry the sender's account; the grant "
            "is limited to this region's invitations and, by the ram:ShareOwnerAccountId "
            "condition, to shares owned by configured producer accounts.",
        )
        # Beyond what the role's inline budget holds, each further part is its own managed policy.
        self.fence_policies = attach_account_lists(
            self,
            self.role,
            layout,
            policy_ids={FENCE_SID: "ProducerFence"},
            describe=lambda _, number: (
                f"Part {number} of the producer accounts whose RAM "
                f"invitations {stack.stack_name}/{self.node.id} may accept"
            ),
            acknowledgments={FENCE_SID: [acknowledgment]},
        )

    def _allow_list_parameters(self, producers: Sequence[str]) -> list[ssm.StringListParameter]:
        """The allow-list the handler reads, in standard-tier StringList parameters."""
        stack = Stack.of(self)
        chunks = allow_list_chunks(producers)
        # Stack name and the path within the stack: unique in the account and region, and the
        # same for a pipeline's copy of the stack (a Stage adds to the path, not to the name).
        within_stack = self.node.path.removeprefix(f"{stack.node.path}/")
        self.allow_list_parameter_names = [
            f"/{stack.stack_name}/{within_stack}/allowed-producer-accounts/{number}"
            for number in range(1, len(chunks) + 1)
        ]
        parameters = [
            ssm.StringListParameter(
                self,
                f"AllowedProducers{number}",
                parameter_name=name,
                string_list_value=chunk,
                description=f"Producer accounts whose lineage group invitations "
                f"{stack.stack_name}/{within_stack} accepts (part {number} of {len(chunks)})",
                tier=ssm.ParameterTier.STANDARD,
                simple_name=False,
            )
            for number, (name, chunk) in enumerate(
                zip(self.allow_list_parameter_names, chunks, strict=True), start=1
            )
        ]
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadProducerAllowList",
                actions=["ssm:GetParameters"],
                resources=[
                    stack.format_arn(
                        service="ssm", resource="parameter", resource_name=name.removeprefix("/")
                    )
                    for name in self.allow_list_parameter_names
                ],
            )
        )
        return parameters

    def _target(self) -> targets.LambdaFunction:
        return targets.LambdaFunction(
            self.function,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=4,
            max_event_age=Duration.hours(2),
        )
