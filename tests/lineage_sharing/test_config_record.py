"""cdk.out says which config it was synthesized from; a command given another refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from config.model import parse_config
from lineage_sharing.cloud_assembly import InputError, load_inputs
from lineage_sharing.config_record import (
    METADATA_TYPE,
    ConfigRecord,
    config_digest,
    read_config_records,
)
from tests.conftest import HUB_AND_SPOKE

STACK = "LineageSharing-governance-eu-west-1"


def write_assembly(cdk_out: Path, metadata: list[dict] | None, *, inline: bool = False) -> Path:
    """A minimal cloud assembly: one stack artifact, with or without the config record."""
    cdk_out.mkdir(parents=True, exist_ok=True)
    artifact = {
        "type": "aws:cloudformation:stack",
        "environment": "aws://444444444444/eu-west-1",
        "properties": {"templateFile": f"{STACK}.template.json"},
    }
    entries = {f"/{STACK}": metadata or []}
    if inline:
        artifact["metadata"] = entries
    else:
        artifact["additionalMetadataFile"] = f"{STACK}.metadata.json"
        (cdk_out / f"{STACK}.metadata.json").write_text(json.dumps(entries))
    (cdk_out / f"{STACK}.template.json").write_text(json.dumps({"Resources": {}}))
    (cdk_out / "manifest.json").write_text(json.dumps({"artifacts": {STACK: artifact}}))
    return cdk_out


@pytest.fixture
def hub_config(tmp_path) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(HUB_AND_SPOKE))
    return path


def recorded(path: Path) -> list[dict]:
    record = ConfigRecord.of(parse_config(HUB_AND_SPOKE), path)
    return [{"type": METADATA_TYPE, "data": record.to_metadata()}]


@pytest.mark.parametrize("inline", [False, True], ids=["metadata file", "inline metadata"])
def test_the_record_is_read_from_either_place_cdk_puts_metadata(tmp_path, hub_config, inline):
    cdk_out = write_assembly(tmp_path / "cdk.out", recorded(hub_config), inline=inline)
    [(name, record)] = read_config_records(cdk_out).items()
    assert name == STACK and record.path == str(hub_config)
    assert record.sha256 == config_digest(parse_config(HUB_AND_SPOKE))


def test_the_same_config_is_accepted_and_the_record_supplies_the_default(tmp_path, hub_config):
    cdk_out = write_assembly(tmp_path / "cdk.out", recorded(hub_config))
    assert load_inputs(str(hub_config), cdk_out).config_path == str(hub_config)
    assert load_inputs(None, cdk_out).config_path == str(hub_config)


def test_a_config_edited_since_the_synth_is_refused(tmp_path, hub_config):
    cdk_out = write_assembly(tmp_path / "cdk.out", recorded(hub_config))
    hub_config.write_text(yaml.safe_dump({**HUB_AND_SPOKE, "sweep_interval_minutes": 15}))
    with pytest.raises(InputError, match=f"{hub_config} changed since cdk.out was synthesized"):
        load_inputs(str(hub_config), cdk_out)


def test_a_comment_or_reordered_key_does_not_make_cdk_out_stale(tmp_path, hub_config):
    cdk_out = write_assembly(tmp_path / "cdk.out", recorded(hub_config))
    reordered = dict(reversed(list(HUB_AND_SPOKE.items())))
    hub_config.write_text("# a note\n" + yaml.safe_dump(reordered, sort_keys=False))
    assert load_inputs(str(hub_config), cdk_out).record.path == str(hub_config)


def test_a_cloud_assembly_without_a_record_is_refused(tmp_path, hub_config):
    cdk_out = write_assembly(tmp_path / "cdk.out", None)
    with pytest.raises(InputError, match=r"does not say which config .* run `npx cdk synth -c"):
        load_inputs(str(hub_config), cdk_out)
    with pytest.raises(InputError, match="pass --config"):
        load_inputs(None, cdk_out)


def test_the_cdk_app_records_its_config_on_every_stack(example_app):
    records = read_config_records(example_app.outdir)
    assert len(records) == 3
    assert {record.sha256 for record in records.values()} == {config_digest(example_app.config)}
    template = (example_app.outdir / "LineageSharing-training-us-east-1.template.json").read_text()
    assert METADATA_TYPE not in template  # deploying the record changes nothing
