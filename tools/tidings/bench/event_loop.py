"""Runs a benchmark's coroutine on uvloop when it is installed (uvicorn[standard] brings it).

The benchmarks share the machine with the suite they measure: every microsecond the client
spends per request is taken from the services. uvloop about halves the client's cost per
request or frame against asyncio's default loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
