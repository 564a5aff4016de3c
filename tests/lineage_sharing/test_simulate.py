"""The main job: the shipped example rolled out in the simulation, one row per pair."""

from __future__ import annotations

import copy
import dataclasses

from invitation_acceptor.decisions import ALLOW_LIST_SHA256_VARIABLE, allow_list_digest
from lineage_sharing import simulate
from lineage_sharing.cli import main
from lineage_sharing.cloud_assembly import read_cloud_assembly

EXAMPLE_CONFIG = "config/example.yaml"


def test_the_example_rolls_out_every_pair_reads_and_the_graph_is_drawn(
    example_app, tmp_path, capsys
):
    picture = tmp_path / "mesh.md"
    args = ["simulate", "--config", EXAMPLE_CONFIG, "--cdk-out", str(example_app.outdir)]

    code = main([*args, "--graph", str(picture)])

    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(f"config: {EXAMPLE_CONFIG} (sha256 ")
    rows = [
        line for line in out.splitlines() if line.startswith(("training", "staging", "production"))
    ]
    assert len(rows) == 6
    assert all("readable" in row and "ASSOCIATED (ACCEPTED)" in row for row in rows)
    assert all("yes: DescribeContext lineage-sharing-bootstrap" in row for row in rows)
    # make demo ends with the table's verdict and the picture's path
    last_lines = out.rstrip().splitlines()[-2:]
    assert last_lines == [
        "OK: 6/6 pairs can read lineage, 0 failed deployments, 0 denied calls",
        f"graph of the simulated mesh: {picture}",
    ]
    assert picture.read_text().count("-->|readable|") == 6


def test_simulate_json_has_every_pair_and_the_config(simulated_example):
    assert simulated_example["ok"] is True
    assert simulated_example["config"]["path"] == EXAMPLE_CONFIG
    assert simulated_example["counts"]["readable"] == 6
    assert simulated_example["failed_deployments"] == [] and simulated_example["denied_calls"] == []


def test_a_pair_that_cannot_read_fails_the_run_and_says_which(example_app):
    stacks = read_cloud_assembly(example_app.outdir)
    training = next(s for s in stacks if s.account == "111111111111")
    # A consumer whose acceptor does not trust staging: that one pair must show up as failing.
    # Its allow-list parameter and the digest in the function's environment agree, as a
    # deployment of such a config would write them.
    template = copy.deepcopy(training.template)
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::SSM::Parameter":
            properties["Value"] = "333333333333"
        variables = properties.get("Environment", {}).get("Variables", {})
        if ALLOW_LIST_SHA256_VARIABLE in variables:
            variables[ALLOW_LIST_SHA256_VARIABLE] = allow_list_digest(["333333333333"])
    stacks = [
        dataclasses.replace(training, template=template) if s is training else s for s in stacks
    ]

    report = simulate.simulate(stacks, {"111111111111": "training", "222222222222": "staging"})

    assert not report.ok
    failing = [(p.producer, p.consumer, p.invitation) for p in report.pairs if not p.readable]
    assert failing == [("staging (222222222222)", "training (111111111111)", "PENDING")]
    assert report.pairs[0].producer == "333333333333"  # no name given: the id alone
    assert "FAILED: 5/6 pairs can read lineage" in simulate.render(report)
    [stuck] = [p for p in report.pairs if not p.readable]
    assert stuck.state == "pending" and "allowed-producer-accounts SSM parameters" in stuck.fix


def test_missing_cloud_assembly_is_a_clear_error(tmp_path, capsys):
    code = main(["simulate", "--config", EXAMPLE_CONFIG, "--cdk-out", str(tmp_path)])
    assert code == 2
    assert "has no cloud assembly; run `npx cdk synth -c config=config/example.yaml`" in (
        capsys.readouterr().err
    )


def test_producers_that_do_not_bootstrap_start_from_their_existing_lineage(hub_app):
    # hub_app: bootstrap_lineage_group false, spokes only produce, governance only consumes.
    report = simulate.simulate(read_cloud_assembly(hub_app.outdir), {})
    assert report.ok, simulate.render(report)
    assert {p.detail.split(";")[0] for p in report.pairs} == {
        "DescribeContext 444444444444-training-pipeline".replace("444444444444", account)
        for account in ("555555555555", "666666666666")
    }


def test_organization_mode_rolls_out_from_the_templates_alone(mixed_app):
    """The organization, its OU and who is in it come from the templates: every pair reads,
    and only the pairs with the account outside the organization went through invitations."""
    stacks = read_cloud_assembly(mixed_app.outdir)
    names = {a.id: a.name for a in mixed_app.config.accounts}
    report = simulate.simulate(stacks, names)
    assert report.ok, simulate.render(report)
    assert len(report.pairs) == 6
    for pair in report.pairs:
        with_partner = "partner" in (pair.producer + pair.consumer)
        assert pair.invitation == ("ACCEPTED" if with_partner else "none"), pair
