"""Metrics, the alarms that need a person, and the dashboard: the names the constructs watch are
the names the handlers emit, and every alarm is valid for CloudWatch at every allowed interval."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_lambda as lambda_

import invitation_acceptor.embedded_metrics as acceptor_emf
import share_manager.embedded_metrics as share_emf
from config.model import INVITATION_LIFETIME_MINUTES, MIN_SWEEP_INTERVAL_MINUTES
from invitation_acceptor.decisions import RUN_METRICS
from lineage_constructs.sharing_monitoring import (
    ACCEPTOR_METRICS,
    FUNCTION_DIMENSION,
    NAMESPACE,
    RECONCILE_METRICS,
    ReconcileMonitoring,
)
from share_manager.decisions import RECONCILE_METRICS as EMITTED_BY_RECONCILE


def resources_of_type(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def test_both_handler_assets_carry_the_same_metrics_edge():
    assert Path(acceptor_emf.__file__).read_text() == Path(share_emf.__file__).read_text()


def test_the_constructs_watch_exactly_what_the_handlers_emit():
    assert ACCEPTOR_METRICS == RUN_METRICS
    assert RECONCILE_METRICS == EMITTED_BY_RECONCILE
    for edge in (acceptor_emf, share_emf):
        assert (edge.NAMESPACE, edge.DIMENSION) == (NAMESPACE, FUNCTION_DIMENSION)


INTERVALS = (MIN_SWEEP_INTERVAL_MINUTES, 45, 60, INVITATION_LIFETIME_MINUTES - 1)


@pytest.fixture(scope="module")
def alarms_by_interval() -> dict[int, dict[str, dict]]:
    """ReconcileMonitoring at the shortest, some usual and the longest interval: one app."""
    app = App()
    stacks = {}
    for minutes in INTERVALS:
        stack = Stack(
            app, f"Every{minutes}", env=Environment(account="111111111111", region="eu-west-1")
        )
        function = lambda_.Function.from_function_name(stack, "Reconcile", "reconcile-function")
        ReconcileMonitoring(
            stack, "Monitoring", function=function, reconcile_interval=Duration.minutes(minutes)
        )
        stacks[minutes] = stack
    assembly = app.synth()
    by_interval = {}
    for minutes, stack in stacks.items():
        template = assembly.get_stack_by_name(stack.stack_name).template
        alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
        by_interval[minutes] = {
            k.removeprefix("Monitoring").split("Alarm")[0]: v["Properties"]
            for k, v in alarms.items()
        }
    return by_interval


@pytest.mark.parametrize(
    "interval, held_back_runs",
    [(MIN_SWEEP_INTERVAL_MINUTES, 144), (60, 12), (45, 16), (INVITATION_LIFETIME_MINUTES - 1, 2)],
)
def test_held_back_alarms_after_a_whole_invitation_lifetime_of_runs(
    alarms_by_interval, interval, held_back_runs
):
    alarms = alarms_by_interval[interval]
    held_back = alarms["HeldBack"]
    assert held_back["MetricName"] == "ConsumersHeldBack"
    assert held_back["Statistic"] == "Minimum"  # the run held someone back
    assert held_back["Period"] == interval * 60  # one run per period
    # All runs of 12 hours but the one in which expired invitations freed the quota.
    assert held_back["DatapointsToAlarm"] == held_back_runs
    assert held_back["EvaluationPeriods"] == held_back_runs + 1
    assert held_back["Period"] * held_back_runs >= 12 * 3600
    for alarm in alarms.values():
        # PutMetricAlarm: Period x EvaluationPeriods at most 1 day below hourly periods, else 7.
        limit = 86_400 if alarm["Period"] < 3600 else 604_800
        assert alarm["Period"] * alarm["EvaluationPeriods"] <= limit
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["Namespace"] == NAMESPACE
        [dimension] = alarm["Dimensions"]
        assert dimension["Name"] == FUNCTION_DIMENSION


def test_one_expired_or_failed_consumer_is_enough_to_alarm(alarms_by_interval):
    alarms = alarms_by_interval[60]
    for name, metric in [
        ("ExpiredInvitations", "ExpiredInvitationsResent"),
        ("FailedAssociations", "AssociationsFailed"),
    ]:
        alarm = alarms[name]
        assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == (metric, "Sum", 1)
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["EvaluationPeriods"] == 1


def test_each_stack_has_a_dashboard_of_its_alarms_metrics_and_functions(example_app):
    for name, template in example_app.templates.items():
        (dashboard,) = resources_of_type(template, "AWS::CloudWatch::Dashboard").values()
        assert dashboard["Properties"]["DashboardName"] == name
        body = json.dumps(dashboard["Properties"]["DashboardBody"])
        for alarm_id in resources_of_type(template, "AWS::CloudWatch::Alarm"):
            assert json.dumps({"Fn::GetAtt": [alarm_id, "Arn"]}) in body
        for function_id in resources_of_type(template, "AWS::Lambda::Function"):
            if function_id.startswith(
                (
                    "InvitationAcceptor",
                    "LineageGroupShareOnEvent",
                    "LineageGroupShareIsComplete",
                    "LineageGroupShareReconcile",
                )
            ):
                assert json.dumps({"Ref": function_id}) in body, function_id
        for metric in ("InvitationsAccepted", "ConsumersHeldBack", "ShareInSync"):
            assert metric in body
