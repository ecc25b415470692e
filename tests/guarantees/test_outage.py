"""Guarantee 7: while storage or NATS is down the api answers fast 503s with a Zaqar body, and
the suite recovers by itself when the dependency returns (the api is never restarted)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.fixtures.nats import NatsFactory
from tests.fixtures.suite import Suite, SuiteFactory
from tests.guarantees.load import new_client

pytestmark = pytest.mark.slow

FAST = 2.0  # seconds a 503 may take
RECOVERY = 30.0  # seconds the suite may take to heal once the dependency is back
QUEUE = "outage"


async def exercise(http: httpx.AsyncClient) -> list[tuple[str, httpx.Response, float]]:
    """One of each kind of call: a write, a read, a claim, a queue create."""
    calls = [
        ("post", "POST", f"/v2/queues/{QUEUE}/messages", {"messages": [{"body": "x"}]}),
        ("list", "GET", f"/v2/queues/{QUEUE}/messages?echo=true", None),
        ("claim", "POST", f"/v2/queues/{QUEUE}/claims", {"ttl": 60, "grace": 60}),
        ("create", "PUT", "/v2/queues/another", None),
        ("stats", "GET", f"/v2/queues/{QUEUE}/stats", None),
    ]
    results = []
    for name, method, path, body in calls:
        started = time.monotonic()
        response = await http.request(method, path, json=body)
        results.append((name, response, time.monotonic() - started))
    return results


async def assert_unavailable(http: httpx.AsyncClient) -> None:
    for name, response, elapsed in await exercise(http):
        assert response.status_code == 503, (name, response.status_code, response.text)
        body = response.json()
        assert body["title"] == "Service temporarily unavailable", body
        assert body["description"].endswith("Please try again in a few seconds."), body
        assert elapsed < FAST, f"{name} took {elapsed:.2f} s to fail"


async def assert_recovers(http: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + RECOVERY
    while True:
        statuses = {name: r.status_code for name, r, _ in await exercise(http)}
        if all(status < 300 for status in statuses.values()):
            return
        assert time.monotonic() < deadline, f"not recovered after {RECOVERY} s: {statuses}"
        await asyncio.sleep(0.5)


async def assert_serving(suite: Suite, http: httpx.AsyncClient) -> None:
    response = await http.post(f"/v2/queues/{QUEUE}/messages", json={"messages": [{"body": 1}]})
    assert response.status_code == 201, response.text


async def test_storage_outage_gives_fast_503_and_heals(suite_factory: SuiteFactory) -> None:
    suite = suite_factory()
    api_pid = suite.api[0].pid
    async with new_client(suite.api_url, "outage-storage") as http:
        await assert_serving(suite, http)
        suite.storage[0].kill()
        await assert_unavailable(http)
        ready = await http.get(f"{suite.api[0].url}/readyz")
        assert ready.status_code == 503  # and says so to the orchestrator

        suite.storage[0].start()
        await assert_recovers(http)
    assert suite.api[0].pid == api_pid and suite.api[0].running


async def test_nats_outage_gives_fast_503_and_heals(
    suite_factory: SuiteFactory, nats_factory: NatsFactory
) -> None:
    nats = nats_factory()
    suite = suite_factory(nats_url=nats.url)
    pids = [service.pid for service in suite.services]
    async with new_client(suite.api_url, "outage-nats") as http:
        await assert_serving(suite, http)
        nats.kill()
        await assert_unavailable(http)

        nats.start()  # same port, same JetStream store
        await assert_recovers(http)
    assert [service.pid for service in suite.services] == pids
    assert all(service.running for service in suite.services)
