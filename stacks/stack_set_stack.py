"""The StackSet rollout (`rollout.stack_set`, organization mode; README "Path 3").

- `StackSetMemberStack`: the one template every member account gets in every region. It shares
  the account's own default lineage group with the organization/OU principals of `sharing:`
  (allowExternalPrincipals false; in-organization shares need no invitation, so no acceptor).
  It names no account or region: the share manager finds its account's group from
  `AWS::AccountId`, and the Lambda code comes from the bucket of `AWS::Region`.
- `StackSetAssetsStack`, one per member region in the administrator account: that bucket.
- `LineageSharingStackSetStack` in the administrator account's home region: the
  service-managed StackSet with auto-deployment, targeting the OUs.
"""

from __future__ import annotations

import re

from aws_cdk import CfnOutput, Environment, Fn, Stack, Tags
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from config.model import SharingConfig
from config.rollout_plan import AssetBucketPlan, StackSetPlan
from lineage_constructs.alarm_notifications import AlarmNotifications
from lineage_constructs.sharing_monitoring import OperationsDashboard
from lineage_constructs.stack_set_template import (
    OrganizationReadableBucket,
    StackSetTemplateSynthesizer,
)
from stacks.lineage_sharing_stack import ProducerPart

MEMBER_STACK_ID = "Member"


class StackSetMemberStack(Stack):
    """The producer part of an organization-mode account stack, for any account and region."""

    def __init__(
        self,
        scope: Stack,
        *,
        plan: StackSetPlan,
        config: SharingConfig,
        synthesizer: StackSetTemplateSynthesizer,
    ) -> None:
        super().__init__(
            scope,
            MEMBER_STACK_ID,
            synthesizer=synthesizer,
            description="SageMaker lineage sharing with the organization (StackSet member "
            f"of {plan.stack_set_name})",
        )
        producer = ProducerPart(
            self, config, principals=plan.share_principals, allow_external_principals=False
        )
        OperationsDashboard(
            self,
            "Dashboard",
            dashboard_name=Fn.sub(f"{plan.stack_set_name}-${{AWS::Region}}"),
            alarms=producer.alarms,
            widget_rows=[producer.widgets],
            functions=producer.share.functions,
        )
        notifications = config.alarm_notifications
        if notifications is not None and notifications.emails:
            # Existing topics are named per region in the config; the generic template can
            # only make its own topic in each account (README "Path 3").
            AlarmNotifications(self, "AlarmNotifications", emails=notifications.emails)
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)


class StackSetAssetsStack(Stack):
    """The member stack's Lambda code bucket of one region, readable by the organization."""

    def __init__(
        self, scope: Construct, *, plan: StackSetPlan, bucket: AssetBucketPlan, organization_id: str
    ) -> None:
        super().__init__(
            scope,
            bucket.stack_name,
            stack_name=bucket.stack_name,
            env=Environment(account=plan.administrator_account, region=bucket.region),
            description=f"Lambda code of the {plan.stack_set_name} StackSet's member stacks in "
            f"{bucket.region}",
        )
        readable = OrganizationReadableBucket(
            self, "AssetBucket", bucket_name=bucket.bucket_name, organization_id=organization_id
        )
        CfnOutput(self, "AssetBucketName", value=readable.bucket.bucket_name)


class LineageSharingStackSetStack(Stack):
    """The service-managed StackSet; `member` is its template, `synthesizer` writes the
    manifest that publishes the template's Lambda code to every region's bucket."""

    def __init__(
        self,
        scope: Construct,
        *,
        plan: StackSetPlan,
        config: SharingConfig,
        asset_stacks: list[StackSetAssetsStack],
    ) -> None:
        super().__init__(
            scope,
            plan.stack_name,
            stack_name=plan.stack_name,
            env=Environment(account=plan.administrator_account, region=plan.region),
            description=f"StackSet {plan.stack_set_name}: SageMaker lineage sharing in every "
            "account of the target OUs, accounts that join later included",
        )
        assert config.rollout is not None and config.rollout.stack_set is not None
        # The API's member names (StackSetOperationPreferences) as the L1's keyword arguments.
        preferences = {
            re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower(): value
            for name, value in config.rollout.stack_set.operation_preferences.cfn_properties().items()
        }
        self.synthesizer_for_member = StackSetTemplateSynthesizer(
            parent=self, bucket_prefix=plan.bucket_prefix, regions=plan.regions
        )
        self.member = StackSetMemberStack(
            self, plan=plan, config=config, synthesizer=self.synthesizer_for_member
        )
        stack_set = cloudformation.CfnStackSet(
            self,
            "StackSet",
            stack_set_name=plan.stack_set_name,
            description="SageMaker lineage sharing with the organization (lineage-sharing app)",
            permission_model="SERVICE_MANAGED",
            call_as=plan.call_as,
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True,
                retain_stacks_on_account_removal=plan.retain_stacks_on_account_removal,
            ),
            # The member stack's roles have generated names.
            capabilities=["CAPABILITY_IAM"],
            # StackSets queues operations (an update while auto-deployment runs) instead of
            # failing them.
            managed_execution={"Active": True},
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                **preferences
            )
            if preferences
            else None,
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(plan.organizational_unit_ids)
                    ),
                    regions=list(plan.regions),
                )
            ],
            template_url=self.synthesizer_for_member.template_url,
        )
        for assets in asset_stacks:
            # The buckets first: the member stacks read their code from them.
            self.add_stack_dependency(assets)
        CfnOutput(self, "StackSetId", value=stack_set.attr_stack_set_id)
