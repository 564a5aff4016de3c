#!/usr/bin/env python3
"""The floor of the selective-synthesis benchmark: a CDK app with one stack and one Lambda.

Whatever any CDK app pays to synthesize (starting the JavaScript runtime, loading aws-cdk-lib,
staging one asset, the built-in template validation) with nothing of this project in it.
`bench/scale_bench.py` synthesizes it with the same CDK settings (cdk.json's context) as the
project's own app and reports the project's single-stack synthesis as a multiple of it.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import App, Environment, Stack
from aws_cdk import aws_lambda as lambda_

app = App()
stack = Stack(app, "FloorStack", env=Environment(account="111111111111", region="us-east-1"))
lambda_.Function(
    stack,
    "Function",
    runtime=lambda_.Runtime.PYTHON_3_14,
    handler="index.handle",
    code=lambda_.Code.from_asset(str(Path(__file__).resolve().parent / "handler")),
)
app.synth()
