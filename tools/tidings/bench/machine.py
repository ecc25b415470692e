"""A one-line description of the machine a benchmark ran on, for the recorded figures."""

from __future__ import annotations

import os
import platform
import time

# The same machine size ran the benchmark at less than half the speed on some days than on
# others (a shared host): every figure moves with it, the raw PostgreSQL ceiling included. A
# fixed piece of pure Python, timed before the run, says which kind of day it was.
_REFERENCE_ITERATIONS = 2_000_000


def python_speed() -> float:
    """Millions of iterations a second of a plain Python loop on one core (best of three)."""
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for i in range(_REFERENCE_ITERATIONS):
            total += i
        best = min(best, time.perf_counter() - began)
    return _REFERENCE_ITERATIONS / best / 1e6


def describe_machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}, "
        f"reference loop {python_speed():.1f}M iterations/s"
    )
