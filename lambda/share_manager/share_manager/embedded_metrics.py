"""The edge to CloudWatch metrics: one Embedded Metric Format (EMF) document per run.

CloudWatch Logs turns an EMF document in the function's log into metrics: no API call, no
permission beyond writing the function's own log group. The document is printed, not logged:
with Lambda's JSON log format a `logging` record becomes a JSON object that carries the text
under "message", and CloudWatch extracts EMF only from a document at the top level of the log
event; what the function prints is passed on as it is (Lambda docs: print output stays plain
text under the JSON log format).

Each Lambda asset is self-contained (no layer), so this file is in both handler packages, word
for word; a test keeps the two copies identical.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

NAMESPACE = "LineageSharing"
DIMENSION = "FunctionName"


class EmbeddedMetrics:
    """Prints each run's counts as one EMF document, dimensioned by the function's name."""

    def __init__(
        self,
        function_name: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.function_name = function_name
        self._stream = stream  # None: sys.stdout at the time of writing
        self._clock = clock

    def emit(self, counts: Mapping[str, int]) -> None:
        document = {
            "_aws": {
                "Timestamp": int(self._clock() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": NAMESPACE,
                        "Dimensions": [[DIMENSION]],
                        "Metrics": [{"Name": name, "Unit": "Count"} for name in counts],
                    }
                ],
            },
            DIMENSION: self.function_name,
            **counts,
        }
        print(
            json.dumps(document, separators=(",", ":")), file=self._stream or sys.stdout, flush=True
        )
