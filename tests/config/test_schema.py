"""The committed JSON schema matches the models, and says what the models accept."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from config.schema import config_schema, schema_text

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((CONFIG_DIR / "schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def example() -> dict:
    return yaml.safe_load((CONFIG_DIR / "example.yaml").read_text())


def test_the_committed_schema_is_up_to_date():
    committed = (CONFIG_DIR / "schema.json").read_text()
    assert committed == schema_text(), "run `make schema` and commit config/schema.json"


def test_the_example_names_the_schema_for_editors():
    first_line = (CONFIG_DIR / "example.yaml").read_text().splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./schema.json"


def test_the_example_is_valid_under_the_schema(validator):
    assert list(validator.iter_errors(example())) == []


@pytest.mark.parametrize(
    "change",
    [
        lambda raw: raw["accounts"][0].update(nmae="x"),
        lambda raw: raw["accounts"][0].update(regions=["us-east-1"]),  # and region:
        lambda raw: raw["accounts"][0].pop("region"),
        lambda raw: raw["accounts"][0].update(region="us-east-7"),
        lambda raw: raw["accounts"][0].update(id=111111111111),
        lambda raw: raw.update(topology={"type": "ring"}),
        lambda raw: raw.update(sweep_interval_minutes=720),
    ],
    ids=[
        "typo",
        "region and regions",
        "no region",
        "unknown region",
        "unquoted id",
        "topology",
        "bound",
    ],
)
def test_what_the_models_refuse_the_schema_refuses_too(validator, change):
    raw = example()
    change(raw)
    assert list(validator.iter_errors(raw))


def test_the_schema_accepts_regions_lists_and_the_per_region_mesh(validator):
    raw = example()
    raw["accounts"][0] = {"id": "111111111111", "name": "training", "regions": ["us-east-1"]}
    raw["topology"] = {"type": "mesh", "per_region": True}
    assert list(validator.iter_errors(raw)) == []


def test_descriptions_say_why_a_bound_exists():
    sweep = config_schema()["properties"]["sweep_interval_minutes"]
    assert "expire 12 hours after they are sent" in sweep["description"]
