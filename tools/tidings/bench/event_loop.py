"""Runs a benchmark's coroutine on uvloop when it is installed (uvicorn[standard] brings it).

The benchmarks share the machine with the suite they measure: every microsecond the client
spends per request is taken from the services. Against asyncio's default loop, uvloop took a
quarter off the REST client's CPU per request (139-150 -> 110-112 us) and about half off the
push benchmark's per frame.
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
