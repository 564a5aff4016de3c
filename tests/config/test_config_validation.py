"""Every invalid config fails with one message that names the field and the value."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from config.model import (
    ConfigError,
    SharingConfig,
    load_config,
    parse_config,
    plan_stacks,
)

VALID = {
    "accounts": [
        {"id": "111111111111", "name": "training", "region": "us-east-1"},
        {"id": "222222222222", "name": "staging", "region": "us-east-1"},
        {"id": "333333333333", "name": "production", "regions": ["us-east-1", "eu-west-1"]},
    ],
    "topology": {"type": "mesh"},
}


def with_changes(change) -> dict:
    raw = copy.deepcopy(VALID)
    change(raw)
    return raw


def set_account(index, **fields):
    return lambda raw: raw["accounts"][index].update(fields)


INVALID_CASES = {
    "id too short": (
        set_account(0, id="12345678901"),
        ["accounts[0].id", "'12345678901'", "12 digits"],
    ),
    "id too long": (set_account(0, id="1234567890123"), ["accounts[0].id", "'1234567890123'"]),
    "id with letters": (set_account(1, id="12345678901a"), ["accounts[1].id", "'12345678901a'"]),
    "id given as a number": (
        set_account(0, id=12345678901),
        ["accounts[0].id", "12345678901", "leading zeros"],
    ),
    "duplicate account id": (
        set_account(1, id="111111111111"),
        ["accounts", "'111111111111'", "more than once"],
    ),
    "duplicate account name": (set_account(1, name="training"), ["'training'", "more than once"]),
    "unknown region": (set_account(0, region="us-east-7"), ["accounts[0].regions", "'us-east-7'"]),
    "region and regions": (
        set_account(0, regions=["us-east-1"]),
        ["accounts[0]", "either 'region' or 'regions'"],
    ),
    "empty account list": (lambda raw: raw.update(accounts=[]), ["accounts", "empty"]),
    "a single account": (
        lambda raw: raw.update(accounts=raw["accounts"][:1]),
        ["accounts", "at least two accounts"],
    ),
    "sweep interval of 12 h": (
        lambda raw: raw.update(sweep_interval_minutes=720),
        ["sweep_interval_minutes", "720"],
    ),
    "sweep interval as text": (
        lambda raw: raw.update(sweep_interval_minutes="60"),
        ["sweep_interval_minutes", "'60'"],
    ),
    "unknown top-level key": (
        lambda raw: raw.update(sweep_intervall_minutes=30),
        ["sweep_intervall_minutes", "unknown key"],
    ),
    "unknown account key": (
        set_account(2, acount_id="x"),
        ["accounts[2].acount_id", "unknown key"],
    ),
    "unknown topology": (
        lambda raw: raw.update(topology={"type": "ring"}),
        ["topology", "'ring'"],
    ),
    "edge to itself": (
        lambda raw: raw.update(topology={"type": "edges", "edges": {"training": ["training"]}}),
        ["topology.edges.training", "itself"],
    ),
    "edge to unknown consumer": (
        lambda raw: raw.update(topology={"type": "edges", "edges": {"training": ["prod"]}}),
        ["topology.edges.training", "'prod'", "not the name of a listed account"],
    ),
    "edge from unknown producer": (
        lambda raw: raw.update(topology={"type": "edges", "edges": {"dev": ["training"]}}),
        ["topology.edges", "'dev'"],
    ),
    "unknown hub": (
        lambda raw: raw.update(topology={"type": "hub-and-spoke", "hub": "central"}),
        ["topology.hub", "'central'"],
    ),
    "pair without a common region": (
        set_account(0, region="eu-central-1"),
        ["training -> staging", "no region in common"],
    ),
    "bad account name": (set_account(0, name="ml training"), ["accounts[0].name", "'ml training'"]),
    "bad share name": (
        lambda raw: raw.update(share_name="lineage share!"),
        ["share_name", "'lineage share!'"],
    ),
    "bootstrap flag as text": (
        lambda raw: raw.update(bootstrap_lineage_group="yes"),
        ["bootstrap_lineage_group", "'yes'"],
    ),
    "log retention not allowed by CloudWatch": (
        lambda raw: raw.update(log_retention_days=10),
        ["log_retention_days", "10"],
    ),
    "missing topology": (lambda raw: raw.pop("topology"), ["topology", "missing"]),
}


@pytest.mark.parametrize(
    "change, expected_fragments", INVALID_CASES.values(), ids=INVALID_CASES.keys()
)
def test_invalid_config_is_rejected_naming_field_and_value(change, expected_fragments):
    with pytest.raises(ConfigError) as raised:
        parse_config(with_changes(change), source="accounts.yaml")
    message = str(raised.value)
    assert message.startswith("accounts.yaml: invalid configuration")
    for fragment in expected_fragments:
        assert fragment in message


def test_all_problems_are_reported_at_once():
    raw = with_changes(set_account(0, id="1", region="mars-1"))
    raw["typo"] = True
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    message = str(raised.value)
    assert "accounts[0].id" in message and "accounts[0].regions" in message and "typo" in message


def test_top_level_must_be_a_mapping():
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_config(["not", "a", "mapping"])


def test_unquoted_yaml_id_is_caught(tmp_path: Path):
    text = yaml.safe_dump(VALID).replace("'111111111111'", "011111111111")
    path = tmp_path / "accounts.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"accounts\[0\]\.id.*leading zeros"):
        load_config(path)


def test_missing_file_and_broken_yaml(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("accounts: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(broken)


def test_defaults():
    config = parse_config(VALID)
    assert config.share_name == "sm_lineage_sharing"
    assert config.sweep_interval_minutes == 60
    assert config.bootstrap_lineage_group is False
    assert config.tags == {}


def test_mesh_plans_one_stack_per_account_and_region():
    plans = {plan.stack_name: plan for plan in plan_stacks(parse_config(VALID))}
    # production is alone in eu-west-1: no partner there, so no stack there.
    assert sorted(plans) == [
        "LineageSharing-production-us-east-1",
        "LineageSharing-staging-us-east-1",
        "LineageSharing-training-us-east-1",
    ]
    training = plans["LineageSharing-training-us-east-1"]
    assert training.consumers == ("222222222222", "333333333333")
    assert training.producers == ("222222222222", "333333333333")


def test_edges_and_regions_limit_the_plan():
    raw = with_changes(
        lambda r: r.update(topology={"type": "edges", "edges": {"training": ["production"]}})
    )
    plans = {plan.stack_name: plan for plan in plan_stacks(parse_config(raw))}
    assert sorted(plans) == [
        "LineageSharing-production-us-east-1",
        "LineageSharing-training-us-east-1",
    ]
    assert plans["LineageSharing-training-us-east-1"].consumers == ("333333333333",)
    assert plans["LineageSharing-training-us-east-1"].producers == ()
    assert plans["LineageSharing-production-us-east-1"].producers == ("111111111111",)


@pytest.mark.parametrize(
    "direction, hub_consumes, hub_produces",
    [("spokes-to-hub", True, False), ("hub-to-spokes", False, True), ("both", True, True)],
)
def test_hub_and_spoke_directions(direction, hub_consumes, hub_produces):
    raw = with_changes(
        lambda r: r.update(
            topology={"type": "hub-and-spoke", "hub": "production", "direction": direction}
        )
    )
    config = parse_config(raw)
    hub_plan = next(
        p for p in plan_stacks(config) if p.stack_name == "LineageSharing-production-us-east-1"
    )
    assert bool(hub_plan.producers) is hub_consumes
    assert bool(hub_plan.consumers) is hub_produces
    spoke_pairs = {
        (p.name, c.name) for p, c in config.edges() if "production" not in (p.name, c.name)
    }
    assert spoke_pairs == set()


def test_example_config_is_a_three_account_mesh():
    config = load_config(Path(__file__).resolve().parents[2] / "config" / "example.yaml")
    assert isinstance(config, SharingConfig)
    assert len(config.accounts) == 3 and config.topology.type == "mesh"
    assert len(config.edges()) == 6


def test_cdk_app_writes_no_template_for_a_bad_config(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(with_changes(set_account(0, id="123"))))
    outdir = tmp_path / "cdk.out"
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, str(repo / "app.py")],
        cwd=repo,
        env={
            "PATH": "/usr/bin:/bin",
            "CDK_OUTDIR": str(outdir),
            "CDK_CONTEXT_JSON": f'{{"config": "{bad}"}}',
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "accounts[0].id" in result.stderr and "'123'" in result.stderr
    assert not list(outdir.glob("*.template.json"))
