"""Drive the real handlers the way CloudFormation, the CDK Provider framework and EventBridge do.

Everything a handler receives is built from the synthesized templates: the custom resource's
properties, the acceptor's environment and the SSM parameters it reads its allow-list from, the
event patterns and the schedule. The handlers talk
to the simulated world through real boto3 clients that act as the stack's own roles, so the
IAM evaluator judges every call against the policy the template would deploy.

Semantics follow the services:
- CloudFormation sends Create, Update (with OldResourceProperties) or Delete; a failed Create
  is rolled back with a Delete, a failed Update with an Update back to the old properties, and
  an Update that returns a new physical id gets a Delete of the old one afterwards.
- The Provider framework calls on_event once, then is_complete every poll interval until it
  reports IsComplete, raises, or the waiter's attempts run out (a timeout is a failure). As
  in aws-cdk-lib's framework: a Create whose on_event raised is answered with the
  CREATE_FAILED marker as physical id, and the rollback's Delete of that marker never reaches
  the handler; a failed is_complete or a timeout reports the physical id is_complete was
  polled with (the RequestId while the Create had none).
- A failed Update is rolled back with an Update back to the old properties. Which physical id
  that rollback carries is not documented when the failed update had answered a new one
  (aws-cdk#13527 shows CloudFormation keeping it): `update_rollback_id` picks "previous" or
  "failed response". Either way no cleanup deletes the previous physical resource after a
  rollback: the handler must not rely on one.
- EventBridge delivers a RAM event to an acceptor when the rule's pattern matches; delivery
  is best effort (a scenario may drop events); the schedule fires at the rule's rate.
- Lambda invocations run one at a time here; the handlers do not rely on it (the acceptor has
  no reserved concurrency: two sweeps at once are harmless, see its tests).
- What the acceptor and the reconcile schedule print as metrics (their real Embedded Metric
  Format edge) reaches `metrics`, and `alarm_states` evaluates the template's alarms on it.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from invitation_acceptor import embedded_metrics as acceptor_metrics
from invitation_acceptor import handler as acceptor_handler
from lineage_sharing.cloud_assembly import (
    ACCEPTOR_HANDLER,
    ORGANIZATION_SHARING_HANDLER,
    SHARE_IS_COMPLETE_HANDLER,
    SHARE_ON_EVENT_HANDLER,
    SHARE_RECONCILE_HANDLER,
    SynthesizedStack,
)
from organization_sharing import handler as organization_sharing_handler
from share_manager import embedded_metrics as share_metrics
from share_manager import handler as share_handler
from simulation.cloudwatch import MetricStore, alarm_state
from simulation.iam import PolicyEvaluator, simulated_role_arn
from simulation.iam_policies import resolve, simulated_stack_id
from simulation.world import World

CREATE, UPDATE, DELETE = "Create", "Update", "Delete"
SCHEDULE_TRIGGER, RAM_EVENT_TRIGGER = "schedule", "ram-event"
# Events that trigger runs that emit events: far more rounds than any rollout needs means a loop.
MAX_EVENT_ROUNDS = 1_000
ACCEPTOR_SWEEP, SHARE_RECONCILE = "acceptor", "reconcile"
# aws-cdk-lib's Provider framework (cfn-response.js): the physical id of a Create whose on_event
# failed, and whose rollback Delete the framework answers itself.
CREATE_FAILED_MARKER = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of the Lambda context object the handlers read."""

    invoked_function_arn: str
    function_name: str
    aws_request_id: str


@dataclass(frozen=True)
class ResourceOutcome:
    """What CloudFormation would report for the custom resource after one operation."""

    stack: str
    request_type: str
    succeeded: bool
    physical_resource_id: str | None
    reason: str = ""
    polls: int = 0
    data: Mapping[str, str] = field(default_factory=dict)
    # For a failed Create or Update: how CloudFormation's rollback of the resource went.
    rollback: ResourceOutcome | None = None


@dataclass(frozen=True)
class AcceptorRun:
    stack: str
    trigger: str
    at: datetime
    summary: Mapping[str, Any] | None  # None when the run raised
    error: str = ""


@dataclass(frozen=True)
class ReconcileRun:
    stack: str
    at: datetime
    result: Mapping[str, Any] | None  # None when the run raised
    error: str = ""
    trigger: str = SCHEDULE_TRIGGER  # or RAM_EVENT_TRIGGER


