"""Management account: enable AWS RAM sharing with AWS Organizations (a precondition of
organization mode: RAM refuses organization and OU principals until it is done).

A custom resource calls ram:EnableSharingWithAwsOrganization on Create and Update (idempotent)
and does nothing on Delete (handler: lambda/organization_sharing). Its role holds exactly what
RAM's user guide lists as the minimum for enabling sharing ("Enable resource sharing within AWS
Organizations"): the RAM action itself, plus what RAM does with the caller's permissions:
create its service-linked role AWSServiceRoleForResourceAccessManager, enable trusted access
for ram.amazonaws.com in Organizations, and read the organization.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, CustomResource, Duration, RemovalPolicy, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from lineage_constructs.handler_function import HandlerFunction
from lineage_constructs.lineage_share import acknowledge_provider_framework

RAM_SERVICE_PRINCIPAL = "ram.amazonaws.com"
RAM_SERVICE_LINKED_ROLE = (
    "aws-service-role/ram.amazonaws.com/AWSServiceRoleForResourceAccessManager"
)
RESOURCE_TYPE = "Custom::RamSharingWithOrganization"


class RamSharingWithOrganization(Construct):
    """Enables RAM sharing with the organization `organization_arn` (deploy in its management
    account). Exposes the handler's `role` and `function`."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        organization_arn: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "HandlerRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Enables AWS RAM sharing with AWS Organizations (management account)",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EnableRamSharingWithOrganization",
                actions=["ram:EnableSharingWithAwsOrganization"],
                resources=["*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="CreateOnlyRamsServiceLinkedRole",
                actions=["iam:CreateServiceLinkedRole"],
                resources=[
                    stack.format_arn(
                        service="iam",
                        region="",
                        resource="role",
                        resource_name=RAM_SERVICE_LINKED_ROLE,
                    )
                ],
                conditions={"StringEquals": {"iam:AWSServiceName": RAM_SERVICE_PRINCIPAL}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="EnableTrustedAccessForRamOnly",
                actions=["organizations:EnableAWSServiceAccess"],
                resources=["*"],
                conditions={
                    "StringEquals": {"organizations:ServicePrincipal": RAM_SERVICE_PRINCIPAL}
                },
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheOrganization",
                actions=["organizations:DescribeOrganization"],
                resources=["*"],
            )
        )
        Validations.of(self.role).acknowledge(
            Acknowledgment(
                id="AwsSolutions-IAM5[Resource::*]",
                reason="IAM has no resource type for ram:EnableSharingWithAwsOrganization, "
                "organizations:EnableAWSServiceAccess and organizations:DescribeOrganization, so "
                "they need Resource '*'; EnableAWSServiceAccess is limited by "
                "organizations:ServicePrincipal to ram.amazonaws.com, DescribeOrganization only "
                "reads, and EnableSharingWithAwsOrganization has no condition keys.",
            )
        )
        self.function = HandlerFunction(
            self,
            "OnEvent",
            asset_folder="organization_sharing",
            handler="organization_sharing.handler.on_event",
            description="RAM sharing with AWS Organizations: enable (delete does nothing)",
            timeout=Duration.minutes(1),
            log_retention=log_retention,
            role=self.role,
        ).function
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=self.function,
            log_group=logs.LogGroup(
                self, "ProviderLogs", retention=log_retention, removal_policy=RemovalPolicy.DESTROY
            ),
        )
        acknowledge_provider_framework(provider, invoked=self)
        CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties={"OrganizationArn": organization_arn},
        )
