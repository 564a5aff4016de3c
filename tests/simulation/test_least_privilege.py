"""Least privilege, proven on the synthesized templates rather than claimed.

One rollout exercises every path the handlers have in production (create with bootstrap,
accept, tag, untag, repair a share whose external-principals flag was changed by hand, add an
account late enough for its invitations to expire and be re-sent by the schedule, remove an
account, tear down, re-invite the only consumer of a share) while the IAM evaluator judges each
call against the role policies from the templates. Two properties must hold:
- every call a handler made was allowed (the policies are sufficient);
- every action a handler role is granted was used by some call (nothing is granted in vain).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from cli.cloud_assembly import ACCEPTOR_HANDLER, SHARE_ON_EVENT_HANDLER, SHARE_RECONCILE_HANDLER
from invitation_acceptor import handler as acceptor
from simulation.estate import SimulatedEstate
from simulation.iam import PolicyEvaluator, role_policies, simulated_role_arn
from simulation.rollout import deploy_all
from tests.simulation.scenario_configs import (
    NAMES,
    OUTSIDER,
    PRODUCTION,
    REGION,
    RESEARCH,
    STAGING,
    TRAINING,
    own_lineage_group,
)

# Granted so the Lambda service can act for the function (write its logs, send a failed
# asynchronous event to the dead-letter queue); handler code never calls them.
USED_BY_THE_LAMBDA_SERVICE = frozenset(
    {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
)


@pytest.fixture(scope="module")
def exercised(mesh3, retagged, mesh4, mesh2, hub) -> SimulatedEstate:
    estate = SimulatedEstate.start(NAMES.keys(), NAMES)
    rollout = estate.rollout
    deploy_all(rollout, list(mesh3.values()))  # bootstrap, create, accept
    rollout.advance(timedelta(hours=1))
    # Someone forbids external principals on a share by hand: the next update allows them again.
    drifted = rollout.deployed[mesh3[TRAINING].name].share_physical_id
    estate.operator_client("ram", TRAINING, REGION).update_resource_share(
        resourceShareArn=drifted, allowExternalPrincipals=False
    )
    deploy_all(rollout, list(retagged.values()))  # tag the shares
    deploy_all(rollout, list(mesh3.values()))  # untag them again
    # research joins, but deploys its own stack only after the invitations expired: the others'
    # schedules re-invite it (disassociate, associate), then it accepts.
    deploy_all(rollout, [stack for account, stack in mesh4.items() if account != RESEARCH])
    rollout.advance(timedelta(hours=14))
    rollout.deploy(mesh4[RESEARCH])
    rollout.advance(timedelta(hours=1))
    deploy_all(rollout, list(mesh2.values()))  # production and research leave: disassociate
    for stack in [*mesh2.values(), mesh4[RESEARCH], mesh3[PRODUCTION]]:
        rollout.destroy(stack.name)  # delete the shares
    # A share whose only consumer let its invitation expire: the schedule's re-invitation empties
    # the lineage group's policy and then creates it again.
    rollout.deploy(hub[STAGING])
    rollout.advance(timedelta(hours=14))
    rollout.deploy(hub[TRAINING])
    rollout.advance(timedelta(hours=1))
    return estate


def handler_roles(stacks) -> dict[str, tuple[str, PolicyEvaluator]]:
    """Role ARN -> (its handler, an evaluator holding just that role's synthesized policy)."""
    roles = {}
    for stack in stacks:
        policies = role_policies(stack)
        for handler in (SHARE_ON_EVENT_HANDLER, SHARE_RECONCILE_HANDLER, ACCEPTOR_HANDLER):
            logical_id = stack.handler_role_logical_id(handler)
            if logical_id is None:
                continue
            role = simulated_role_arn(stack, logical_id)
            evaluator = PolicyEvaluator()
            evaluator.add_role(role, policies[role])
            roles[role] = (handler, evaluator)
    return roles


def test_every_call_the_handlers_make_is_allowed_by_the_synthesized_policy(exercised, mesh4):
    roles = handler_roles(mesh4.values())
    handler_calls = [
        (request, result)
        for request, result in exercised.recorder.records
        if request.principal_arn in roles
    ]

    assert len(handler_calls) > 50  # the rollout really ran through the handlers
    denied = [
        f"{request.principal_arn}: {request.action} on {request.resource} ({result.reason})"
        for request, result in handler_calls
        if not result.allowed
    ]
    assert denied == []
    assert [o for o in exercised.rollout.outcomes if not o.succeeded] == []


def test_every_action_a_handler_role_is_granted_is_used(exercised, mesh4):
    # Per kind of role: every stack's share-manager role holds the same grants for its own
    # account, so one scenario per grant (in any account) proves the grant is needed.
    granted: dict[str, set[str]] = {}
    used: dict[str, set[str]] = {}
    for role, (handler, evaluator) in handler_roles(mesh4.values()).items():
        granted.setdefault(handler, set()).update(evaluator.granted_actions(role))
        used.setdefault(handler, set()).update(
            request.action
            for request, result in exercised.recorder.records
            if request.principal_arn == role and result.allowed
        )
    for handler, actions in granted.items():
        unused = actions - USED_BY_THE_LAMBDA_SERVICE - used[handler]
        assert unused == set(), f"the {handler} role is granted actions no scenario used"


def test_the_acceptor_role_alone_refuses_a_share_from_an_account_nobody_configured(estate, mesh3):
    """The IAM fence holds even when the acceptor's own filter would let everything in."""
    training = mesh3[TRAINING]
    estate.rollout.deploy(training)
    outsider_sagemaker = estate.operator_client("sagemaker", OUTSIDER, REGION)
    outsider_sagemaker.create_context(
        ContextName="exfiltration-bait", ContextType="Pipeline", Source={"SourceUri": "s3://bait"}
    )
    group = own_lineage_group(outsider_sagemaker, OUTSIDER)
    estate.operator_client("ram", OUTSIDER, REGION).create_resource_share(
        name="lineage-for-you", resourceArns=[group], principals=[TRAINING]
    )

    # Filter disabled: the acceptor is told to trust the outsider as well.
    deps = estate.rollout.acceptor_dependencies(
        training, allowed_producers={OUTSIDER, *training.accepts_from}
    )
    with pytest.raises(acceptor.InvitationsFailed):
        acceptor.handle({"source": "manual"}, None, deps)

    denied = [
        request
        for request, result in estate.recorder.records
        if not result.allowed
        and request.principal_arn.endswith(training.handler_role_logical_id(ACCEPTOR_HANDLER))
    ]
    assert {request.action for request in denied} == {"ram:ListPendingInvitationResources"}
    [invitation] = estate.operator_client("ram", TRAINING, REGION).get_resource_share_invitations()[
        "resourceShareInvitations"
    ]
    assert invitation["status"] == "PENDING"
    # And had the acceptor tried to accept directly, its role would be refused as well.
    with pytest.raises(deps.ram.exceptions.ClientError, match="AccessDenied"):
        deps.ram.accept_resource_share_invitation(
            resourceShareInvitationArn=invitation["resourceShareInvitationArn"]
        )