@dataclass
class DeployedStack:
    """A stack as it stands in its account after the last successful operation."""

    stack: SynthesizedStack
    share_physical_id: str | None = None
    share_properties: dict[str, Any] | None = None
    share_data: dict[str, str] = field(default_factory=dict)
    # When each scheduled rule of the stack fires next: "acceptor" sweep, share "reconcile".
    next_runs: dict[str, datetime] = field(default_factory=dict)

    def schedules(self) -> dict[str, timedelta]:
        schedules = {}
        if self.stack.acceptor_sweep_interval is not None:
            schedules[ACCEPTOR_SWEEP] = self.stack.acceptor_sweep_interval
        if self.stack.reconcile_schedule is not None and self.share_physical_id:
            schedules[SHARE_RECONCILE] = self.stack.reconcile_schedule[0]
        return schedules


class Rollout:
    """Deploys, updates and deletes synthesized stacks in a simulated world."""

    def __init__(self, world: World, iam: PolicyEvaluator | None = None) -> None:
        if iam is not None and iam.partition != world.partition:
            raise ValueError(f"the evaluator is for {iam.partition}, the world {world.partition}")
        self.world = world
        self.iam = iam
        self.deployed: dict[str, DeployedStack] = {}
        self.outcomes: list[ResourceOutcome] = []
        self.acceptor_runs: list[AcceptorRun] = []
        self.reconcile_runs: list[ReconcileRun] = []
        # Scenarios may lose events on the way, as EventBridge may.
        self.drop_events: Callable[[dict[str, Any]], bool] = lambda event: False
        self.dropped_events: list[dict[str, Any]] = []
        self._request_ids = (str(uuid.UUID(int=n)) for n in itertools.count(1))
        self._clients: dict[tuple[str, str, str, str], Any] = {}
        # Acceptor dependencies per (stack, environment): a warm execution environment keeps
        # the allow-list it read; a new function configuration starts fresh ones.
        self._acceptor_dependencies: dict[tuple[str, str], acceptor_handler.Dependencies] = {}
        # The physical id a rollback Update carries after an Update failed (see the docstring).
        self.update_rollback_id: str = "previous"
        # CloudWatch metrics from the handlers' log output.
        self.metrics = MetricStore()

    # ------------------------------------------------------------------ stacks

    def deploy(self, stack: SynthesizedStack) -> ResourceOutcome | None:
        """`cdk deploy` of one stack: create it, or update it to this template.

        A failed update rolls the whole stack back: its roles, rules and functions stay as the
        previous template had them.
        """
        current = self.deployed.get(stack.name)
        self._install_roles(stack)
        self._install_parameters(stack, replacing=current.stack if current else None)
        self.world.cloudformation.put_template(self._stack_id(stack), stack.template)
        if current is None:
            # RAM events from before the stack's rule existed were never delivered to it.
            self.world.take_events(stack.account, stack.region)
        outcome = None
        if stack.organization_sharing is not None and (
            current is None or current.stack.organization_sharing != stack.organization_sharing
        ):
            outcome = self._run_organization_sharing(stack, CREATE if current is None else UPDATE)
        elif stack.share is None and current is not None and current.share_physical_id:
            # The account stopped sharing: CloudFormation deletes the resource.
            outcome = self._delete_share(current)
            if outcome.succeeded:
                current.share_physical_id = current.share_properties = None
        elif stack.share is not None:
            outcome = (
                self._update_share(current, stack)
                if current is not None and current.share_physical_id
                else self._create_share(stack)
            )
        if outcome is not None and not outcome.succeeded:
            if current is None:
                self._remove_roles(stack)  # CREATE_FAILED, rolled back: nothing of it stays
                self._install_parameters(None, replacing=stack)
                self.world.cloudformation.remove_stack(self._stack_id(stack))
            else:
                self._install_roles(current.stack)  # UPDATE_ROLLBACK_COMPLETE
                self._install_parameters(current.stack, replacing=stack)
                self.world.cloudformation.put_template(
                    self._stack_id(current.stack), current.stack.template
                )
            return outcome
        deployed = current or DeployedStack(stack)
        deployed.stack = stack
        if outcome is not None and outcome.succeeded and stack.share is not None:
            deployed.share_physical_id = outcome.physical_resource_id
            deployed.share_properties = stack.share[1]
            deployed.share_data = dict(outcome.data)
        # A new rule's schedule starts counting when the rule is created.
        schedules = deployed.schedules()
        deployed.next_runs = {
            name: deployed.next_runs.get(name, self.world.clock.now() + interval)
            for name, interval in schedules.items()
        }
        self.deployed[stack.name] = deployed
        self.deliver_events()
        return outcome

    def destroy(self, stack_name: str) -> ResourceOutcome | None:
        """`cdk destroy` of one stack; a failed delete leaves it in place (DELETE_FAILED)."""
        deployed = self.deployed[stack_name]
        outcome = self._delete_share(deployed) if deployed.share_physical_id else None
        if deployed.stack.organization_sharing is not None:
            outcome = self._run_organization_sharing(deployed.stack, DELETE)
        if outcome is not None and not outcome.succeeded:
            return outcome
        del self.deployed[stack_name]
        self._remove_roles(deployed.stack)
        self._install_parameters(None, replacing=deployed.stack)
        self.world.cloudformation.remove_stack(self._stack_id(deployed.stack))
        return outcome

    def _install_roles(self, stack: SynthesizedStack) -> None:
        """The stack's role policies become what this template says."""
        if self.iam is None:
            return
        self.iam.remove_roles_of(stack)
        self.iam.add_stack(stack)  # identity and trust policies

    def _remove_roles(self, stack: SynthesizedStack) -> None:
        if self.iam is not None:
            self.iam.remove_roles_of(stack)

    def _install_parameters(
        self, stack: SynthesizedStack | None, *, replacing: SynthesizedStack | None
    ) -> None:
        """The stack's SSM parameters become what `stack` says (None: the stack is gone).

        Like CloudFormation, only a parameter whose definition changed is written: an
        unchanged template leaves a value someone changed by hand as it is."""
        wanted = stack.ssm_parameters if stack else {}
        previous = replacing.ssm_parameters if replacing else {}
        if replacing is not None:
            for name in set(previous) - set(wanted):
                self.world.ssm.delete(replacing.account, replacing.region, name)
        if stack is not None:
            for name, (parameter_type, value) in wanted.items():
                if previous.get(name) != (parameter_type, value):
                    self.world.ssm.put(stack.account, stack.region, name, parameter_type, value)

    # ------------------------------------------------------------------ custom resources

    def _run_organization_sharing(
        self, stack: SynthesizedStack, request_type: str
    ) -> ResourceOutcome:
        """The management stack's Custom::RamSharingWithOrganization: on_event only (the
        Provider framework without is_complete answers with on_event's result)."""
        logical_id, properties = stack.organization_sharing  # type: ignore[misc]
        event = {
            "RequestType": request_type,
            "StackId": self._stack_id(stack),
            "RequestId": next(self._request_ids),
            "LogicalResourceId": logical_id,
            "ResourceType": "Custom::RamSharingWithOrganization",
            "ResourceProperties": dict(properties),
        }
        if request_type != CREATE:
            event["PhysicalResourceId"] = properties.get("OrganizationArn", "")
        role = self._role_arn(stack, ORGANIZATION_SHARING_HANDLER)
        context = self._context(stack, ORGANIZATION_SHARING_HANDLER)
        try:
            result = organization_sharing_handler.on_event(
                event, context, self._client("ram", stack, role)
            )
        except Exception as error:
            return self._record(stack, request_type, False, None, _reason(error))
        return self._record(stack, request_type, True, result["PhysicalResourceId"], "")

    def _create_share(self, stack: SynthesizedStack) -> ResourceOutcome:
        logical_id, properties = stack.share  # type: ignore[misc]
        event = self._resource_event(stack, CREATE, logical_id, properties)
        outcome = self._run_provider(stack, event)
        if outcome.succeeded:
            return outcome
        # Rollback: CloudFormation deletes what the failed Create may have left.
        physical_id = outcome.physical_resource_id or event["RequestId"]
        if physical_id == CREATE_FAILED_MARKER:
            return outcome  # the framework answers this Delete without calling the handler
        delete = {**event, "RequestType": DELETE, "RequestId": next(self._request_ids)}
        rollback = self._run_provider(stack, delete | {"PhysicalResourceId": physical_id})
        return replace(outcome, rollback=rollback)

    def _update_share(self, current: DeployedStack, stack: SynthesizedStack) -> ResourceOutcome:
        logical_id, properties = stack.share  # type: ignore[misc]
        old_properties = current.share_properties or {}
        if properties == old_properties:
            # CloudFormation sends no Update for a resource whose properties did not change.
            return ResourceOutcome(stack.name, UPDATE, True, current.share_physical_id, "no change")
        event = self._resource_event(
            stack,
            UPDATE,
            logical_id,
            properties,
            physical_resource_id=current.share_physical_id,
            old_properties=old_properties,
        )
        outcome = self._run_provider(stack, event)
        if not outcome.succeeded:
            failed_id = outcome.physical_resource_id or current.share_physical_id
            rollback_event = self._resource_event(
                stack,
                UPDATE,
                logical_id,
                old_properties,
                physical_resource_id=(
                    failed_id
                    if self.update_rollback_id == "failed response"
                    else current.share_physical_id
                ),
                old_properties=properties,
            )
            rollback = self._run_provider(stack, rollback_event)
            if rollback.succeeded:
                current.share_physical_id = rollback.physical_resource_id
            return replace(outcome, rollback=rollback)
        if outcome.physical_resource_id != current.share_physical_id:
            # Replacement: the cleanup phase deletes the old physical resource.
            self._run_provider(
                stack,
                self._resource_event(
                    stack,
                    DELETE,
                    logical_id,
                    old_properties,
                    physical_resource_id=current.share_physical_id,
                ),
            )
        return outcome

    def _delete_share(self, deployed: DeployedStack) -> ResourceOutcome:
        stack = deployed.stack
        logical_id = stack.share[0] if stack.share else "LineageGroupShare"
        event = self._resource_event(
            stack,
            DELETE,
            logical_id,
            deployed.share_properties or {},
            physical_resource_id=deployed.share_physical_id,
        )
        return self._run_provider(stack, event)

    def _resource_event(
        self,
        stack: SynthesizedStack,
        request_type: str,
        logical_id: str,
        properties: Mapping[str, Any],
        *,
        physical_resource_id: str | None = None,
        old_properties: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        partition = self.world.partition
        service_token = (
            f"arn:{partition}:lambda:{stack.region}:{stack.account}:function:"
            f"{stack.name}-ProviderframeworkonEvent"
        )
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": service_token,
            "ResponseURL": "https://cloudformation-custom-resource-response.invalid/",
            "StackId": self._stack_id(stack),
            "RequestId": next(self._request_ids),
            "LogicalResourceId": logical_id,
            "ResourceType": "Custom::LineageGroupShare",
            # CloudFormation passes every property, ServiceToken included.
            "ResourceProperties": {"ServiceToken": service_token, **properties},
        }
        if physical_resource_id is not None:
            event["PhysicalResourceId"] = physical_resource_id
        if old_properties is not None:
            event["OldResourceProperties"] = {"ServiceToken": service_token, **old_properties}
        return event

    def _run_provider(self, stack: SynthesizedStack, event: dict[str, Any]) -> ResourceOutcome:
        """on_event once, then is_complete until done: the Provider framework's waiter.

        The waiter state machine calls is_complete at once, then retries it every interval up
        to MaxAttempts times; an exception from either handler fails the resource.
        """
        request_type = event["RequestType"]
        deps = self._share_dependencies(stack, SHARE_ON_EVENT_HANDLER)
        interval, max_polls = stack.provider_polling
        try:
            result = share_handler.on_event(
                event, self._context(stack, SHARE_ON_EVENT_HANDLER), deps
            )
        except Exception as error:  # the framework reports any exception as FAILED
            failed_id = event.get("PhysicalResourceId") or (
                CREATE_FAILED_MARKER if request_type == CREATE else None
            )
            return self._record(stack, request_type, False, failed_id, _reason(error))
        physical_id = result.get("PhysicalResourceId") or event.get("PhysicalResourceId")
        physical_id = physical_id or event["RequestId"]
        poll_event = {**event, **result, "PhysicalResourceId": physical_id}
        for poll in range(max_polls + 1):
            if poll:
                self.advance(timedelta(seconds=interval))
            else:
                self.deliver_events()
            try:
                answer = share_handler.is_complete(
                    poll_event, self._context(stack, SHARE_IS_COMPLETE_HANDLER), deps
                )
            except Exception as error:
                return self._record(stack, request_type, False, physical_id, _reason(error), poll)
            if answer.get("IsComplete"):
                physical_id = answer.get("PhysicalResourceId") or physical_id
                return self._record(
                    stack, request_type, True, physical_id, "", poll, answer.get("Data") or {}
                )
        return self._record(
            stack,
            request_type,
            False,
            physical_id,
            f"Operation timed out after {interval * max_polls} s",
            max_polls + 1,
        )

    def _record(
        self,
        stack: SynthesizedStack,
        request_type: str,
        succeeded: bool,
        physical_id: str | None,
        reason: str,
        polls: int = 0,
        data: Mapping[str, str] | None = None,
    ) -> ResourceOutcome:
        outcome = ResourceOutcome(
            stack.name, request_type, succeeded, physical_id, reason, polls, dict(data or {})
        )
        self.outcomes.append(outcome)
        return outcome

    # ------------------------------------------------------------------ acceptors and time

    def advance(self, delta: timedelta) -> None:
        """Let time pass: RAM events reach acceptors, and schedules fire when they are due."""
        end = self.world.clock.now() + delta
        self.deliver_events()
        while (due := self._next_due(end)) is not None:
            at, deployed, schedule = due
            if at > self.world.clock.now():
                self.world.clock.advance(at - self.world.clock.now())
            deployed.next_runs[schedule] = at + deployed.schedules()[schedule]
            if schedule == ACCEPTOR_SWEEP:
                self.run_acceptor(deployed.stack.name, self._scheduled_event(deployed.stack))
            else:
                self.run_reconcile(deployed.stack.name)
            self.deliver_events()
        if end > self.world.clock.now():
            self.world.clock.advance(end - self.world.clock.now())
        self.deliver_events()

    def _next_due(self, end: datetime) -> tuple[datetime, DeployedStack, str] | None:
        due = [
            (at, deployed.stack.name, schedule)
            for deployed in self.deployed.values()
            for schedule, at in deployed.next_runs.items()
            if at <= end
        ]
        if not due:
            return None
        at, name, schedule = min(due)
        return at, self.deployed[name], schedule

    def deliver_events(self) -> None:
        """Hand every RAM event emitted so far to the rules whose pattern matches it: the
        acceptor's and the share's reconciliation. The runs emit events of their own (an
        acceptance reaches the share's owner), which are delivered in turn until none is left;
        EventBridge takes seconds, so no simulated time passes meanwhile."""
        for _ in range(MAX_EVENT_ROUNDS):
            delivered = False
            for deployed in list(self.deployed.values()):
                stack = deployed.stack
                for event in self.world.take_events(stack.account, stack.region):
                    delivered = True
                    self._deliver(deployed, event)
            if not delivered:
                return
        raise RuntimeError(f"RAM events still flowing after {MAX_EVENT_ROUNDS} rounds: a loop")

    def _deliver(self, deployed: DeployedStack, event: Mapping[str, Any]) -> None:
        stack = deployed.stack
        acceptor = any(_matches(pattern, event) for pattern in stack.acceptor_event_patterns)
        reconcile = [
            rule_input
            for pattern, rule_input in stack.reconcile_event_rules
            if deployed.share_physical_id and _matches(pattern, event)
        ]
        if not (acceptor or reconcile):
            return
        if self.drop_events(event):
            self.dropped_events.append(event)
            return
        if acceptor:
            self.run_acceptor(stack.name, event)
        for rule_input in reconcile:
            self.run_reconcile(stack.name, rule_input=rule_input, trigger=RAM_EVENT_TRIGGER)

    def sweep_now(self, stack_name: str) -> AcceptorRun:
        """Invoke one acceptor as its schedule would (used where a test needs it right now)."""
        return self.run_acceptor(stack_name, self._scheduled_event(self.deployed[stack_name].stack))

    def run_reconcile(
        self, stack_name: str, *, rule_input: Any = None, trigger: str = SCHEDULE_TRIGGER
    ) -> ReconcileRun:
        """The share's reconciliation as a rule runs it: the rule's input from the template
        (the schedule's unless given), refs resolved."""
        deployed = self.deployed[stack_name]
        stack = deployed.stack
        assert stack.reconcile_schedule is not None and stack.share is not None
        values = {
            "AWS::StackId": self._stack_id(stack),
            stack.share[0]: deployed.share_physical_id,
        }
        template_input = rule_input if rule_input is not None else stack.reconcile_schedule[1]
        event = json.loads(_join(template_input, values))
        context = self._context(stack, SHARE_RECONCILE_HANDLER)
        try:
            deps = self._share_dependencies(stack, SHARE_RECONCILE_HANDLER)
            result = share_handler.reconcile(event, context, deps)
            run = ReconcileRun(stack.name, self.world.clock.now(), result, trigger=trigger)
        except Exception as error:
            run = ReconcileRun(stack.name, self.world.clock.now(), None, _reason(error), trigger)
        self.reconcile_runs.append(run)
        return run

    def run_acceptor(self, stack_name: str, event: Mapping[str, Any]) -> AcceptorRun:
        stack = self.deployed[stack_name].stack
        trigger = acceptor_handler.trigger_of(event).value
        try:
            # Inside the invocation: reading the allow-list can fail, and then the run fails.
            deps = self.acceptor_dependencies(stack)
            summary = acceptor_handler.handle(event, self._context(stack, ACCEPTOR_HANDLER), deps)
            run = AcceptorRun(stack.name, trigger, self.world.clock.now(), summary)
        except Exception as error:  # Lambda records the error; the schedule tries again later
            run = AcceptorRun(stack.name, trigger, self.world.clock.now(), None, _reason(error))
        self.acceptor_runs.append(run)
        return run

    def acceptor_dependencies(
        self, stack: SynthesizedStack, allowed_producers: Iterable[str] | None = None
    ) -> acceptor_handler.Dependencies:
        """The acceptor's clients, acting as its role, and the allow-list its handler reads from
        the stack's SSM parameters; scenarios may widen the allow-list instead."""
        role = self._role_arn(stack, ACCEPTOR_HANDLER)
        ram = self._client("ram", stack, role)
        metrics = acceptor_metrics.EmbeddedMetrics(
            self._function_name(stack, ACCEPTOR_HANDLER), **self._metrics_output()
        )
        if allowed_producers is not None:
            return acceptor_handler.Dependencies(
                ram=ram, allowed_producers=frozenset(allowed_producers), metrics=metrics
            )
        environment = stack.acceptor_environment
        key = (stack.name, json.dumps(environment, sort_keys=True))
        if key not in self._acceptor_dependencies:
            self._acceptor_dependencies[key] = acceptor_handler.load_dependencies(
                environment, ram=ram, ssm=self._client("ssm", stack, role), metrics=metrics
            )
        return self._acceptor_dependencies[key]

    def _share_dependencies(
        self, stack: SynthesizedStack, handler: str
    ) -> share_handler.Dependencies:
        role = self._role_arn(stack, handler)
        return share_handler.Dependencies(
            ram=self._client("ram", stack, role),
            sagemaker=self._client("sagemaker", stack, role),
            cloudformation=self._client("cloudformation", stack, role),
            now=self.world.clock.now,
            metrics=share_metrics.EmbeddedMetrics(
                self._function_name(stack, handler), **self._metrics_output()
            ),
        )

    def _metrics_output(self) -> dict[str, Any]:
        return {
            "stream": self.metrics.log_stream(),
            "clock": lambda: self.world.clock.now().timestamp(),
        }

    def _function_name(self, stack: SynthesizedStack, handler: str) -> str:
        """What Ref of the handler's function resolves to: the name its alarms' dimension has."""
        logical_id = stack.function_logical_id(handler)
        if logical_id is None:
            raise ValueError(f"{stack.name} has no function with handler {handler}")
        return resolve({"Ref": logical_id}, stack=stack, partition=self.world.partition)

    def alarm_states(self, stack_name: str) -> dict[str, str]:
        """Alarm logical id -> ALARM or OK, now, for the deployed stack's alarms on the
        handlers' own metrics (AWS/Lambda and AWS/SQS metrics are not simulated)."""
        stack = self.deployed[stack_name].stack
        states = {}
        for logical_id, resource in stack.resources.items():
            properties = resource["Properties"]
            if resource["Type"] != "AWS::CloudWatch::Alarm":
                continue
            if properties.get("Namespace") != acceptor_metrics.NAMESPACE:
                continue
            dimensions = resolve(
                properties.get("Dimensions", []), stack=stack, partition=self.world.partition
            )
            states[logical_id] = alarm_state(
                {**properties, "Dimensions": dimensions}, self.metrics, self.world.clock.now()
            )
        return states

    def _client(self, service: str, stack: SynthesizedStack, role: str) -> Any:
        # One client per function role, kept like a warm Lambda keeps its module-level clients.
        key = (service, stack.account, stack.region, role)
        if key not in self._clients:
            self._clients[key] = self.world.client(
                service, account=stack.account, region=stack.region, principal_arn=role
            )
        return self._clients[key]

    def _role_arn(self, stack: SynthesizedStack, handler: str) -> str:
        logical_id = stack.handler_role_logical_id(handler)
        if logical_id is None:
            raise ValueError(f"{stack.name} has no function with handler {handler}")
        return simulated_role_arn(stack, logical_id, self.world.partition)

    def _stack_id(self, stack: SynthesizedStack) -> str:
        return simulated_stack_id(stack, self.world.partition)

    def _context(self, stack: SynthesizedStack, handler: str) -> LambdaContext:
        name = self._function_name(stack, handler)
        return LambdaContext(
            invoked_function_arn=f"arn:{self.world.partition}:lambda:{stack.region}:"
            f"{stack.account}:function:{name}",
            function_name=name,
            aws_request_id=next(self._request_ids),
        )

    def _scheduled_event(self, stack: SynthesizedStack) -> dict[str, Any]:
        partition = self.world.partition
        return {
            "version": "0",
            "id": next(self._request_ids),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": stack.account,
            "time": self.world.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": stack.region,
            "resources": [
                f"arn:{partition}:events:{stack.region}:{stack.account}:rule/{stack.name}-Sweep"
            ],
            "detail": {},
        }


