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

import ast
import functools
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from invitation_acceptor import handler as acceptor
from lineage_sharing.cloud_assembly import (
    ACCEPTOR_HANDLER,
    SHARE_IS_COMPLETE_HANDLER,
    SHARE_ON_EVENT_HANDLER,
    SHARE_RECONCILE_HANDLER,
    read_cloud_assembly,
)
from simulation.estate import SimulatedEstate
from simulation.iam import PolicyEvaluator, action_spec, role_policies, simulated_role_arn
from simulation.ram_state import (
    LINEAGE_GROUP_POLICY_ACTIONS,
    LINEAGE_GROUP_POLICY_CHANGING_OPERATIONS,
)
from simulation.rollout import ResourceOutcome, deploy_all
from tests.simulation.scenario_configs import (
    NAMES,
    OUTSIDER,
    PRODUCTION,
    REGION,
    RESEARCH,
    STAGING,
    TRAINING,
    share_outsiders_lineage,
)

# Granted so the Lambda service can act for the function (write its logs, send a failed
# asynchronous event to the dead-letter queue); handler code never calls them.
USED_BY_THE_LAMBDA_SERVICE = frozenset(
    {"logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage"}
)


@dataclass
class Exercised:
    """Estates whose rollouts went through every path, and the failures they were meant to have."""

    estates: list[SimulatedEstate]
    expected_failures: list[ResourceOutcome]

    @property
    def records(self):
        return [record for estate in self.estates for record in estate.recorder.records]

    def unexpected_failures(self) -> list[ResourceOutcome]:
        expected = [replace(outcome, rollback=None) for outcome in self.expected_failures]
        return [
            outcome
            for estate in self.estates
            for outcome in estate.rollout.outcomes
            if not outcome.succeeded and outcome not in expected
        ]


@pytest.fixture(scope="module")
def exercised(mesh3, retagged, mesh4, mesh2, hub) -> Exercised:
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

    # A fresh account whose lineage group SageMaker lists only after the Provider's 30 minutes:
    # the first deployment times out, the second finds the marker context (DescribeContext).
    fresh = SimulatedEstate.start([STAGING, TRAINING], NAMES)
    fresh.world.sagemaker.lineage_group_delay = timedelta(minutes=45)
    timed_out = fresh.rollout.deploy(hub[STAGING])
    fresh.rollout.deploy(hub[STAGING])
    return Exercised([estate, fresh], expected_failures=[timed_out])


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
        (request, result) for request, result in exercised.records if request.principal_arn in roles
    ]

    assert len(handler_calls) > 50  # the rollout really ran through the handlers
    denied = [
        f"{request.principal_arn}: {request.action} on {request.resource} ({result.reason})"
        for request, result in handler_calls
        if not result.allowed
    ]
    assert denied == []
    assert exercised.unexpected_failures() == []


def test_every_action_a_handler_role_is_granted_is_used(exercised, mesh4):
    # Per kind of role: every stack's share-manager role holds the same grants for its own
    # account, so one scenario per grant (in any account) proves the grant is needed.
    granted: dict[str, set[str]] = {}
    used: dict[str, set[str]] = {}
    for role, (handler, evaluator) in handler_roles(mesh4.values()).items():
        granted.setdefault(handler, set()).update(evaluator.granted_actions(role))
        used.setdefault(handler, set()).update(
            request.action
            for request, result in exercised.records
            if request.principal_arn == role and result.allowed
        )
    for handler, actions in granted.items():
        unused = actions - USED_BY_THE_LAMBDA_SERVICE - used[handler]
        assert unused == set(), f"the {handler} role is granted actions no scenario used"


def test_the_acceptor_role_alone_refuses_a_share_from_an_account_nobody_configured(estate, mesh3):
    """The IAM fence holds even when the acceptor's own filter would let everything in."""
    training = mesh3[TRAINING]
    estate.rollout.deploy(training)
    share_outsiders_lineage(estate, TRAINING, "exfiltration-bait")

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


# ---------------------------------------------------------------------------- every branch
# The scenarios prove the grants for the paths they reach. This proof reads the handlers' code:
# every AWS call any branch reachable from a handler's entry point can make, mapped to the IAM
# actions it needs (RAM's owning-service ones included), must be granted to that handler's role,
# and the role must hold nothing else.

