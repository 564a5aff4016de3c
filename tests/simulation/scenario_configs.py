"""Account ids and config variants the simulation scenarios share."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from cli.cloud_assembly import SynthesizedStack, read_cloud_assembly

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
    raw.update(changes)
    return raw


def stacks_of(app: Any) -> dict[str, SynthesizedStack]:
    """Synthesized stacks by account id (every variant here uses one region)."""
    return {stack.account: stack for stack in read_cloud_assembly(app.outdir)}
