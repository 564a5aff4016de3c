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
    "unknown region": (set_account(0, region="us-east-7"), ["accounts[0].region:", "'us-east-7'"]),
    "unknown region in a list": (
        set_account(2, regions=["us-east-1", "eu-west-9"]),
        ["accounts[2].regions[1]", "'eu-west-9'"],
    ),
    "no region at all": (
        lambda raw: raw["accounts"][0].pop("region"),
        ["accounts[0]: give `region: <name>` or `regions: [<name>, ...]`"],
    ),
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
    assert "accounts[0].id" in message and "accounts[0].region:" in message and "typo" in message


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


# ---------------------------------------------------------------------------- every problem at once
def test_field_and_cross_field_problems_come_in_one_run():
    raw = with_changes(set_account(0, id="123"))  # a field error ...
    raw["accounts"][2]["name"] = "staging"  # ... and a duplicate name, a cross-field one
    raw["topology"] = {"type": "edges", "edges": {"training": ["prod"]}}  # and an unknown consumer
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    lines = str(raised.value).splitlines()[1:]
    assert any(line.startswith("  - accounts[0].id:") for line in lines)
    assert any(
        "accounts[2].name: account name 'staging' is listed more than once" in line
        for line in lines
    )
    assert any("topology.edges.training: consumer 'prod'" in line for line in lines)


def test_an_invalid_field_does_not_cause_a_false_cross_field_problem():
    # production's region is wrong, but its name is fine: the edge naming it is not "unknown",
    # and no "no region in common" is guessed from the region that failed.
    raw = with_changes(set_account(2, regions=["mars-1"]))
    raw["topology"] = {"type": "edges", "edges": {"training": ["production"]}}
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    problems = str(raised.value).splitlines()[1:]
    assert len(problems) == 1 and "accounts[2].regions[0]" in problems[0]


@pytest.mark.parametrize(
    "change, suggestion",
    [
        (set_account(1, nmae="x"), "accounts[1].nmae: unknown key; did you mean 'name'?"),
        (
            lambda raw: raw.update(share_nmae="x"),
            "share_nmae: unknown key; did you mean 'share_name'?",
        ),
        (
            lambda raw: raw.update(topology={"type": "mesh", "per_regoin": True}),
            "topology.per_regoin: unknown key; did you mean 'per_region'?",
        ),
        (lambda raw: raw.update(topology={"type": "meshh"}), "did you mean 'mesh'?"),
        (
            lambda raw: raw.update(topology={"type": "edges", "edges": {"training": ["stagin"]}}),
            "consumer 'stagin' is not the name of a listed account; did you mean 'staging'?",
        ),
        (set_account(0, region="us-est-1"), "'us-east-1'"),
    ],
    ids=["account key", "top-level key", "topology key", "topology type", "account name", "region"],
)
def test_unknown_names_get_a_suggestion(change, suggestion):
    with pytest.raises(ConfigError) as raised:
        parse_config(with_changes(change))
    assert suggestion in str(raised.value)


def test_unknown_account_key_lists_the_allowed_keys_as_written_in_a_file():
    with pytest.raises(
        ConfigError,
        match=r"allowed here: id, name, regions, wave, query_role, outside_organization, region\)",
    ):
        parse_config(with_changes(set_account(0, owner="ml-team")))


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda raw: raw.update(sweep_interval_minutes=720), "expire 12 hours after they are sent"),
        (lambda raw: raw.update(sweep_interval_minutes=1), "only adds API calls"),
        (set_account(0, name="ml_training"), "CloudFormation stack names"),
        (lambda raw: raw.update(log_retention_days=10), "CloudWatch Logs accepts only"),
        (lambda raw: raw.update(tags={f"k{i}": "v" for i in range(41)}), "at most 50"),
        (lambda raw: raw.update(share_name="a b"), "ram:ResourceShareName"),
    ],
    ids=["interval too long", "interval too short", "name", "retention", "tags", "share name"],
)
def test_a_broken_bound_says_why_it_exists(change, why):
    with pytest.raises(ConfigError) as raised:
        parse_config(with_changes(change))
    assert "(why: " in str(raised.value) and why in str(raised.value)


# ---------------------------------------------------------------------------- mesh per region
TWO_REGIONS = {
    "accounts": [
        {"id": "111111111111", "name": "training-us", "region": "us-east-1"},
        {"id": "222222222222", "name": "prod-us", "region": "us-east-1"},
        {"id": "333333333333", "name": "training-eu", "region": "eu-west-1"},
        {"id": "444444444444", "name": "prod-eu", "regions": ["eu-west-1", "us-east-1"]},
    ],
    "topology": {"type": "mesh"},
}


def test_a_mesh_across_regions_is_refused_with_the_per_region_hint():
    with pytest.raises(ConfigError) as raised:
        parse_config(TWO_REGIONS)
    message = str(raised.value)
    assert "training-us -> training-eu have no region in common" in message
    assert "`topology: {type: mesh, per_region: true}`" in message
    assert "training-eu -> training-us" not in message  # one line per pair of accounts


def test_a_mesh_per_region_shares_within_each_region_only():
    config = parse_config({**TWO_REGIONS, "topology": {"type": "mesh", "per_region": True}})
    pairs = {(p.name, c.name) for p, c in config.edges()}
    assert ("training-us", "training-eu") not in pairs
    assert {
        ("training-us", "prod-us"),
        ("training-eu", "prod-eu"),
        ("prod-eu", "training-us"),
    } <= pairs
    plans = {plan.stack_name: plan for plan in plan_stacks(config)}
    assert sorted(plans) == [
        "LineageSharing-prod-eu-eu-west-1",
        "LineageSharing-prod-eu-us-east-1",
        "LineageSharing-prod-us-us-east-1",
        "LineageSharing-training-eu-eu-west-1",
        "LineageSharing-training-us-us-east-1",
    ]
    assert plans["LineageSharing-training-eu-eu-west-1"].consumers == ("444444444444",)


def test_a_mesh_per_region_refuses_an_account_nobody_shares_a_region_with():
    raw = copy.deepcopy(TWO_REGIONS)
    raw["topology"] = {"type": "mesh", "per_region": True}
    raw["accounts"].append({"id": "555555555555", "name": "lonely", "region": "ap-south-1"})
    with pytest.raises(ConfigError, match=r"accounts\[4\]: lonely has no partner"):
        parse_config(raw)


def test_a_cross_field_problem_of_a_valid_file_is_reported_once():
    raw = with_changes(set_account(1, name="training"))
    with pytest.raises(ConfigError) as raised:
        parse_config(raw)
    problems = str(raised.value).splitlines()[1:]
    assert problems == [
        "  - accounts[1].name: account name 'training' is listed more than once (first at accounts[0])"
    ]
