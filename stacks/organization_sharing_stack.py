"""The management account's stack in organization mode: RAM sharing with AWS Organizations.

Deployed once, before any producer stack: RAM refuses organization and OU principals until the
management account has enabled sharing with AWS Organizations.
"""

from __future__ import annotations

from aws_cdk import Environment, Stack, Tags
from constructs import Construct

from config.model import SharingConfig
from lineage_constructs.handler_function import RETENTION_BY_DAYS
from lineage_constructs.organization_sharing import RamSharingWithOrganization


class OrganizationSharingStack(Stack):
    def __init__(self, scope: Construct, *, config: SharingConfig) -> None:
        sharing = config.sharing
        assert sharing.organization_arn and sharing.management_account_region
        name = sharing.management_stack_name
        super().__init__(
            scope,
            name,
            stack_name=name,
            env=Environment(
                account=sharing.management_account, region=sharing.management_account_region
            ),
            description=f"Enables AWS RAM sharing with AWS Organizations for "
            f"{sharing.organization_arn} (management account; lineage sharing, organization mode)",
        )
        RamSharingWithOrganization(
            self,
            "RamSharingWithOrganization",
            organization_arn=sharing.organization_arn,
            log_retention=RETENTION_BY_DAYS[config.log_retention_days],
        )
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
