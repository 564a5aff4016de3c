"""Account ids and config variants the simulation scenarios share."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from lineage_sharing.cloud_assembly import SynthesizedStack, read_cloud_assembly

EXAMPLE = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "config" / "example.yaml").read_text()
)
TRAINING, STAGING, PRODUCTION, RESEARCH = (
    "111111111111",
    "222222222222",
    "333333333333",
    "444444444444",
)
OUTSIDER = "999999999999"  # an account no config names
REGION = "us-east-1"
NAMES = {TRAINING: "training", STAGING: "staging", PRODUCTION: "production", RESEARCH: "research"}


def example_with(**changes) -> dict:
    raw = copy.deepcopy(EXAMPLE)
    if "topology" in changes:
        # In another topology staging may receive nothing; its query role would be refused.
        for account in raw["accounts"]:
            account.pop("query_role", None)
    raw.update(changes)
    return raw


def stacks_of(app: Any) -> dict[str, SynthesizedStack]:
    """Synthesized stacks by account id (every variant here uses one region)."""
    return {stack.account: stack for stack in read_cloud_assembly(app.outdir)}


def wide_hub_config(consumers: int) -> dict:
    """One producer (the hub) sharing with more consumers than RAM's 20 pending invitations."""
    accounts = [{"id": TRAINING, "name": "training", "region": REGION}]
    accounts += [
        {"id": f"{700000000000 + n:012d}", "name": f"consumer-{n:02d}", "region": REGION}
        for n in range(1, consumers + 1)
    ]
    return example_with(
        accounts=accounts,
        topology={"type": "hub-and-spoke", "hub": "training", "direction": "hub-to-spokes"},
    )


def own_lineage_group(sagemaker: Any, account: str) -> str:
    """The account's own default lineage group: ListLineageGroups also lists groups shared to
    it, so the group is picked by the account in its ARN, never by position."""
    groups = sagemaker.list_lineage_groups()["LineageGroupSummaries"]
    [own] = [g["LineageGroupArn"] for g in groups if g["LineageGroupArn"].split(":")[4] == account]
    return own


def share_outsiders_lineage(estate: Any, consumer: str, context_name: str) -> str:
    """The unconfigured OUTSIDER creates a context (so its lineage group exists) and shares its
    group with `consumer` by hand; returns the context's ARN."""
    sagemaker = estate.operator_client("sagemaker", OUTSIDER, REGION)
    arn = sagemaker.create_context(
        ContextName=context_name, ContextType="Pipeline", Source={"SourceUri": "s3://outsider"}
    )["ContextArn"]
    estate.operator_client("ram", OUTSIDER, REGION).create_resource_share(
        name=f"{context_name}-share",
        resourceArns=[own_lineage_group(sagemaker, OUTSIDER)],
        principals=[consumer],
    )
    return arn
