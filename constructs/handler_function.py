"""A Python Lambda with its own log group, allowed to write only to that group.

Every handler of this app has this shape. The caller owns the execution role (two functions
may share one) and adds the AWS permissions its handler needs and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

LAMBDA_ASSETS = Path(__file__).resolve().parent.parent / "lambda"
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14
# Byte-identical assets across machines: never package caches or local test leftovers.
ASSET_EXCLUDES = ["__pycache__", "*.pyc", ".pytest_cache"]


RETENTION_BY_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
}


class HandlerFunction(Construct):
    """Function + log group with retention; the Lambda runtime writes JSON log lines."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        asset_folder: str,
        handler: str,
        description: str,
        timeout: Duration,
        log_retention: logs.RetentionDays,
        role: iam.Role,
        environment: Mapping[str, str] | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
    ) -> None:
        super().__init__(scope, id_)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.role = role
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid=f"WriteLogs{id_}",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=HANDLER_RUNTIME,
            code=lambda_.Code.from_asset(str(LAMBDA_ASSETS / asset_folder), exclude=ASSET_EXCLUDES),
            handler=handler,
            description=description,
            timeout=timeout,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            environment=dict(environment or {}),
            dead_letter_queue=dead_letter_queue,
        )
