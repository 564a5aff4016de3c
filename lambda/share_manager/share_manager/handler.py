"""CDK Provider framework entry points for Custom::LineageGroupShare, and its schedule.

on_event starts the work (create the share, or bootstrap the lineage group; refuse renames;
replace a share that is gone, FAILED or cannot share the lineage group; update tags; delete).
is_complete is polled by the framework until the share is ACTIVE, RAM reports the lineage group
ASSOCIATED with it, and its principal associations match the configured principals; every poll
recomputes from what RAM reports, so polls are idempotent and nothing ever sleeps. reconcile
runs on a schedule between deployments: it re-sends invitations that expired or failed and
invites principals the pending-invitation quota held back, so neither waits for the next
`cdk deploy`; each such run reports what it did as CloudWatch metrics (embedded_metrics).

Every share carries tags naming its custom resource (stack id, logical id): a share created by
an attempt whose answer was lost is found again instead of duplicated, and a Delete after a
failed or timed-out Create (physical id = RequestId) still deletes it.

Return a dict to succeed, raise to fail: the framework reports the exception message to
CloudFormation.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from share_manager import aws_edge
from share_manager.decisions import (
    GONE_SHARE_STATUSES,
    PRINCIPALS_TAG,
    QUOTA_EXCEEDED_ERROR,
    SHARE_FAILED,
    Caller,
    ExternalPrincipalsChange,
    LineageGroup,
    PrincipalAssociation,
    PrincipalPlan,
    ResourceShare,
    ShareProperties,
    ShareReadiness,
    ShareRequestRefused,
    caller_from_function_arn,
    client_token,
    initial_principals,
    is_share_arn,
    lineage_group_association,
    lineage_group_not_shared_message,
    lineage_group_readiness,
    no_lineage_group_message,
    owner_tags,
    parse_share_properties,
    plan_external_principals_change,
    plan_principal_changes,
    plan_tag_changes,
    principals_digest,
    rename_refused_message,
    select_own_lineage_group,
    share_readiness,
    shares_to_adopt,
    tags_for_share,
    unusable_share_message,
    within_invitation_quota,
)
from share_manager.embedded_metrics import EmbeddedMetrics

logger = logging.getLogger(__name__)

CREATE, UPDATE, DELETE = "Create", "Update", "Delete"
# on_event's answer to an Update that had to replace the share (the framework spreads it over
# is_complete's event): is_complete deletes that new share if the update then fails, because
# CloudFormation rolls back to the physical id it knew and would never delete the new one.
CREATED_SHARE_KEY = "CreatedResourceShareArn"


@dataclass(frozen=True)
class Dependencies:
    """What the handler talks to; tests and the offline simulation pass their own."""

    ram: Any
    sagemaker: Any
    now: Callable[[], datetime]
    # Only the schedule reads the stack's template and reports metrics (`emit(counts)`; None:
    # not reported).
    cloudformation: Any = None
    metrics: Any = None


@functools.cache
def default_dependencies() -> Dependencies:
    # Built on first use and kept for the life of the Lambda execution environment.
    ram, sagemaker, cloudformation = aws_edge.create_clients()
    return Dependencies(
        ram=ram,
        sagemaker=sagemaker,
        cloudformation=cloudformation,
        now=lambda: datetime.now(UTC),
        # Lambda sets the variable in every execution environment.
        metrics=EmbeddedMetrics(os.environ["AWS_LAMBDA_FUNCTION_NAME"]),
    )


@dataclass(frozen=True)
class ShareRequest:
    """One CloudFormation request as this handler needs it."""

    request_type: str
    stack_id: str
    logical_resource_id: str
    request_id: str
    physical_resource_id: str | None
    raw_properties: Mapping[str, Any]
    previously_declared_tags: Mapping[str, str]
    caller: Caller
    created_share_arn: str | None = None

    @functools.cached_property
    def properties(self) -> ShareProperties:
        # Validated on first use, not up front: a Delete must succeed even when the properties
        # it carries are the invalid ones that made the Create fail.
        return parse_share_properties(self.raw_properties)

    @property
    def owner_tags(self) -> dict[str, str]:
        """The tags naming this custom resource on every share it creates."""
        return owner_tags(self.stack_id, self.logical_resource_id)

    def client_token(self, purpose: str, *details: str) -> str:
        return client_token(
            self.stack_id, self.logical_resource_id, self.request_id, purpose, *details
        )

    def log_fields(self) -> dict[str, Any]:
        return {
            "request_type": self.request_type,
            "logical_resource_id": self.logical_resource_id,
            "physical_resource_id": self.physical_resource_id,
            "share_name": self.raw_properties.get("ShareName"),
            "account": self.caller.account,
            "region": self.caller.region,
        }


# ---------------------------------------------------------------------------- entry points


def on_event(event: Mapping[str, Any], context: Any, deps: Dependencies | None = None) -> dict:
    return _run("on_event", event, context, deps, _ON_EVENT)


def is_complete(event: Mapping[str, Any], context: Any, deps: Dependencies | None = None) -> dict:
    return _run("is_complete", event, context, deps, _IS_COMPLETE)


def reconcile(event: Mapping[str, Any], context: Any, deps: Dependencies | None = None) -> dict:
    """Scheduled: bring the deployed share's principals in line with the configuration.

    The rule's input names the custom resource (stack id, logical id, deployed share); its
    properties are read from the stack's template, since 500 principals and 50 tags would not
    fit an EventBridge input (8,192 characters). The share itself is only created and deleted
    by CloudFormation.
    """
    scheduled = {**event, "RequestId": getattr(context, "aws_request_id", "schedule")}
    return _run("reconcile", scheduled, context, deps, _RECONCILE)


def _run(
    entry: str,
    event: Mapping[str, Any],
    context: Any,
    deps: Dependencies | None,
    steps: Mapping[str, Callable[[ShareRequest, Dependencies], dict]],
) -> dict:
    request_type = event.get("RequestType")
    log_fields: dict[str, Any] = {
        "entry": entry,
        "request_type": request_type,
        "logical_resource_id": event.get("LogicalResourceId"),
        "physical_resource_id": event.get("PhysicalResourceId"),
    }
    try:
        step = steps.get(str(request_type))
        if step is None:
            raise ValueError(f"unsupported RequestType {request_type!r}")
        request = _parse_request(event, context)
        return step(request, deps or default_dependencies())
    except ShareRequestRefused as refusal:
        logger.error("refuse", extra={**log_fields, "action": "refuse", "reason": str(refusal)})
        raise
    except Exception as error:
        logger.exception(
            "error", extra={**log_fields, "action": "error", "reason": _describe(error)}
        )
        raise


def _parse_request(event: Mapping[str, Any], context: Any) -> ShareRequest:
    old_properties = event.get("OldResourceProperties") or {}
    return ShareRequest(
        request_type=event["RequestType"],
        stack_id=event["StackId"],
        logical_resource_id=event["LogicalResourceId"],
        request_id=event["RequestId"],
        physical_resource_id=event.get("PhysicalResourceId"),
        raw_properties=event.get("ResourceProperties") or {},
        previously_declared_tags=dict(old_properties.get("Tags") or {}),
        caller=caller_from_function_arn(context.invoked_function_arn),
        created_share_arn=event.get(CREATED_SHARE_KEY),
    )


def _describe(error: Exception) -> str:
    if isinstance(error, ClientError):
        return f"{aws_edge.error_code(error)}: {error}"
    return f"{type(error).__name__}: {error}"


# ---------------------------------------------------------------------------- on_event


def _on_create(request: ShareRequest, deps: Dependencies) -> dict:
    group = _find_own_lineage_group(request, deps)
    if group is None:
        _bootstrap_lineage_group(request, deps)
        # No PhysicalResourceId yet: the framework uses the RequestId, and is_complete creates
        # the share once SageMaker has created the group.
        return {}
    try:
        share = _create_or_adopt_share(request, deps, group)
    except Exception:
        # The framework answers a Create that failed in on_event with a marker physical id and
        # never passes its rollback Delete on: a share made by an attempt whose answer was lost
        # (retries exhausted) would leak. Its tags find it.
        _discard_shares_of_this_resource(request, deps)
        raise
    return {"PhysicalResourceId": share.arn}


def _on_update(request: ShareRequest, deps: Dependencies) -> dict:
    share_arn = request.physical_resource_id
    if not is_share_arn(share_arn):
        raise ValueError(
            f"cannot update: physical resource id {share_arn!r} is not a RAM resource share ARN"
        )
    share = aws_edge.get_resource_share(deps.ram, share_arn)
    if share is None or share.status in GONE_SHARE_STATUSES:
        status = share.status if share else "unknown to RAM"
        return _replace_share(request, deps, share, share_arn, reason=f"share is {status}")
    if share.name != request.properties.share_name:
        raise ShareRequestRefused(rename_refused_message(share, request.properties.share_name))
    if share.status == SHARE_FAILED:
        # Waiting will not help and the rollback would meet the same share: a new share (new
        # physical id) heals the stack; CloudFormation then deletes the failed one.
        return _replace_share(request, deps, share, share_arn, unusable_share_message(share))
    association = lineage_group_association(
        aws_edge.list_resource_associations(deps.ram, share.arn), request.caller
    )
    if lineage_group_readiness(association) is ShareReadiness.UNUSABLE:
        reason = lineage_group_not_shared_message(share.arn, None, association)
        return _replace_share(request, deps, share, share_arn, reason)
    _apply_tag_changes(request, deps, share)
    # Same physical id: principals change in place, is_complete reconciles them.
    return {"PhysicalResourceId": share.arn}


def _on_delete(request: ShareRequest, deps: Dependencies) -> dict:
    share_arn = request.physical_resource_id
    if not is_share_arn(share_arn):
        # A Create that failed or timed out: the physical id is the RequestId, yet is_complete
        # may have created a share before it ended. Only that Create's shares carry these tags.
        return _delete_shares_of_failed_create(request, deps)
    _delete_share(request, deps, share_arn, request.client_token("delete"))
    return {}


_ON_EVENT = {CREATE: _on_create, UPDATE: _on_update, DELETE: _on_delete}


# ---------------------------------------------------------------------------- is_complete


def _complete_create_or_update(request: ShareRequest, deps: Dependencies) -> dict:
    if is_share_arn(request.physical_resource_id):
        try:
            return _reconcile_share(request, deps, request.physical_resource_id, group_arn=None)
        except Exception:
            if request.created_share_arn == request.physical_resource_id:
                _discard_share(request, deps, request.created_share_arn)
            raise
    if request.request_type != CREATE:
        raise ValueError(
            f"cannot reconcile: physical resource id {request.physical_resource_id!r} "
            "is not a RAM resource share ARN"
        )
    # Bootstrap path: on_event asked SageMaker to create the lineage group.
    group = _find_own_lineage_group(request, deps)
    if group is None:
        _log("wait", request, reason="lineage group not created yet")
        return _not_complete()
    # A share an earlier poll created is found by its tags: never a second one.
    share = _create_or_adopt_share(request, deps, group)
    try:
        return _reconcile_share(request, deps, share.arn, group.arn)
    except Exception:
        # CloudFormation never learns this share's ARN if we fail now, so its rollback could not
        # delete it: delete it here so nothing leaks.
        _discard_share(request, deps, share.arn)
        raise


def _complete_delete(request: ShareRequest, deps: Dependencies) -> dict:
    return {"IsComplete": True}


_IS_COMPLETE = {
    CREATE: _complete_create_or_update,
    UPDATE: _complete_create_or_update,
    DELETE: _complete_delete,
}


def _reconcile_share(
    request: ShareRequest, deps: Dependencies, share_arn: str, group_arn: str | None
) -> dict:
    share = aws_edge.get_resource_share(deps.ram, share_arn)
    if share is None:
        raise RuntimeError(f"RAM resource share {share_arn} does not exist (any more)")
    readiness = share_readiness(share.status)
    if readiness is ShareReadiness.UNUSABLE:
        raise RuntimeError(unusable_share_message(share))
    if readiness is ShareReadiness.WAIT:
        _log("wait", request, share_arn=share_arn, reason=f"share is {share.status}")
        return _not_complete()

    # The share's association of this account's lineage group also names the group.
    group_arn = _shared_lineage_group(request, deps, share_arn, group_arn)
    if group_arn is None:
        return _not_complete()

    desired = request.properties
    flag_change = plan_external_principals_change(
        desired.allow_external_principals, share.allow_external_principals
    )
    if flag_change is ExternalPrincipalsChange.ENABLE_FIRST:
        _set_allow_external_principals(request, deps, share, True)
        return _not_complete()

    now = deps.now()
    associations = aws_edge.list_principal_associations(deps.ram, share_arn)
    plan = _principal_plan(request, associations, now)
    if not plan.converged:
        plan = _apply_principal_plan(request, deps, share, plan, now)
        if plan.acts_or_waits:
            return _not_complete()
        # Consumers accept in their own time; the reconcile schedule invites the rest then.

    if flag_change is ExternalPrincipalsChange.DISABLE_LAST:
        _set_allow_external_principals(request, deps, share, False)
        return _not_complete()

    _log("complete", request, share_arn=share_arn, lineage_group_arn=group_arn)
    return {
        "IsComplete": True,
        "PhysicalResourceId": share_arn,
        "Data": {"LineageGroupArn": group_arn, "ResourceShareArn": share_arn},
    }


def _shared_lineage_group(
    request: ShareRequest, deps: Dependencies, share_arn: str, group_arn: str | None
) -> str | None:
    """The group's ARN once RAM reports it ASSOCIATED; None while ASSOCIATING; raises otherwise.

    The share can be ACTIVE while RAM failed to share the resource itself (e.g. the owning
    service refused to attach its policy): that is only visible on the resource association.
    """
    association = lineage_group_association(
        aws_edge.list_resource_associations(deps.ram, share_arn), request.caller, group_arn
    )
    readiness = lineage_group_readiness(association)
    if readiness is ShareReadiness.UNUSABLE:
        raise RuntimeError(lineage_group_not_shared_message(share_arn, group_arn, association))
    if readiness is ShareReadiness.WAIT:
        _log("wait", request, share_arn=share_arn, reason="lineage group is ASSOCIATING")
        return None
    return association.resource_arn if association is not None else None


def _reconcile_on_schedule(request: ShareRequest, deps: Dependencies) -> dict:
    share_arn = request.physical_resource_id
    if not is_share_arn(share_arn):
        # The rule exists before the share does only while the first deployment runs.
        _log("skip", request, share_arn=share_arn, reason="the share is not created yet")
        return {"share_arn": share_arn, "in_sync": False, "skipped": "not created yet"}
    share = aws_edge.get_resource_share(deps.ram, share_arn)
    if share is None or share_readiness(share.status) is ShareReadiness.UNUSABLE:
        successor = _replacing_share(request, deps, share_arn)
        if successor is not None:
            # An update replaced the share and deleted this one; RAM's event about the deletion
            # runs the rule whose input still names it until CloudFormation updates the rule.
            reason = f"replaced by {successor} in a deployment"
            _log("skip", request, share_arn=share_arn, reason=reason)
            return {"share_arn": share_arn, "in_sync": False, "skipped": "replaced"}
        # Raise, so the function's Errors alarm fires: only CloudFormation recreates a share.
        status = share.status if share else "unknown to RAM"
        raise RuntimeError(
            f"the lineage group share {share_arn} is {status}: consumers have lost access. "
            "Deploy this stack again with any changed property (e.g. a tag) to recreate it."
        )
    if share_readiness(share.status) is ShareReadiness.WAIT:
        _log("skip", request, share_arn=share_arn, reason=f"share is {share.status}")
        return {"share_arn": share_arn, "in_sync": False, "skipped": share.status}
    request = replace(
        request,
        raw_properties=aws_edge.get_resource_properties(
            deps.cloudformation, request.stack_id, request.logical_resource_id
        ),
    )
    # During an update (or its rollback) the template and the share may disagree for a while:
    # act only on the principal set the share says it was deployed for.
    if share.tags.get(PRINCIPALS_TAG) != principals_digest(request.properties.principals):
        reason = "the share was deployed for other principals: a deployment is under way"
        _log("skip", request, share_arn=share_arn, reason=reason)
        return {"share_arn": share_arn, "in_sync": False, "skipped": "deployment under way"}
    try:
        shared = _shared_lineage_group(request, deps, share_arn, group_arn=None)
    except RuntimeError as error:
        raise RuntimeError(
            f"{error}. Consumers cannot read this account's lineage; deploy this stack again "
            "with any changed property (e.g. a tag) to share the group through a new share."
        ) from error
    if not shared:
        return {"share_arn": share_arn, "in_sync": False, "skipped": "lineage group ASSOCIATING"}
    now = deps.now()
    associations = aws_edge.list_principal_associations(deps.ram, share.arn)
    plan = _principal_plan(request, associations, now)
    if plan.converged:
        _log("in_sync", request, share_arn=share.arn)
    else:
        plan = _apply_principal_plan(request, deps, share, plan, now)
    if deps.metrics is not None:
        deps.metrics.emit(plan.metrics())
    return {
        "share_arn": share.arn,
        "in_sync": plan.converged,
        "associated": list(plan.associate),
        "reinvited": [principal for principal, _ in plan.reinvite + plan.reassociate],
        "disassociated": list(plan.disassociate),
        "held_back": list(plan.held_back),
        "deferred": [principal for principal, _ in plan.deferred],
    }


def _replacing_share(request: ShareRequest, deps: Dependencies, share_arn: str) -> str | None:
    """A live share this custom resource created after `share_arn` (found by its tags)."""
    found = aws_edge.find_shares(deps.ram, None, request.owner_tags)
    live = [
        share.arn
        for share in found
        if share.arn != share_arn and share_readiness(share.status) is not ShareReadiness.UNUSABLE
    ]
    return live[0] if live else None


def _principal_plan(
    request: ShareRequest, associations: list[PrincipalAssociation], now: datetime
) -> PrincipalPlan:
    return within_invitation_quota(
        plan_principal_changes(request.properties.principals, associations, now),
        associations,
        now,
    )


_RECONCILE = {"Reconcile": _reconcile_on_schedule}


def _not_complete() -> dict:
    # The framework refuses Data while IsComplete is false.
    return {"IsComplete": False}


# ---------------------------------------------------------------------------- actions


def _find_own_lineage_group(request: ShareRequest, deps: Dependencies) -> LineageGroup | None:
    groups = aws_edge.list_lineage_groups(deps.sagemaker)
    group = select_own_lineage_group(groups, request.caller)
    _log(
        "find_group",
        request,
        lineage_group_arn=group.arn if group else None,
        groups_listed=len(groups),
    )
    return group


def _bootstrap_lineage_group(request: ShareRequest, deps: Dependencies) -> None:
    if not request.properties.bootstrap_lineage_group:
        raise ShareRequestRefused(no_lineage_group_message(request.caller))
    context_name = request.properties.bootstrap_context_name
    created = aws_edge.create_bootstrap_context(deps.sagemaker, context_name)
    _log(
        "bootstrap",
        request,
        context_name=context_name,
        reason="marker context created" if created else "marker context already existed",
    )


def _create_or_adopt_share(
    request: ShareRequest, deps: Dependencies, group: LineageGroup, replacing: str | None = None
) -> ResourceShare:
    """The share of this custom resource: one an earlier attempt created, else a new one.

    An attempt whose answer was lost (a Lambda timeout, a retried poll) may have created a share
    with another client token (the quota fallback uses a second one): its tags find it again.
    """
    found = aws_edge.find_shares(deps.ram, request.properties.share_name, request.owner_tags)
    existing = shares_to_adopt(found, request.owner_tags, replacing)
    if existing:
        share = existing[0]
        _log(
            "adopt_share",
            request,
            share_arn=share.arn,
            share_status=share.status,
            reason="an earlier attempt of this resource created it",
        )
        return share
    return _create_share(request, deps, group)


def _create_share(request: ShareRequest, deps: Dependencies, group: LineageGroup) -> ResourceShare:
    desired = request.properties
    invited_now, invited_later = initial_principals(desired.principals)
    create = functools.partial(
        aws_edge.create_resource_share,
        deps.ram,
        name=desired.share_name,
        resource_arn=group.arn,
        allow_external_principals=desired.allow_external_principals,
        tags=tags_for_share(desired, request.owner_tags),
    )
    try:
        share = create(principals=invited_now, client_token=request.client_token("create"))
    except ClientError as error:
        if aws_edge.error_code(error) != QUOTA_EXCEEDED_ERROR or not invited_now:
            raise
        # Pending invitations of the account's other shares fill the quota: create the share
        # without principals; is_complete and the schedule invite them as room frees up.
        # (A different token: the same one with other parameters would be refused.)
        _log("wait", request, principals=list(invited_now), reason=_describe(error))
        invited_now, invited_later = (), tuple(desired.principals)
        share = create(principals=(), client_token=request.client_token("create", "empty"))
    _log(
        "create_share",
        request,
        share_arn=share.arn,
        share_status=share.status,
        lineage_group_arn=group.arn,
        principals=list(invited_now),
        **({"held_back": list(invited_later)} if invited_later else {}),
    )
    return share


def _replace_share(
    request: ShareRequest, deps: Dependencies, old: ResourceShare | None, old_arn: str, reason: str
) -> dict:
    """A new share (new physical id) for one that is gone or cannot share the lineage group.

    The old one, if it still exists, is deleted at once rather than left to CloudFormation's
    cleanup: should this update fail, the rollback may not carry the old physical id (or may
    replace it again), and no cleanup would ever delete it. It gives no access anyway.
    """
    group = _find_own_lineage_group(request, deps)
    if group is None:
        raise ShareRequestRefused(no_lineage_group_message(request.caller))
    _log("replace_share", request, share_arn=old_arn, reason=reason)
    share = _create_or_adopt_share(request, deps, group, replacing=old_arn)
    if old is not None and old.status not in GONE_SHARE_STATUSES:
        _discard_share(request, deps, old_arn, reason=f"replaced by {share.arn}: {reason}")
    return {"PhysicalResourceId": share.arn, CREATED_SHARE_KEY: share.arn}


def _delete_share(request: ShareRequest, deps: Dependencies, share_arn: str, token: str) -> None:
    share = aws_edge.get_resource_share(deps.ram, share_arn)
    if share is None or share.status in GONE_SHARE_STATUSES:
        status = share.status if share else "unknown to RAM"
        _log("delete", request, reason=f"already gone ({status})", share_arn=share_arn)
        return
    try:
        deleted = aws_edge.delete_resource_share(deps.ram, share_arn, token)
    except ClientError as error:
        if aws_edge.error_code(error) != "InvalidStateTransitionException":
            raise
        # Someone else started deleting it between our read and our call.
        share = aws_edge.get_resource_share(deps.ram, share_arn)
        if share is not None and share.status not in GONE_SHARE_STATUSES:
            raise
        deleted = False
    _log("delete", request, reason="deleted" if deleted else "already gone", share_arn=share_arn)


def _discard_shares_of_this_resource(request: ShareRequest, deps: Dependencies) -> None:
    try:
        found = aws_edge.find_shares(deps.ram, request.properties.share_name, request.owner_tags)
    except Exception:
        logger.exception("delete", extra={**request.log_fields(), "action": "delete"})
        return
    for share in found:
        if share.status not in GONE_SHARE_STATUSES:
            _discard_share(request, deps, share.arn)


def _delete_shares_of_failed_create(request: ShareRequest, deps: Dependencies) -> dict:
    # The name may be the invalid one that failed the Create: the tags alone identify the shares.
    name = request.raw_properties.get("ShareName")
    found = aws_edge.find_shares(
        deps.ram, name if isinstance(name, str) else None, request.owner_tags
    )
    live = [share for share in found if share.status not in GONE_SHARE_STATUSES]
    if not live:
        _log("delete", request, reason="no share was created", share_arn=None)
    for share in live:
        _delete_share(request, deps, share.arn, request.client_token("delete", share.arn))
    return {}


def _apply_tag_changes(request: ShareRequest, deps: Dependencies, share: ResourceShare) -> None:
    plan = plan_tag_changes(
        tags_for_share(request.properties, request.owner_tags),
        request.previously_declared_tags,
        share.tags,
    )
    if plan.set_tags:
        aws_edge.tag_share(deps.ram, share.arn, plan.set_tags)
        _log("tag", request, share_arn=share.arn, tag_keys=sorted(plan.set_tags))
    if plan.remove_keys:
        aws_edge.untag_share(deps.ram, share.arn, plan.remove_keys)
        _log("untag", request, share_arn=share.arn, tag_keys=list(plan.remove_keys))


def _apply_principal_plan(
    request: ShareRequest,
    deps: Dependencies,
    share: ResourceShare,
    plan: PrincipalPlan,
    now: datetime,
) -> PrincipalPlan:
    """Carry out the plan; returns it as carried out (RAM's quota may hold principals back)."""
    # A token per poll: a retried call is not repeated, yet a later poll can associate a
    # principal again after a re-invitation disassociated it.
    poll = now.isoformat()
    for principal, reason in plan.reinvite + plan.reassociate:
        _log("reinvite", request, share_arn=share.arn, principals=[principal], reason=reason)
    if plan.disassociate:
        _log(
            "disassociate",
            request,
            share_arn=share.arn,
            principals=list(plan.disassociate),
            reason="no longer configured",
        )
    if plan.disassociate_now:
        principals = plan.disassociate_now
        token = request.client_token("disassociate", poll, *principals)
        with _wait_if_in_transition(request, share, "disassociate", principals):
            aws_edge.disassociate_principals(deps.ram, share.arn, principals, token)
    if plan.reassociate_now:
        plan = _reassociate(request, deps, share, plan, poll)
    if plan.associate:
        token = request.client_token("associate", poll, *plan.associate)
        try:
            with _wait_if_in_transition(request, share, "associate", plan.associate):
                aws_edge.associate_principals(deps.ram, share.arn, plan.associate, token)
            _log("associate", request, share_arn=share.arn, principals=list(plan.associate))
        except ClientError as error:
            if aws_edge.error_code(error) != QUOTA_EXCEEDED_ERROR:
                raise
            # Other shares of this account hold pending invitations too: wait for accepts.
            plan = replace(plan, associate=(), held_back=plan.associate + plan.held_back)
    if plan.held_back:
        _log(
            "wait",
            request,
            share_arn=share.arn,
            principals=list(plan.held_back),
            reason="pending-invitation quota full: invited once consumers accept earlier ones",
        )
    for principal, reason in plan.deferred:
        _log("wait", request, share_arn=share.arn, principals=[principal], reason=reason)
    if plan.waiting:
        _log(
            "wait",
            request,
            share_arn=share.arn,
            principals=[principal for principal, _ in plan.waiting],
            reason=", ".join(f"{principal} is {status}" for principal, status in plan.waiting),
        )
    return plan


def _reassociate(
    request: ShareRequest, deps: Dependencies, share: ResourceShare, plan: PrincipalPlan, poll: str
) -> PrincipalPlan:
    """Associate FAILED or SUSPENDED principals again, directly.

    RAM documents no rule for associating such a principal again. Should it refuse while the
    old association stands, disassociate instead: a later poll then associates the principal
    like a new one (the re-invite cap still holds, it is read from the failed association).
    """
    principals = plan.reassociate_now
    token = request.client_token("reassociate", poll, *principals)
    try:
        aws_edge.associate_principals(deps.ram, share.arn, principals, token)
    except ClientError as error:
        code = aws_edge.error_code(error)
        if code == QUOTA_EXCEEDED_ERROR:
            return replace(plan, reassociate=(), held_back=principals + plan.held_back)
        if code != "InvalidStateTransitionException":
            raise
        _log(
            "disassociate",
            request,
            share_arn=share.arn,
            principals=list(principals),
            reason=f"RAM refused to associate them again as they are: {_describe(error)}",
        )
        token = request.client_token("disassociate-failed", poll, *principals)
        with _wait_if_in_transition(request, share, "disassociate", principals):
            aws_edge.disassociate_principals(deps.ram, share.arn, principals, token)
        return plan
    _log("associate", request, share_arn=share.arn, principals=list(principals))
    return plan


@contextlib.contextmanager
def _wait_if_in_transition(
    request: ShareRequest, share: ResourceShare, action: str, principals: tuple[str, ...]
) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        if aws_edge.error_code(error) != "InvalidStateTransitionException":
            raise
        # E.g. associating a principal RAM is still disassociating: the next poll retries.
        _log(
            "wait",
            request,
            share_arn=share.arn,
            principals=list(principals),
            reason=f"{action} refused for now: {error}",
        )


def _set_allow_external_principals(
    request: ShareRequest, deps: Dependencies, share: ResourceShare, allow: bool
) -> None:
    aws_edge.set_allow_external_principals(
        deps.ram, share.arn, allow, request.client_token("update_share", str(allow))
    )
    _log(
        "update_share",
        request,
        share_arn=share.arn,
        reason=f"allowExternalPrincipals {share.allow_external_principals} -> {allow}",
    )


def _discard_share(
    request: ShareRequest,
    deps: Dependencies,
    share_arn: str,
    reason: str = "the request that created it did not succeed",
) -> None:
    """Best effort: delete a share CloudFormation will not delete, keeping the original error."""
    try:
        aws_edge.delete_resource_share(
            deps.ram, share_arn, request.client_token("discard", share_arn)
        )
    except Exception:
        # Keep the original failure as the one CloudFormation sees; this one is only logged.
        fields = {"action": "delete", "share_arn": share_arn, "reason": "could not delete it"}
        logger.exception("delete", extra={**request.log_fields(), **fields})
        return
    _log("delete", request, share_arn=share_arn, reason=reason)


def _log(action: str, request: ShareRequest, **fields: Any) -> None:
    logger.info(action, extra={**request.log_fields(), "action": action, **fields})