LAMBDA_ASSETS = Path(__file__).resolve().parents[2] / "lambda"
ENTRY_POINTS = {
    SHARE_ON_EVENT_HANDLER: ("share_manager", "on_event"),
    SHARE_IS_COMPLETE_HANDLER: ("share_manager", "is_complete"),
    SHARE_RECONCILE_HANDLER: ("share_manager", "reconcile"),
    ACCEPTOR_HANDLER: ("invitation_acceptor", "handle"),
}
# The parameter names the aws_edge modules give their boto3 clients.
CLIENT_SERVICES = {
    "ram": "ram",
    "sagemaker": "sagemaker",
    "cloudformation": "cloudformation",
    "ssm": "ssm",
}
# Called only when the config turns bootstrapping on (and granted only then).
BOOTSTRAP_ONLY = frozenset({"sagemaker:CreateContext", "sagemaker:DescribeContext"})


def module_graph(path: Path) -> dict[str, set[str]]:
    """Top-level name -> the names (and `aws_edge.<name>`) its definition refers to."""
    graph: dict[str, set[str]] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        else:
            continue
        refs = set()
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name):
                refs.add(inner.id)
            elif (
                isinstance(inner, ast.Attribute)
                and isinstance(inner.value, ast.Name)
                and inner.value.id == "aws_edge"
            ):
                refs.add(f"aws_edge.{inner.attr}")
        for name in names:
            graph[name] = refs
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, pending = set(), [start]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending += [ref for ref in graph.get(name, ()) if ref in graph or ref.startswith("aws_")]
    return seen


def boto3_operations(function: ast.FunctionDef) -> set[tuple[str, str]]:
    """(service, operation) for every client method the function calls or hands on."""
    operations = set()
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in CLIENT_SERVICES
        ):
            continue
        service = CLIENT_SERVICES[node.value.id]
        method = node.attr
        if method == "get_paginator":
            continue  # its argument names the operation: see below
        operations.add((service, operation_name(service, method)))
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_paginator"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in CLIENT_SERVICES
        ):
            (argument,) = node.args
            service = CLIENT_SERVICES[node.func.value.id]
            operations.add((service, operation_name(service, argument.value)))
    return operations


def operation_name(service: str, method: str) -> str:
    names = operations_by_method(service)
    assert method in names, f"{service} has no method {method}"
    return names[method]


@functools.cache
def operations_by_method(service: str) -> dict[str, str]:
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(name): name for name in model.operation_names}


def iam_actions(service: str, operation: str) -> set[str]:
    actions = {action_spec(f"{service}:{operation}").action}
    if service == "ram" and operation in LINEAGE_GROUP_POLICY_CHANGING_OPERATIONS:
        actions |= set(LINEAGE_GROUP_POLICY_ACTIONS)
    return actions


def actions_reachable_from(handler: str) -> set[str]:
    package, entry = ENTRY_POINTS[handler]
    folder = LAMBDA_ASSETS / package / package
    handler_names = reachable(module_graph(folder / "handler.py"), entry)
    edge_graph = module_graph(folder / "aws_edge.py")
    edge_names: set[str] = set()
    for name in handler_names:
        if name.startswith("aws_edge."):
            edge_names |= reachable(edge_graph, name.removeprefix("aws_edge."))
    functions = {
        node.name: node
        for node in ast.parse((folder / "aws_edge.py").read_text()).body
        if isinstance(node, ast.FunctionDef)
    }
    return {
        action
        for name in edge_names
        if name in functions
        for service, operation in boto3_operations(functions[name])
        for action in iam_actions(service, operation)
    }


def test_the_code_reading_finds_the_calls_of_each_handler():
    reconcile = actions_reachable_from(SHARE_RECONCILE_HANDLER)
    assert "ram:AssociateResourceShare" in reconcile and "cloudformation:GetTemplate" in reconcile
    assert "ram:CreateResourceShare" not in reconcile  # the schedule never creates a share
    assert "sagemaker:ListLineageGroups" not in reconcile
    assert actions_reachable_from(ACCEPTOR_HANDLER) == {
        "ram:GetResourceShareInvitations",
        "ram:ListPendingInvitationResources",
        "ram:AcceptResourceShareInvitation",
        "ssm:GetParameters",  # the allow-list, once per execution environment
    }


