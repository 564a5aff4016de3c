"""Lambda entry: accept pending RAM invitations for lineage groups from configured producers.

Every trigger (a RAM "Resource Sharing State Change" event or the schedule) runs the same full
sweep: RAM delivers events on a best-effort basis and their detail names no invitation, so the
event only says "look now" and the invitation list is the source of truth.

One invitation failing does not stop the others; the run raises at the end if any failed, so
the asynchronous invocation is retried, then lands in the dead-letter queue, and the Errors
alarm fires. Every run that listed the invitations reports its counts as CloudWatch metrics
(embedded_metrics), failed runs included.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from invitation_acceptor import aws_edge
from invitation_acceptor.decisions import (
    ALLOW_LIST_PARAMETERS_VARIABLE,
    InvalidAllowList,
    Invitation,
    Outcome,
    SkipReason,
    Summary,
    Trigger,
    allow_list_from_parameters,
    allow_list_parameter_names,
    client_token_for,
    decide,
    outcome_of_error,
    pending_only,
    rejected_shares,
    screen_sender,
    trigger_of,
)
from invitation_acceptor.embedded_metrics import EmbeddedMetrics

logger = logging.getLogger(__name__)


class InvitationsFailed(RuntimeError):
    """At least one invitation could not be handled; raised after all others were."""


@dataclass(frozen=True)
class Dependencies:
    """What the handler talks to; tests and the offline simulation pass their own."""

    ram: Any
    allowed_producers: frozenset[str]
    # Where each run's counts go (`emit(counts)`); None: not reported (tests that don't look).
    metrics: Any = None


@functools.cache
def default_dependencies() -> Dependencies:
    # Built on the first invocation and kept for the life of the execution environment. A bad
    # allow-list raises here on every invocation (exceptions are not cached), before any call.
    return load_dependencies(
        os.environ,
        ram=aws_edge.create_ram_client(),
        ssm=aws_edge.create_ssm_client(),
        # Lambda sets the variable in every execution environment.
        metrics=EmbeddedMetrics(os.environ["AWS_LAMBDA_FUNCTION_NAME"]),
    )


def load_dependencies(
    environment: Mapping[str, str], *, ram: Any, ssm: Any, metrics: Any = None
) -> Dependencies:
    """Read the allow-list from the SSM parameters the environment names and check its digest."""
    names = allow_list_parameter_names(environment)
    values, missing = aws_edge.get_parameter_values(ssm, names)
    if missing:
        raise InvalidAllowList(
            f"SSM parameter(s) {', '.join(missing)} named by {ALLOW_LIST_PARAMETERS_VARIABLE} "
            "do not exist: deploy the stack again"
        )
    allowed = allow_list_from_parameters(values, environment)
    return Dependencies(ram=ram, allowed_producers=allowed, metrics=metrics)


def handle(event: Mapping[str, Any], context: Any, deps: Dependencies | None = None) -> dict:
    trigger = trigger_of(event)
    logger.info(
        "start", extra={"action": "start", "trigger": trigger.value, **_event_detail(event)}
    )
    try:
        deps = deps or default_dependencies()
    except Exception as error:
        logger.exception(
            "load_allow_list", extra={"action": "load_allow_list", "reason": _describe(error)}
        )
        raise
    summary = sweep(deps, trigger)
    if summary["failed"]:
        raise InvitationsFailed(
            f"{summary['failed']} invitation(s) could not be handled; summary: "
            f"{json.dumps(summary, sort_keys=True)}"
        )
    return summary


def sweep(deps: Dependencies, trigger: Trigger) -> dict:
    """List every received invitation and handle each pending one; return the summary."""
    summary = Summary(trigger)
    try:
        invitations = aws_edge.list_received_invitations(deps.ram)
    except Exception as error:
        logger.exception(
            "list_invitations", extra={"action": "list_invitations", "reason": _describe(error)}
        )
        raise
    pending = pending_only(invitations)
    rejected = rejected_shares(invitations)
    for invitation in pending:
        summary.count(handle_invitation(deps, invitation, rejected))
    if deps.metrics is not None:
        deps.metrics.emit(summary.metrics(pending=len(pending)))
    result = summary.as_dict()
    logger.info(
        "summary",
        extra={
            "action": "summary",
            **result,
            "invitations_listed": len(invitations),
            "invitations_pending": len(pending),
        },
    )
    return result


def handle_invitation(
    deps: Dependencies, invitation: Invitation, rejected: frozenset[str] = frozenset()
) -> Outcome:
    """Decide on one pending invitation and act on it: one RAM list and one accept at most."""
    resource_count: int | None = None
    try:
        decision = screen_sender(invitation, deps.allowed_producers, rejected)
        if decision is None:
            resources = aws_edge.list_pending_invitation_resources(deps.ram, invitation.arn)
            resource_count = len(resources)
            decision = decide(invitation, resources, deps.allowed_producers)
        if not decision.accept:
            if decision.reason == SkipReason.PREVIOUSLY_REJECTED.value:
                # Loud, so a person sees the producer keeps inviting (see the README).
                logger.warning("skip", extra=_decision_fields("skip", invitation, decision.reason))
                return Outcome.SKIPPED
            _log_decision("skip", invitation, decision.reason, resource_count=resource_count)
            return Outcome.SKIPPED
        aws_edge.accept_invitation(deps.ram, invitation.arn, client_token_for(invitation.arn))
    except ClientError as error:
        return _outcome_of_client_error(invitation, error)
    except Exception as error:
        # Not a RAM answer (no connection, an unexpected response...): this invitation failed,
        # the others still get their turn.
        logger.exception("failed", extra=_decision_fields("failed", invitation, _describe(error)))
        return Outcome.FAILED
    _log_decision("accept", invitation, decision.reason, resource_count=resource_count)
    return Outcome.ACCEPTED


def _outcome_of_client_error(invitation: Invitation, error: ClientError) -> Outcome:
    outcome, skip_reason = outcome_of_error(aws_edge.error_code(error))
    if outcome is Outcome.FAILED:
        logger.exception("failed", extra=_decision_fields("failed", invitation, _describe(error)))
    elif outcome is Outcome.SKIPPED:
        _log_decision("skip", invitation, skip_reason or _describe(error))
    elif outcome is Outcome.EXPIRED:
        # Only the producer can fix it (share again); its share manager re-invites by itself.
        logger.warning("expired", extra=_decision_fields("expired", invitation, _describe(error)))
    else:
        _log_decision(outcome.value, invitation, _describe(error))
    return outcome


def _log_decision(
    action: str, invitation: Invitation, reason: str, *, resource_count: int | None = None
) -> None:
    fields = _decision_fields(action, invitation, reason)
    if resource_count is not None:
        fields["resource_count"] = resource_count
    logger.info(action, extra=fields)


def _decision_fields(action: str, invitation: Invitation, reason: str) -> dict[str, Any]:
    return {
        "action": action,
        "invitation_arn": invitation.arn,
        "sender": invitation.sender,
        "resource_share_arn": invitation.resource_share_arn,
        "reason": reason,
    }


def _event_detail(event: Any) -> dict[str, Any]:
    # A RAM event's detail only has `event` and `status`: logged for context, never acted on.
    detail = event.get("detail") if isinstance(event, Mapping) else None
    if not isinstance(detail, Mapping):
        return {}
    return {f"ram_{key}": detail[key] for key in ("event", "status") if key in detail}


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{aws_edge.error_code(error)}: {aws_edge.error_message(error)}"
    return f"{type(error).__name__}: {error}"
