"""The main job: the shipped example rolled out in the simulation, one row per pair."""

from __future__ import annotations

import copy
import dataclasses

from cli import simulate
from cli.cloud_assembly import read_cloud_assembly
from invitation_acceptor.decisions import ALLOW_LIST_SHA256_VARIABLE, allow_list_digest


def test_the_example_rolls_out_and_every_pair_reads_lineage(example_app, capsys):
    code = simulate.main(["--cdk-out", str(example_app.outdir)])

    out = capsys.readouterr().out
    assert code == 0, out
    rows = [
        line for line in out.splitlines() if line.startswith(("training", "staging", "production"))
    ]
    assert len(rows) == 6
    assert all("ACCEPTED" in row and "yes: DescribeContext" in row for row in rows)
    assert "OK: 6/6 pairs can read lineage, 0 failed deployments, 0 denied calls" in out


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


def test_missing_cloud_assembly_is_a_clear_error(tmp_path, capsys):
    assert simulate.main(["--cdk-out", str(tmp_path)]) == 1
    assert "run `make synth`" in capsys.readouterr().err


def test_producers_that_do_not_bootstrap_start_from_their_existing_lineage(hub_app):
    # hub_app: bootstrap_lineage_group false, spokes only produce, governance only consumes.
    report = simulate.simulate(read_cloud_assembly(hub_app.outdir), {})
    assert report.ok, simulate.render(report)
    assert {p.detail.split(";")[0] for p in report.pairs} == {
        "DescribeContext 444444444444-training-pipeline".replace("444444444444", account)
        for account in ("555555555555", "666666666666")
    }
