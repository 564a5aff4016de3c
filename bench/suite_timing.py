"""Time the whole test suite as `make test` runs it; write bench/test_suite_timing_results.md.

Usage: python -m bench.suite_timing [--label after] [-- extra pytest arguments]

Reports wall time, the CPU time of the run (user + sys of pytest and every process it waited
for: workers, jsii node processes, subprocesses), each worker's CPU, the load average while it
ran (other work on the machine stretches wall times), and the 10 test phases that took the
most CPU (bench/suite_cpu_plugin.py).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "test_suite_timing_results.md"
MAKE_TEST = ["-n", "auto", "--maxprocesses", "4", "--dist", "loadfile"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="current checkout")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="PYTHONDONTWRITEBYTECODE=1, as `make test` ran before it kept bytecode",
    )
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp()) / "cpu"
    env = {**os.environ, "SUITE_CPU_OUT": str(out)}
    env["PYTHONDONTWRITEBYTECODE"] = "1" if args.no_bytecode_cache else ""
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "bench"), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "pytest", *MAKE_TEST, "-q", "-p", "suite_cpu_plugin"]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    completed = subprocess.run([*command, *args.pytest_args], cwd=REPO, env=env, check=False)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers = {
        p.name.split(".")[-2]: json.loads(p.read_text()) for p in out.parent.glob("cpu.*.json")
    }
    phases = sorted(
        (phase for data in workers.values() for phase in data["phases"]), key=lambda p: -p[2]
    )
    lines = [
        f"## {args.label} ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"- exit status {completed.returncode}; wall {wall:.0f} s; CPU {usage.ru_utime:.0f} s user"
        f" + {usage.ru_stime:.0f} s sys; load average {load_before:.1f} before, {load_after:.1f} after",
        "- CPU per worker: "
        + ", ".join(f"{w} {d['process_cpu']:.0f} s" for w, d in sorted(workers.items())),
        "",
        "| CPU s | wall s | phase | test |",
        "|---:|---:|---|---|",
        *(
            f"| {cpu:.1f} | {w:.1f} | {phase} | `{nodeid}` |"
            for nodeid, phase, cpu, w in phases[:10]
        ),
        "",
    ]
    with RESULTS.open("a") as results:
        results.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
