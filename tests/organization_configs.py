"""config/example-organization.yaml, with and without its account outside the organization,
synthesized once per session (through conftest's `synthesize_config`); import the fixtures."""

from __future__ import annotations

import pytest
import yaml

from tests.conftest import REPO_ROOT

ORGANIZATION_CONFIG = REPO_ROOT / "config" / "example-organization.yaml"
RAW = yaml.safe_load(ORGANIZATION_CONFIG.read_text())
OU = RAW["sharing"]["ou_arns"][0]
MANAGEMENT = "111111111111"
PARTNER = "999999999999"
MANAGEMENT_STACK = "LineageSharingOrganization-o-abc123defg"


def in_organization_only(raw: dict) -> dict:
    return {**raw, "accounts": [a for a in raw["accounts"] if not a.get("outside_organization")]}


@pytest.fixture(scope="session")
def organization_app(synthesize_config):
    """Every account in the organization: OU shares, no acceptors."""
    return synthesize_config(in_organization_only(RAW))


@pytest.fixture(scope="session")
def mixed_app(synthesize_config):
    """The example as shipped: partner is outside the organization."""
    return synthesize_config(RAW)
