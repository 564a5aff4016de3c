"""What the handlers report (CloudWatch metrics), the alarms on it that mean action, and a
dashboard per stack.

The acceptor and the reconcile schedule print one Embedded Metric Format document per run
(lambda/*/embedded_metrics.py): namespace `LineageSharing`, dimension `FunctionName`, the
metric names below (a test keeps them equal to the handlers'). Alarms here watch only what a
person must act on; the handlers heal everything else by themselves.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

NAMESPACE = "LineageSharing"
FUNCTION_DIMENSION = "FunctionName"
ACCEPTOR_METRICS = (
    "InvitationsAccepted",
    "InvitationsAlreadyAccepted",
    "InvitationsSkipped",
    "InvitationsExpired",
    "InvitationsFailed",
    "InvitationsPending",
)
RECONCILE_METRICS = (
    "ConsumersInvited",
    "ExpiredInvitationsResent",
    "AssociationsFailed",
    "ConsumersRemoved",
    "ConsumersHeldBack",
    "ReinvitesDeferred",
    "ShareInSync",
)
# RAM invitations expire after 12 hours (FACTS): a consumer held back that long means the
# invitations ahead of it were not accepted within their whole lifetime.
INVITATION_LIFETIME = Duration.hours(12)
WIDGET_WIDTH = 12  # of the dashboard's 24 columns: two graphs side by side


def handler_metric(function: lambda_.IFunction, name: str, *, statistic: str, period: Duration):
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=name,
        dimensions_map={FUNCTION_DIMENSION: function.function_name},
        statistic=statistic,
        period=period,
    )


def _graph(title: str, metrics: Sequence[cloudwatch.IMetric]) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=WIDGET_WIDTH)


class AcceptorMonitoring(Construct):
    """The acceptor's metrics as dashboard widgets. No alarm of its own: a failed invitation
    fails the run (the acceptor's Errors alarm), and the rest heals or is a person's choice."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        sweep_interval: Duration,
    ) -> None:
        super().__init__(scope, id_)
        counts = [
            handler_metric(function, name, statistic="Sum", period=sweep_interval)
            for name in ACCEPTOR_METRICS
            if name != "InvitationsPending"
        ]
        pending = handler_metric(
            function, "InvitationsPending", statistic="Maximum", period=sweep_interval
        )
        self.widgets: list[cloudwatch.IWidget] = [
            _graph("Invitations: acceptor runs", counts),
            _graph(
                "Invitations pending, dead letters",
                [
                    pending,
                    dead_letter_queue.metric_approximate_number_of_messages_visible(
                        period=sweep_interval
                    ),
                ],
            ),
        ]
        self.alarms: list[cloudwatch.Alarm] = []


class ReconcileMonitoring(Construct):
    """The reconcile schedule's metrics, widgets and the alarms that need a person.

    Each alarm's period is the schedule's interval, so every period holds one run; missing data
    (no run, or a run skipped during a deployment) counts as fine.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        function: lambda_.IFunction,
        reconcile_interval: Duration,
    ) -> None:
        super().__init__(scope, id_)
        period = reconcile_interval

        def metric(name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return handler_metric(function, name, statistic=statistic, period=period)

        # One expired invitation: a consumer had no access for 12 hours and nobody noticed. The
        # schedule has invited it again, but if its acceptor is missing or broken the new
        # invitation expires too: someone should deploy or fix that consumer's stack.
        self.expired_invitations_alarm = self._alarm(
            "ExpiredInvitationsAlarm",
            metric("ExpiredInvitationsResent"),
            "A consumer did not accept this account's lineage invitation within its 12 hours; it "
            "was invited again. Deploy or fix that consumer's stack (see the reconcile log's "
            "'reinvite' lines for the account).",
        )
        # RAM associated a consumer FAILED (or SUSPENDED it): the schedule associates it again
        # at most 3 times a day; RAM's message in the log says what to fix.
        self.failed_associations_alarm = self._alarm(
            "FailedAssociationsAlarm",
            metric("AssociationsFailed"),
            "RAM failed to associate a consumer with this account's lineage share; it is "
            "retried at most every 8 hours. RAM's statusMessage is in the reconcile log.",
        )
        # Held back for a whole invitation lifetime: the invited consumers are not accepting (or
        # the account's other shares fill the quota). Each time the invitations ahead expire,
        # the schedule invites the held-back consumers in the freed places first, so one run in
        # every 12 hours holds nobody back: the alarm wants all but one of the runs of 12 hours
        # and one interval to hold someone back (Minimum >= 1).
        lifetime = math.ceil(INVITATION_LIFETIME.to_minutes() / period.to_minutes())
        self.held_back_alarm = self._alarm(
            "HeldBackAlarm",
            metric("ConsumersHeldBack", statistic="Minimum"),
            "Consumers have waited about 12 hours for RAM's pending-invitation quota (20 per "
            "account): the invited consumers are not accepting, or this account's other shares "
            "fill the quota. Deploy the consumers' stacks.",
            periods=lifetime + 1,
            datapoints=lifetime,
        )
        self.alarms = [
            self.expired_invitations_alarm,
            self.failed_associations_alarm,
            self.held_back_alarm,
        ]
        self.widgets: list[cloudwatch.IWidget] = [
            _graph(
                "Consumers: reconcile runs",
                [
                    metric(name)
                    for name in RECONCILE_METRICS
                    if name not in ("ShareInSync", "ConsumersHeldBack")
                ],
            ),
            _graph(
                "Share in sync (1), consumers held back",
                [metric("ShareInSync", "Minimum"), metric("ConsumersHeldBack", "Maximum")],
            ),
        ]

    def _alarm(
        self,
        id_: str,
        metric: cloudwatch.Metric,
        description: str,
        *,
        periods: int = 1,
        datapoints: int = 1,
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            id_,
            alarm_description=description,
            metric=metric,
            threshold=1,
            evaluation_periods=periods,
            datapoints_to_alarm=datapoints,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


class OperationsDashboard(Construct):
    """One CloudWatch dashboard per stack: every alarm's state, the handlers' metrics, and the
    errors and invocations of every function."""

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        dashboard_name: str,
        alarms: Sequence[cloudwatch.IAlarm],
        widget_rows: Sequence[Sequence[cloudwatch.IWidget]],
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, id_)
        period = Duration.minutes(5)
        errors = [
            function.metric_errors(label=f"{label} errors", period=period)
            for label, function in functions.items()
        ]
        invocations = [
            function.metric_invocations(label=label, period=period)
            for label, function in functions.items()
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Resource",
            dashboard_name=dashboard_name,
            widgets=[
                [cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=24)],
                *(list(row) for row in widget_rows),
                [_graph("Function errors", errors), _graph("Function invocations", invocations)],
            ],
        )
