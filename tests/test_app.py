"""app.py's last step: a synthesized template over a deploy-time limit fails the synthesis."""

from __future__ import annotations

import dataclasses

import app as cdk_app
from cli import deploy_limits


def test_templates_within_every_limit_pass(example_app):
    assert cdk_app.refuse_what_would_not_deploy(example_app.outdir) == 0


def test_a_template_over_a_limit_fails_the_synthesis_naming_it(example_app, monkeypatch, capsys):
    strict = dataclasses.replace(deploy_limits.LAMBDA_ENVIRONMENT, maximum=10)
    monkeypatch.setattr(deploy_limits, "LAMBDA_ENVIRONMENT", strict)

    assert cdk_app.refuse_what_would_not_deploy(example_app.outdir) == 1

    err = capsys.readouterr().err
    assert "error: would not deploy: LineageSharing-" in err
    assert "Lambda environment variables, in all" in err and "EXCEEDED" in err
