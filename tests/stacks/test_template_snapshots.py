"""Snapshot of every synthesized template, for infrastructure reviews.

Asset hashes are masked: editing a handler changes its asset hash, and that alone must not
rewrite every stack's snapshot. Update on purpose with: pytest --snapshot-update
"""

from __future__ import annotations

import json
import re

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def masked(template: dict) -> dict:
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.fixture
def snapshot_json(snapshot):
    return snapshot.use_extension(JSONSnapshotExtension)


EXAMPLE_STACKS = [
    "LineageSharing-training-us-east-1",
    "LineageSharing-staging-us-east-1",
    "LineageSharing-production-us-east-1",
]
HUB_STACKS = [
    "LineageSharing-governance-eu-west-1",
    "LineageSharing-team-a-eu-west-1",
    "LineageSharing-team-b-eu-west-1",
]


@pytest.mark.parametrize("stack_name", EXAMPLE_STACKS)
def test_example_stack_snapshot(example_app, snapshot_json, stack_name):
    assert masked(example_app.templates[stack_name]) == snapshot_json


@pytest.mark.parametrize("stack_name", HUB_STACKS)
def test_hub_and_spoke_stack_snapshot(hub_app, snapshot_json, stack_name):
    assert masked(hub_app.templates[stack_name]) == snapshot_json


def test_snapshots_cover_every_stack(example_app, hub_app):
    assert sorted(example_app.templates) == sorted(EXAMPLE_STACKS)
    assert sorted(hub_app.templates) == sorted(HUB_STACKS)


def test_masking_leaves_no_asset_hash(example_app):
    text = json.dumps(masked(example_app.templates[EXAMPLE_STACKS[0]]))
    assert "<asset-hash>" in text
    assert not ASSET_HASH.search(text)