def without_reconcile_event_rule(stack: SynthesizedStack) -> SynthesizedStack:
    """The stack as deployed with its reconcile-on-RAM-event rule disabled (what `aws events
    disable-rule` does): only the schedule runs the reconciliation."""
    template = copy.deepcopy(stack.template)
    reconcile = {"Fn::GetAtt": [stack.function_logical_id(SHARE_RECONCILE_HANDLER), "Arn"]}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if (
            resource["Type"] == "AWS::Events::Rule"
            and "EventPattern" in properties
            and any(target["Arn"] == reconcile for target in properties["Targets"])
        ):
            properties["State"] = "DISABLED"
    return replace(stack, template=template)


def deploy_all(rollout: Rollout, stacks: Sequence[SynthesizedStack]) -> list[ResourceOutcome]:
    """Deploy every stack, consumers first (as the rollout plan advises), then let RAM events
    reach the acceptors. Returns the failed outcomes."""
    # The management stack first: RAM refuses organization principals until it ran.
    ordered = sorted(
        stacks, key=lambda s: (not s.enables_organization_sharing, bool(s.shares_with), s.name)
    )
    failures = []
    for stack in ordered:
        outcome = rollout.deploy(stack)
        if outcome is not None and not outcome.succeeded:
            failures.append(outcome)
    rollout.deliver_events()
    return failures


