"""The `lineage-sharing` command: every subcommand, its help, its inputs and its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from lineage_sharing import cli
from lineage_sharing.cli import main
from simulation.estate import SimulatedEstate
from simulation.rollout import deploy_all
from tests.conftest import HUB_AND_SPOKE
from tests.simulation.scenario_configs import NAMES

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CONFIG = "config/example.yaml"
SUBCOMMANDS = ("plan", "status", "graph", "simulate", "schema")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def example(example_app) -> list[str]:
    return ["--config", EXAMPLE_CONFIG, "--cdk-out", str(example_app.outdir)]


# ---------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_complete_help(command, capsys):
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exited.value.code == 0
    assert out.startswith(f"usage: lineage-sharing {command}")
    assert "examples:" in out and f"lineage-sharing {command}" in out.split("examples:")[1]
    if command != "schema":
        assert "--config" in out and "--cdk-out" in out


def test_the_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(f"    {command}  " in out for command in SUBCOMMANDS)


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "lineage-sharing"
    result = subprocess.run([script, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "usage: lineage-sharing" in result.stdout


def test_piping_into_head_ends_quietly(example_app):
    script = Path(sys.executable).parent / "lineage-sharing"
    reader, writer = os.pipe()
    process = subprocess.Popen(
        [script, "plan", "--config", EXAMPLE_CONFIG, "--cdk-out", str(example_app.outdir)],
        cwd=REPO,
        stdout=writer,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(writer)
    os.close(reader)  # the reader is gone before the command writes its first line
    _, err = process.communicate(timeout=60)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


# ---------------------------------------------------------------------------- inputs
def test_a_cloud_assembly_from_another_config_is_refused(example_app, tmp_path, capsys):
    other = tmp_path / "hub.yaml"
    other.write_text(yaml.safe_dump(HUB_AND_SPOKE))

    code, out, err = run(
        capsys, "plan", "--config", str(other), "--cdk-out", str(example_app.outdir)
    )

    assert code == 2 and out == ""
    assert f"cdk.out was synthesized from {REPO / EXAMPLE_CONFIG}" in err
    assert f"not from {other}" in err and f"npx cdk synth -c config={other}" in err


def test_without_config_the_one_cdk_out_was_synthesized_from_is_used(example_app, capsys):
    code, out, _ = run(capsys, "plan", "--cdk-out", str(example_app.outdir))
    assert code == 0
    assert out.startswith(f"config: {REPO / EXAMPLE_CONFIG} (sha256 ")


def test_a_missing_config_file_is_a_clear_error(example_app, capsys):
    code, _, err = run(
        capsys, "plan", "--config", "nope.yaml", "--cdk-out", str(example_app.outdir)
    )
    assert code == 2 and "nope.yaml: cannot read config file" in err


# ---------------------------------------------------------------------------- plan
def test_plan_prints_pasteable_commands_in_dependency_order(hub_app, tmp_path, capsys):
    config = tmp_path / "hub.yaml"
    config.write_text(yaml.safe_dump(HUB_AND_SPOKE))
    args = ["--config", str(config), "--cdk-out", str(hub_app.outdir)]

    code, out, _ = run(capsys, "plan", *args, "--profile", "governance=gov-admin")

    assert code == 0
    assert out.splitlines()[0].startswith(f"config: {config} (sha256 ")
    deploys = [line.strip() for line in out.splitlines() if "cdk deploy" in line]
    # governance only consumes: it goes first, so its acceptor hears the invitations.
    assert deploys[0] == (
        f"npx cdk deploy LineageSharing-governance-eu-west-1 -c config={config} --profile gov-admin"
        " -c stacks=LineageSharing-governance-eu-west-1"
    )
    assert {d.split()[3] for d in deploys[1:]} == {
        "LineageSharing-team-a-eu-west-1",
        "LineageSharing-team-b-eu-west-1",
    }
    assert "step 1 (any order within the step)" in out
    assert f"npx cdk bootstrap aws://444444444444/eu-west-1 -c config={config}" in out


def test_plan_profiles_from_a_pattern_and_bad_profile_arguments(example, capsys):
    code, out, _ = run(capsys, "plan", *example, "--profile-pattern", "ml-{name}")
    # The commands name the config as the app got it when cdk.out was synthesized.
    recorded = REPO / EXAMPLE_CONFIG
    assert code == 0
    assert (
        f"deploy LineageSharing-staging-us-east-1 -c config={recorded} --profile ml-staging" in out
    )

    code, _, err = run(capsys, "plan", *example, "--profile", "prod=x")
    assert code == 2 and "'prod' is neither the name nor the id of an account" in err
    code, _, err = run(capsys, "plan", *example, "--profile", "training")
    assert code == 2 and "expected ACCOUNT=PROFILE" in err


# ---------------------------------------------------------------------------- status
@pytest.fixture
def simulated_accounts(example_app, monkeypatch):
    """`status` with each account's clients from a simulated, deployed estate."""
    from lineage_sharing.cloud_assembly import read_cloud_assembly

    stacks = read_cloud_assembly(example_app.outdir)
    estate = SimulatedEstate.start(sorted({s.account for s in stacks}), NAMES)
    assert deploy_all(estate.rollout, stacks) == []
    estate.rollout.advance(timedelta(hours=1))
    built = []
    lock = threading.Lock()

    def clients(service, account, region):
        with lock:  # the simulation makes every client from one botocore session
            return estate.operator_client(service, account, region)

    def sessions(source, names):
        built.append(source)
        return clients

    monkeypatch.setattr(cli, "AccountSessions", sessions)
    return estate, built


