"""Synthesized variants of the example config for the simulation scenarios (once per session).

Every scenario deploys what `cdk synth` would produce: templates are built from configs here,
and the rollout driver reads each handler's input from them.
"""

from __future__ import annotations

import pytest

from lineage_sharing.cloud_assembly import SynthesizedStack
from simulation.estate import SimulatedEstate
from tests.simulation.scenario_configs import (
    EXAMPLE,
    NAMES,
    OUTSIDER,
    PRODUCTION,
    REGION,
    RESEARCH,
    STAGING,
    TRAINING,
    example_with,
    stacks_of,
    wide_hub_config,
)


@pytest.fixture(scope="session")
def mesh3(example_app) -> dict[str, SynthesizedStack]:
    return stacks_of(example_app)


@pytest.fixture(scope="session")
def mesh4(synthesize_config) -> dict[str, SynthesizedStack]:
    accounts = [*EXAMPLE["accounts"], {"id": RESEARCH, "name": "research", "region": REGION}]
    return stacks_of(synthesize_config(example_with(accounts=accounts)))


@pytest.fixture(scope="session")
def mesh2(synthesize_config) -> dict[str, SynthesizedStack]:
    """The example without production."""
    return stacks_of(synthesize_config(example_with(accounts=EXAMPLE["accounts"][:2])))


@pytest.fixture(scope="session")
def retagged(synthesize_config) -> dict[str, SynthesizedStack]:
    """The example with one more tag: an update that changes nothing but the share's tags."""
    return stacks_of(
        synthesize_config(example_with(tags={**EXAMPLE["tags"], "cost-center": "ml-4711"}))
    )


@pytest.fixture(scope="session")
def hub(synthesize_config) -> dict[str, SynthesizedStack]:
    """training is the hub and only consumes; staging and production only produce."""
    return stacks_of(
        synthesize_config(
            example_with(
                topology={"type": "hub-and-spoke", "hub": "training", "direction": "spokes-to-hub"}
            )
        )
    )


@pytest.fixture
def estate() -> SimulatedEstate:
    return SimulatedEstate.start([TRAINING, STAGING, PRODUCTION, RESEARCH, OUTSIDER], NAMES)


@pytest.fixture(scope="session")
def wide_hub(synthesize_config) -> dict[str, SynthesizedStack]:
    """training shares with 25 consumers: more than RAM's 20 pending invitations."""
    return stacks_of(synthesize_config(wide_hub_config(25)))