def _matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """EventBridge pattern matching for the forms our rules use (exact values, anything-but);
    a field the event lacks matches neither."""
    for key, expected in pattern.items():
        value = event.get(key)
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not _matches(expected, value):
                return False
        elif isinstance(expected, list):
            values = value if isinstance(value, list) else [value]
            if key not in event or not any(_matches_one(expected, v) for v in values):
                return False
        else:
            raise ValueError(f"invalid EventBridge pattern at {key}: {expected!r}")
    return True


def _matches_one(options: list[Any], value: Any) -> bool:
    """One value against a pattern's list: exact values, or `{"anything-but": [...]}`."""
    for option in options:
        if isinstance(option, str | int | float | bool):
            if value == option:
                return True
        elif isinstance(option, Mapping) and set(option) == {"anything-but"}:
            excluded = option["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            if not all(isinstance(e, str | int | float | bool) for e in excluded):
                raise NotImplementedError(f"EventBridge anything-but operator: {option}")
            if value not in excluded:
                return True
        else:
            raise NotImplementedError(f"EventBridge pattern operator: {option}")
    return False


def _join(value: Any, values: Mapping[str, Any]) -> str:
    """Render a template's `Fn::Join` of strings and `Ref`s with the deployed values."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return separator.join(part if isinstance(part, str) else values[part["Ref"]] for part in parts)


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
