"""CloudWatch, as far as the stacks' own alarms need it: the functions' log output becomes
metrics (Embedded Metric Format), and an alarm from a template is evaluated over them.

The handlers' real EMF edge writes into `MetricStore.log_stream()`; each line that is an EMF
document becomes one datapoint per metric it declares (specification: `_aws.Timestamp`,
`_aws.CloudWatchMetrics[].Namespace/Dimensions/Metrics`, values and dimension values at the top
level). `alarm_state` evaluates a static-threshold alarm as CloudWatch documents it: the last
EvaluationPeriods whole periods, each reduced by the alarm's statistic, DatapointsToAlarm of
them breaching; a period without data is treated as TreatMissingData says. Inference: which
periods count as "the last" at a given moment is not documented to the second; here the
periods that ended at or before it.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "Sum": sum,
    "Minimum": min,
    "Maximum": max,
    "Average": lambda values: sum(values) / len(values),
    "SampleCount": len,
}
_COMPARISONS = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


@dataclass(frozen=True)
class Datapoint:
    namespace: str
    name: str
    dimensions: frozenset[tuple[str, str]]
    at: datetime
    value: float


class MetricStore:
    """Datapoints extracted from the EMF documents the functions printed."""

    def __init__(self) -> None:
        self.datapoints: list[Datapoint] = []

    def log_stream(self) -> _LogStream:
        """A text stream for a function's output (what `print` writes to on Lambda)."""
        return _LogStream(self.ingest)

    def ingest(self, line: str) -> None:
        try:
            document = json.loads(line)
        except ValueError:
            return  # not every log line is a metric
        metadata = document.get("_aws") if isinstance(document, dict) else None
        if not isinstance(metadata, dict):
            return
        at = datetime.fromtimestamp(metadata["Timestamp"] / 1000, UTC)
        for directive in metadata["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = frozenset((key, str(document[key])) for key in dimension_set)
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    self.datapoints.append(
                        Datapoint(directive["Namespace"], metric["Name"], dimensions, at, value)
                    )

    def values(
        self,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        start: datetime,
        end: datetime,
    ) -> list[float]:
        wanted = frozenset(dimensions.items())
        return [
            point.value
            for point in self.datapoints
            if (point.namespace, point.name, point.dimensions) == (namespace, name, wanted)
            and start <= point.at < end
        ]


class _LogStream:
    def __init__(self, ingest: Callable[[str], None]) -> None:
        self._ingest = ingest
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._ingest(line)
        return len(text)

    def flush(self) -> None:
        pass


def alarm_state(alarm: Mapping[str, Any], store: MetricStore, now: datetime) -> str:
    """`ALARM` or `OK` for an AWS::CloudWatch::Alarm's (resolved) properties at `now`."""
    for unsupported in ("Metrics", "ExtendedStatistic", "ThresholdMetricId"):
        if unsupported in alarm:
            raise NotImplementedError(f"alarm {unsupported}")
    period = timedelta(seconds=alarm["Period"])
    periods = alarm["EvaluationPeriods"]
    needed = alarm.get("DatapointsToAlarm", periods)
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    reduce = _STATISTICS[alarm["Statistic"]]
    compare = _COMPARISONS[alarm["ComparisonOperator"]]
    missing = alarm.get("TreatMissingData", "missing")
    if missing not in ("notBreaching", "breaching"):
        raise NotImplementedError(f"TreatMissingData {missing}")
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    last_end = epoch + ((now - epoch) // period) * period
    breaching = 0
    for index in range(periods):
        end = last_end - index * period
        values = store.values(
            alarm["Namespace"], alarm["MetricName"], dimensions, end - period, end
        )
        if values:
            breaching += compare(reduce(values), alarm["Threshold"])
        else:
            breaching += missing == "breaching"
    return "ALARM" if breaching >= needed else "OK"