def test_status_prints_the_table_and_exits_0_when_every_pair_reads(
    example, simulated_accounts, capsys
):
    code, out, err = run(capsys, "status", *example, "--role-name", "LineageSharingStatus")

    assert code == 0
    assert out.startswith("config: config/example.yaml (sha256 ")
    assert out.rstrip().endswith("OK: 6/6 pairs can read lineage")
    assert "config: config/example.yaml" in err  # said before the (long) checks begin
    [source] = simulated_accounts[1]
    assert source.role_name == "LineageSharingStatus"


def test_status_json_is_pure_json_on_stdout_and_exit_1_when_a_pair_cannot_read(
    example, simulated_accounts, tmp_path, capsys
):
    estate, _ = simulated_accounts
    share = next(
        d.share_physical_id for name, d in estate.rollout.deployed.items() if "staging" in name
    )
    estate.operator_client("ram", "222222222222", "us-east-1").delete_resource_share(
        resourceShareArn=share
    )
    picture = tmp_path / "mesh.dot"

    code, out, err = run(capsys, "status", *example, "--json", "--graph", str(picture))

    assert code == 1
    document = json.loads(out)
    assert document["config"]["path"] == EXAMPLE_CONFIG and len(document["config"]["sha256"]) == 64
    assert document["counts"] == {"readable": 4, "pending": 0, "failing": 2, "unknown": 0}
    assert f"graph of the mesh by status: {picture}" in err
    assert picture.read_text().count('label="failing"') == 2


def test_status_reads_as_the_query_roles_when_asked(
    example, simulated_accounts, monkeypatch, capsys
):
    estate, _ = simulated_accounts
    monkeypatch.setattr(
        cli,
        "client_with_credentials",
        lambda service, region, credentials: estate.world.client_for(
            service, credentials=credentials, region=region
        ),
    )

    code, out, _ = run(capsys, "status", *example, "--read-as-query-role", "--json")

    assert code == 0
    staging_reads = [
        p["read"] for p in json.loads(out)["pairs"] if p["consumer"]["account"] == "222222222222"
    ]
    assert len(staging_reads) == 2
    assert all(
        read.startswith("as LineageSharingQuery-us-east-1: DescribeContext")
        for read in staging_reads
    )


# ---------------------------------------------------------------------------- graph
def test_graph_without_status_draws_every_pair_planned(example, capsys):
    code, out, _ = run(capsys, "graph", *example)
    assert code == 0
    assert out.startswith("%% lineage sharing, planned (not checked); config: config/example.yaml")
    assert "flowchart LR" in out and out.count("-->|planned|") == 6


def test_graph_colors_pairs_from_a_status_json(example, simulated_example, tmp_path, capsys):
    status_json = tmp_path / "simulated.json"
    status_json.write_text(json.dumps(simulated_example))
    picture = tmp_path / "mesh.md"

    code, out, _ = run(
        capsys, "graph", *example, "--from-status", str(status_json), "--output", str(picture)
    )

    assert code == 0 and out.rstrip().endswith(f"wrote {picture}")
    text = picture.read_text()
    assert text.count("-->|readable|") == 6 and "```mermaid" in text


def test_graph_refuses_a_status_of_another_config(example, tmp_path, capsys):
    status_json = tmp_path / "other.json"
    status_json.write_text(json.dumps({"config": {"sha256": "0" * 64}, "pairs": []}))
    code, _, err = run(capsys, "graph", *example, "--from-status", str(status_json))
    assert code == 2 and "checked against another config (sha256 000000000000" in err


# ---------------------------------------------------------------------------- schema
def test_schema_prints_the_committed_schema(capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0
    assert out == (REPO / "config" / "schema.json").read_text()


def test_the_cli_layer_holds_no_library_code():
    """Reading the cloud assembly, checks, plans and pictures live in the package modules."""
    source = Path(cli.__file__).read_text()
    assert "get_paginator" not in source and "networkx" not in source and "flowchart" not in source
