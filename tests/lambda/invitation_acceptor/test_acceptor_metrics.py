"""The acceptor's CloudWatch metrics: the pure counts and the EMF document the edge prints
(runs reporting them: test_acceptor_handler)."""

from __future__ import annotations

import io
import json
import logging

from invitation_acceptor.decisions import RUN_METRICS, Outcome, Summary, Trigger
from invitation_acceptor.embedded_metrics import EmbeddedMetrics


def test_a_summary_counts_every_outcome_and_the_pending_invitations():
    summary = Summary(Trigger.SCHEDULE)
    for outcome in [Outcome.ACCEPTED, Outcome.ACCEPTED, Outcome.SKIPPED, Outcome.EXPIRED]:
        summary.count(outcome)

    assert summary.metrics(pending=4) == {
        "InvitationsAccepted": 2,
        "InvitationsAlreadyAccepted": 0,
        "InvitationsSkipped": 1,
        "InvitationsExpired": 1,
        "InvitationsFailed": 0,
        "InvitationsPending": 4,
    }
    assert tuple(summary.metrics(pending=4)) == RUN_METRICS


def test_the_edge_prints_one_embedded_metric_format_document_on_stdout(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    EmbeddedMetrics("LineageSharing-staging-Acceptor", clock=lambda: 1_700_000_000.5).emit(
        {"InvitationsAccepted": 1, "InvitationsPending": 3}
    )

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1  # one log event, one document
    document = json.loads(lines[0])
    # The EMF specification: metadata under _aws, dimension and metric values at the top level.
    assert document == {
        "_aws": {
            "Timestamp": 1_700_000_000_500,
            "CloudWatchMetrics": [
                {
                    "Namespace": "LineageSharing",
                    "Dimensions": [["FunctionName"]],
                    "Metrics": [
                        {"Name": "InvitationsAccepted", "Unit": "Count"},
                        {"Name": "InvitationsPending", "Unit": "Count"},
                    ],
                }
            ],
        },
        "FunctionName": "LineageSharing-staging-Acceptor",
        "InvitationsAccepted": 1,
        "InvitationsPending": 3,
    }
    # Not through logging: Lambda's JSON log format would nest it under "message".
    assert caplog.records == []


def test_the_edge_writes_to_the_stream_it_is_given():
    stream = io.StringIO()
    EmbeddedMetrics("fn", stream=stream, clock=lambda: 0).emit({"InvitationsFailed": 0})
    assert json.loads(stream.getvalue())["InvitationsFailed"] == 0
