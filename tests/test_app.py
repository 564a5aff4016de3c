"""app.py: refuses context keys it does not know, always says which config it used, and fails
a synthesis whose template would exceed a deploy-time limit."""

from __future__ import annotations

import dataclasses

import yaml
from aws_cdk import App

import app as cdk_app
from lineage_sharing import deploy_limits
from lineage_sharing.config_record import read_config_records

TWO_ACCOUNTS = {
    "accounts": [
        {"id": "111111111111", "name": "training", "region": "us-east-1"},
        {"id": "222222222222", "name": "staging", "region": "us-east-1"},
    ],
    "topology": {"type": "edges", "edges": {"training": ["staging"]}},
}


def run_app(tmp_path, context: dict) -> int:
    """What the CDK CLI's `-c KEY=VALUE` gives the app (it passes them in CDK_CONTEXT_JSON)."""
    return cdk_app.main(App(context=context, outdir=str(tmp_path / "cdk.out")))


def test_cdk_namespaced_context_keys_are_not_user_keys():
    context = {
        "@aws-cdk/core:enablePartitionLiterals": True,
        "aws:cdk:enable-path-metadata": True,
        "availability-zones:account=111111111111:region=us-east-1": ["us-east-1a"],
        "config": "x.yaml",
        "cfg": "x.yaml",
    }
    assert cdk_app.unknown_context_keys(context) == ["cfg"]


def test_a_mistyped_context_key_is_refused_before_anything_is_synthesized(
    monkeypatch, tmp_path, capsys
):
    code = run_app(tmp_path, {"cfg": "mine.yaml", "@aws-cdk/x:y": True})

    err = capsys.readouterr().err
    assert code == 1
    assert "unknown context key 'cfg'" in err
    assert "this app reads config, stacks, accounts, regions" in err
    assert not list((tmp_path / "cdk.out").glob("*.template.json"))


def test_the_app_says_which_config_it_used_and_records_it(monkeypatch, tmp_path, capsys):
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(TWO_ACCOUNTS))

    code = run_app(tmp_path, {"config": str(config)})

    assert code == 0
    assert f"lineage-sharing: 2 stacks from config {config}\n" in capsys.readouterr().err
    records = read_config_records(tmp_path / "cdk.out")
    assert {r.path for r in records.values()} == {str(config)}


def test_the_default_config_is_named_as_the_example(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cdk_app, "DEFAULT_CONFIG", tmp_path / "example.yaml")
    (tmp_path / "example.yaml").write_text(yaml.safe_dump(TWO_ACCOUNTS))
    monkeypatch.chdir(tmp_path)

    assert run_app(tmp_path, {}) == 0
    assert "2 stacks from config example.yaml (the example; pass -c config=PATH for yours)" in (
        capsys.readouterr().err
    )


def test_templates_within_every_limit_pass(example_app):
    assert cdk_app.refuse_what_would_not_deploy(example_app.outdir) == 0


def test_a_template_over_a_limit_fails_the_synthesis_naming_it(example_app, monkeypatch, capsys):
    strict = dataclasses.replace(deploy_limits.LAMBDA_ENVIRONMENT, maximum=10)
    monkeypatch.setattr(deploy_limits, "LAMBDA_ENVIRONMENT", strict)

    assert cdk_app.refuse_what_would_not_deploy(example_app.outdir) == 1

    err = capsys.readouterr().err
    assert "error: would not deploy: LineageSharing-" in err
    assert "Lambda environment variables, in all" in err and "EXCEEDED" in err