@pytest.mark.parametrize("config", ["example", "hub-and-spoke without bootstrap"])
def test_every_call_any_branch_can_make_is_granted_and_nothing_else(config, example_app, hub_app):
    app = example_app if config == "example" else hub_app
    stacks = read_cloud_assembly(app.outdir)
    checked = 0
    for stack in stacks:
        policies = role_policies(stack)
        needed_by_role: dict[str, set[str]] = {}
        for handler in ENTRY_POINTS:
            logical_id = stack.handler_role_logical_id(handler)
            if logical_id is not None:
                role = simulated_role_arn(stack, logical_id)
                needed_by_role.setdefault(role, set()).update(actions_reachable_from(handler))
        for role, needed in needed_by_role.items():
            evaluator = PolicyEvaluator()
            evaluator.add_role(role, policies[role])
            granted = evaluator.granted_actions(role) - USED_BY_THE_LAMBDA_SERVICE
            bootstrapping = stack.share is not None and stack.share[1]["BootstrapLineageGroup"]
            optional = set() if bootstrapping == "true" else BOOTSTRAP_ONLY
            assert needed - granted - optional == set(), f"{role} lacks grants its code needs"
            assert granted - needed == set(), f"{role} is granted actions no branch can use"
            checked += 1
    assert checked >= 3


# ---------------------------------------------------------------------------- query role
# No handler calls through it: its proof is that it holds exactly the identity side of what the
# producers' RAM-made lineage group policy grants, on the producers' entities only (IAM lint of
# every synthesized role, this one included: test_iam_evaluator).

QUERY_READS = {
    "sagemaker:DescribeAction",
    "sagemaker:DescribeArtifact",
    "sagemaker:DescribeContext",
    "sagemaker:DescribeTrialComponent",
    "sagemaker:QueryLineage",
}
QUERY_WRITES = {"sagemaker:AddAssociation", "sagemaker:DeleteAssociation"}


def query_roles(app):
    for stack in read_cloud_assembly(app.outdir):
        for logical_id, resource in stack.resources.items():
            name = resource["Properties"].get("RoleName", "")
            if resource["Type"] == "AWS::IAM::Role" and name.startswith("LineageSharingQuery-"):
                yield stack, simulated_role_arn(stack, logical_id), role_policies(stack)


@pytest.mark.parametrize("config, writes", [("example", False), ("hub-and-spoke", True)])
def test_the_query_role_holds_exactly_the_identity_side_of_the_lineage_share(
    config, writes, example_app, hub_app
):
    from simulation.authorization import AuthorizationRequest
    from simulation.sagemaker_fake import SHARED_LINEAGE_ACTIONS

    app = example_app if config == "example" else hub_app
    [(stack, role, policies)] = list(query_roles(app))
    evaluator = PolicyEvaluator()
    evaluator.add_role(role, policies[role])
    granted = evaluator.granted_actions(role)
    assert granted == QUERY_READS | (QUERY_WRITES if writes else set())
    # What the lineage group policy lets the consumer account do, and nothing beyond it.
    assert set(SHARED_LINEAGE_ACTIONS) == QUERY_READS | QUERY_WRITES

    def allowed(action: str, account: str, entity: str = "context/pipeline") -> bool:
        resource = f"arn:aws:sagemaker:{stack.region}:{account}:{entity}"
        request = AuthorizationRequest(role, stack.account, stack.region, action, resource)
        return evaluator.authorize(request).allowed

    for producer in stack.accepts_from:
        assert allowed("sagemaker:DescribeContext", producer)
        assert allowed("sagemaker:DescribeTrialComponent", producer, "experiment-trial-component/t")
        assert allowed("sagemaker:AddAssociation", producer) == writes
    assert not allowed("sagemaker:DescribeContext", OUTSIDER)
    assert not allowed("sagemaker:DescribeContext", stack.account)  # its own: not its job
    assert allowed("sagemaker:AddAssociation", stack.account) == writes
    assert not allowed("sagemaker:AddAssociation", OUTSIDER)
    other_region = "eu-central-1"
    request = AuthorizationRequest(
        role,
        stack.account,
        stack.region,
        "sagemaker:DescribeContext",
        f"arn:aws:sagemaker:{other_region}:{stack.accepts_from[0]}:context/pipeline",
    )
    assert not evaluator.authorize(request).allowed
