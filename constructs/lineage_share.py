"""Producer side: share this account's own default lineage group through AWS RAM.

A custom resource rather than AWS::RAM::ResourceShare, because the lineage group's ARN has to
be discovered at deploy time (and may not exist yet in a fresh account), and because
invitations that expired or were rejected must be sent again, which CloudFormation's RAM
resource never does. Between deployments a schedule runs the same reconciliation, so an
expired invitation is sent again, and principals beyond RAM's pending-invitation quota are
invited as earlier invitations get accepted, without waiting for the next deployment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Acknowledgment, CustomResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from lineage_constructs.handler_function import HandlerFunction
from lineage_constructs.nag_findings import finding_account, finding_partition, finding_region

LINEAGE_GROUP_RESOURCE_TYPE = "sagemaker:LineageGroup"
DEFAULT_LINEAGE_GROUP_NAME = "sagemaker-default-lineage-group"
BOOTSTRAP_CONTEXT_NAME = "lineage-sharing-bootstrap"


class LineageGroupShare(Construct):
    """Shares the account's default lineage group with `principals` and keeps the share healthy.

    Exposes `lineage_group_arn`, `resource_share_arn`, the custom resource handler's `role`,
    the schedule's `reconcile_role` and `reconcile_function`, and `functions` (label -> each
    handler function, for dashboards).
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        share_name: str,
        principals: Sequence[str],
        allow_external_principals: bool,
        bootstrap_lineage_group: bool,
        tags: Mapping[str, str],
        log_retention: logs.RetentionDays,
        reconcile_interval: Duration,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        own_lineage_group_arn = stack.format_arn(
            service="sagemaker",
            resource="lineage-group",
            resource_name=DEFAULT_LINEAGE_GROUP_NAME,
        )
        own_resource_shares = stack.format_arn(
            service="ram", resource="resource-share", resource_name="*"
        )

        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Creates and maintains the RAM share of this account's lineage group",
        )
        external = _cfn_bool(allow_external_principals)
        # RAM authorizes CreateResourceShare once per resource and once per principal it names
        # (RAM user guide, example IAM policies): one statement for each kind of request context.
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateShareOfOwnLineageGroupOnly",
                actions=["ram:CreateResourceShare"],
                resources=["*"],
                conditions={
                    "StringEquals": {"ram:RequestedResourceType": LINEAGE_GROUP_RESOURCE_TYPE},
                    "ArnEquals": {"ram:ResourceArn": own_lineage_group_arn},
                    "Bool": {"ram:RequestedAllowsExternalPrincipals": external},
                },
            )
        )
        self.role.add_to_policy(
            create_share_for_configured_consumers(principals, allow_external_principals)
        )
        self.role.add_to_policy(
            invite_configured_consumers(principals, own_resource_shares, share_name)
        )
        self.role.add_to_policy(remove_principals_only(own_resource_shares, share_name))
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ManageOnlyTheConfiguredShare",
                actions=["ram:DeleteResourceShare", "ram:TagResource", "ram:UntagResource"],
                resources=[own_resource_shares],
                conditions={"StringEquals": {"ram:ResourceShareName": share_name}},
            )
        )
        # The handler only ever sets allowExternalPrincipals to the configured value (org mode
        # forbids external principals once the accounts outside the organization are gone).
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="SetOnlyTheConfiguredExternalPrincipalsFlag",
                actions=["ram:UpdateResourceShare"],
                resources=[own_resource_shares],
                conditions={
                    "StringEquals": {"ram:ResourceShareName": share_name},
                    "Bool": {"ram:RequestedAllowsExternalPrincipals": external},
                },
            )
        )
        self.role.add_to_policy(_read_share_state())
        self.role.add_to_policy(_let_ram_maintain_the_lineage_group_policy())
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="FindOwnLineageGroup",
                actions=["sagemaker:ListLineageGroups"],
                resources=["*"],
            )
        )
        if bootstrap_lineage_group:
            # DescribeContext tells "already exists" (an earlier attempt made it) from any other
            # refusal of CreateContext.
            self.role.add_to_policy(
                iam.PolicyStatement(
                    sid="BootstrapMarkerContextOnly",
                    actions=["sagemaker:CreateContext", "sagemaker:DescribeContext"],
                    resources=[
                        stack.format_arn(
                            service="sagemaker",
                            resource="context",
                            resource_name=BOOTSTRAP_CONTEXT_NAME,
                        )
                    ],
                )
            )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="IAM has no resource type for ram:CreateResourceShare, ram:GetResourceShares, "
                "ram:GetResourceShareAssociations, sagemaker:ListLineageGroups and the "
                "permission-only sagemaker:CreateLineageGroupPolicy, PutLineageGroupPolicy and "
                "DeleteLineageGroupPolicy, so they need Resource '*'. CreateResourceShare is fenced "
                "by conditions to resource type sagemaker:LineageGroup, this account's own default "
                "lineage group ARN, the configured consumers and the configured "
                "allowExternalPrincipals; the three lineage group policy actions have no API and "
                "are what RAM needs of its caller to attach and remove the group's resource "
                "policy; the others are read-only.",
            )
        )
        own_shares_acknowledgment = Acknowledgment(
            id=f"AwsSolutions-IAM5[Resource::arn:{finding_partition(stack)}:ram:"
            f"{finding_region(stack)}:{finding_account(stack)}:resource-share/*]",
            reason="The share's id is generated by RAM at creation time; the grant is limited to "
            "this account's shares and, by the ram:ResourceShareName condition, to the "
            "configured share name.",
        )
        Validations.of(self.role).acknowledge(own_shares_acknowledgment)

        handler_settings = dict(
            asset_folder="share_manager",
            timeout=Duration.minutes(2),
            log_retention=log_retention,
            role=self.role,
        )
        on_event = HandlerFunction(
            self,
            "OnEvent",
            handler="share_manager.handler.on_event",
            description="Lineage group share: create, update, delete",
            **handler_settings,
        )
        is_complete = HandlerFunction(
            self,
            "IsComplete",
            handler="share_manager.handler.is_complete",
            description="Lineage group share: wait for the group, reconcile principals",
            **handler_settings,
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event.function,
            is_complete_handler=is_complete.function,
            # Waiting covers a freshly bootstrapped lineage group and re-invitations, which
            # need a disassociation to finish before the principal can be associated again.
            query_interval=Duration.seconds(15),
            total_timeout=Duration.minutes(30),
            log_group=logs.LogGroup(
                self, "ProviderLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
            ),
        )
        acknowledge_provider_framework(provider, invoked=self)

        properties = {
            "ShareName": share_name,
            "Principals": list(principals),
            "AllowExternalPrincipals": _cfn_bool(allow_external_principals),
            "BootstrapLineageGroup": _cfn_bool(bootstrap_lineage_group),
            "BootstrapContextName": BOOTSTRAP_CONTEXT_NAME,
            "Tags": dict(tags),
        }
        share = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type="Custom::LineageGroupShare",
            properties=properties,
        )
        self.lineage_group_arn = share.get_att_string("LineageGroupArn")
        self.resource_share_arn = share.get_att_string("ResourceShareArn")

        # Its own role: the schedule only (re-)invites, it never creates, deletes or tags.
        self.reconcile_role = iam.Role(
            self,
            "ReconcileRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Re-sends invitations of this account's lineage group share",
        )
        self.reconcile_role.add_to_policy(_read_share_state())
        self.reconcile_role.add_to_policy(
            invite_configured_consumers(principals, own_resource_shares, share_name)
        )
        self.reconcile_role.add_to_policy(remove_principals_only(own_resource_shares, share_name))
        self.reconcile_role.add_to_policy(_let_ram_maintain_the_lineage_group_policy())
        # The schedule reads the custom resource's properties from this stack's template.
        self.reconcile_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadThisStacksTemplate",
                actions=["cloudformation:GetTemplate"],
                resources=[stack.stack_id],
            )
        )
        Validations.of(self.reconcile_role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="IAM has no resource type for ram:GetResourceShares and "
                "ram:GetResourceShareAssociations (read-only) and for the permission-only "
                "sagemaker:CreateLineageGroupPolicy, PutLineageGroupPolicy and "
                "DeleteLineageGroupPolicy (no API: RAM needs them of its caller to change the "
                "lineage group's resource policy when principals are associated or "
                "disassociated), so they need Resource '*'.",
            )
        )
        Validations.of(self.reconcile_role).acknowledge(own_shares_acknowledgment)
        reconcile = HandlerFunction(
            self,
            "Reconcile",
            handler="share_manager.handler.reconcile",
            description="Lineage group share: re-invite expired, invite held-back principals",
            **{**handler_settings, "role": self.reconcile_role},
        )
        self.reconcile_function = reconcile.function
        self.functions = {
            "share on_event": on_event.function,
            "share is_complete": is_complete.function,
            "reconcile": reconcile.function,
        }
        # A failed run is not retried by Lambda: the next scheduled run is the retry, and the
        # errors alarm reports the failure.
        reconcile.function.configure_async_invoke(retry_attempts=0)
        events.Rule(
            self,
            "ReconcileSchedule",
            description="Re-send expired invitations and invite principals held back by quota",
            schedule=events.Schedule.rate(reconcile_interval),
            targets=[
                targets.LambdaFunction(
                    reconcile.function,
                    # Names the custom resource and its deployed share; the handler reads the
                    # properties from the template (an input holds at most 8,192 characters).
                    event=events.RuleTargetInput.from_object(
                        {
                            "RequestType": "Reconcile",
                            "StackId": stack.stack_id,
                            "LogicalResourceId": stack.get_logical_id(share.node.default_child),
                            "PhysicalResourceId": share.ref,
                        }
                    ),
                    # EventBridge retries delivering the event to Lambda; an old one is useless.
                    retry_attempts=2,
                    max_event_age=Duration.hours(1),
                )
            ],
        )
        self.reconcile_errors_alarm = cloudwatch.Alarm(
            self,
            "ReconcileErrorsAlarm",
            alarm_description="Scheduled reconciliation of the lineage group share failed; "
            "see its log group.",
            metric=reconcile.function.metric_errors(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


# ---------------------------------------------------------------------------- statements that
# name the configured consumers: they grow with the fleet, so they are built in one place.


def create_share_for_configured_consumers(
    principals: Sequence[str], allow_external_principals: bool
) -> iam.PolicyStatement:
    """CreateResourceShare's request contexts for principals: only the configured consumers."""
    return iam.PolicyStatement(
        sid="CreateShareForConfiguredConsumersOnly",
        actions=["ram:CreateResourceShare"],
        resources=["*"],
        conditions={
            "StringEquals": {"ram:Principal": sorted(principals)},
            "Bool": {"ram:RequestedAllowsExternalPrincipals": _cfn_bool(allow_external_principals)},
        },
    )


def invite_configured_consumers(
    principals: Sequence[str], own_resource_shares: str, share_name: str
) -> iam.PolicyStatement:
    """AssociateResourceShare of the configured consumers only (never of a resource)."""
    return iam.PolicyStatement(
        sid="InviteOnlyConfiguredConsumers",
        actions=["ram:AssociateResourceShare"],
        resources=[own_resource_shares],
        conditions={
            "StringEquals": {
                "ram:ResourceShareName": share_name,
                "ram:Principal": sorted(principals),
            }
        },
    )


def remove_principals_only(own_resource_shares: str, share_name: str) -> iam.PolicyStatement:
    """DisassociateResourceShare of principals (removed consumers too), never of the group."""
    return iam.PolicyStatement(
        sid="DisassociateOnlyPrincipals",
        actions=["ram:DisassociateResourceShare"],
        resources=[own_resource_shares],
        conditions={
            "StringEquals": {"ram:ResourceShareName": share_name},
            "Null": {"ram:Principal": "false"},
        },
    )


def _let_ram_maintain_the_lineage_group_policy() -> iam.PolicyStatement:
    # RAM attaches, changes and removes the shared group's resource policy through SageMaker
    # with its caller's permissions (RAM troubleshooting: "you need
    # resourceOwningService:PutPolicyAction"). Which of the three RAM checks on which call is not
    # documented: all three. They have no API, so handler code cannot call them itself.
    return iam.PolicyStatement(
        sid="LetRamMaintainTheLineageGroupPolicy",
        actions=[
            "sagemaker:CreateLineageGroupPolicy",
            "sagemaker:PutLineageGroupPolicy",
            "sagemaker:DeleteLineageGroupPolicy",
        ],
        resources=["*"],
    )


def _read_share_state() -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid="ReadShareState",
        actions=["ram:GetResourceShares", "ram:GetResourceShareAssociations"],
        resources=["*"],
    )


def _cfn_bool(value: bool) -> str:
    # CloudFormation hands every scalar property to the handler as a string; say so explicitly.
    return "true" if value else "false"


def acknowledge_provider_framework(provider: cr.Provider, *, invoked: Construct) -> None:
    """The CDK Provider framework's own Lambdas, roles and waiter state machine."""
    reasons = {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]": "The CDK Provider framework's own functions use the AWS "
        "managed basic execution role (CloudWatch Logs only); the framework creates them.",
        "AwsSolutions-L1": "The Provider framework pins its Node.js runtime inside aws-cdk-lib; "
        "it is upgraded with aws-cdk-lib, not by this app.",
        "AwsSolutions-SF1": "The framework's waiter state machine only polls isComplete; every "
        "decision is logged by the handlers themselves.",
        "AwsSolutions-SF2": "X-Ray tracing of the framework's waiter state machine adds nothing "
        "for a handful of polls per deployment.",
    }
    # The framework may invoke each function of this construct and its versions ("<arn>:*").
    for function in invoked.node.find_all():
        if isinstance(function, lambda_.CfnFunction):
            logical_id = Stack.of(function).get_logical_id(function)
            reasons[f"AwsSolutions-IAM5[Resource::<{logical_id}.Arn>:*]"] = (
                "The Provider framework grants lambda:InvokeFunction on this one function and its "
                "versions (ARN suffix ':*'); no other function can be invoked."
            )
    for finding_id, reason in reasons.items():
        Validations.of(provider).acknowledge(Acknowledgment(id=finding_id, reason=reason))
