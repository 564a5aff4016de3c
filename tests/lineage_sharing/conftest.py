"""The example rolled out in the simulation once per session, as `simulate --json` prints it."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from lineage_sharing.cli import main


@pytest.fixture(scope="session")
def simulated_example(example_app) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "simulate",
                "--config",
                "config/example.yaml",
                "--cdk-out",
                str(example_app.outdir),
                "--json",
            ]
        )
    assert code == 0, out.getvalue()
    return json.loads(out.getvalue())
