"""pytest plugin for bench/suite_timing.py: CPU seconds of each test phase, subprocesses included.

CPU time rather than wall time because the machine is shared: other processes stretch wall
times, much less the CPU a test needs. A phase's CPU is this process's, plus that of its
descendants (the jsii node process, `npx cdk`, batch synthesis processes) while they live and
once reaped. Results go to `$SUITE_CPU_OUT.<worker>.json`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

_TICKS = os.sysconf("SC_CLK_TCK")
_results: list[tuple[str, str, float, float]] = []


def _live_descendants_cpu() -> float:
    parents: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS)
    total, frontier = 0.0, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, cpu) in parents.items():
            if ppid == parent:
                total += cpu
                frontier.append(pid)
    return total


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system + _live_descendants_cpu()


def _measured(phase: str):
    @pytest.hookimpl(hookwrapper=True)
    def hook(item):
        cpu, wall = cpu_seconds(), time.perf_counter()
        yield
        _results.append((item.nodeid, phase, cpu_seconds() - cpu, time.perf_counter() - wall))

    return hook


pytest_runtest_setup = _measured("setup")
pytest_runtest_call = _measured("call")
pytest_runtest_teardown = _measured("teardown")


def pytest_sessionfinish(session):
    out = os.environ.get("SUITE_CPU_OUT")
    if out:
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        Path(f"{out}.{worker}.json").write_text(
            json.dumps({"phases": _results, "process_cpu": cpu_seconds()})
        )
