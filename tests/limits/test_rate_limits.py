"""The request rate limit is shared by the api replicas: hammering both for a few seconds, the
project gets about its rate in all (not once per replica), refusals are 429 with Retry-After
and a Zaqar body, and the counters of both replicas move."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from tests.limits.conftest import RATE, LimitedSuite
from tests.ops.conftest import scrape

DURATION = 4.0  # seconds of load
WORKERS_PER_REPLICA = 4
MAX_REQUESTS_PER_WORKER = 2000


async def hammer(url: str, project: str, deadline: float) -> tuple[int, list[httpx.Response]]:
    """(requests admitted, a sample of the refusals) until the deadline or the request cap."""
    admitted = 0
    refusals: list[httpx.Response] = []
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": project}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
        for _ in range(MAX_REQUESTS_PER_WORKER):
            if time.monotonic() >= deadline:
                break
            response = await client.get("/v2/queues")
            if response.status_code == 429:
                if len(refusals) < 5:
                    refusals.append(response)
                await asyncio.sleep(0.005)  # a client that retries at once, nearly
            else:
                assert response.status_code == 200, response.text
                admitted += 1
    return admitted, refusals


async def test_two_replicas_share_one_rate(limited_suite: LimitedSuite) -> None:
    apis = limited_suite.api
    refused_before = sum(scrape(api).value("tidings_rate_limited_requests_total") for api in apis)
    started = time.monotonic()
    deadline = started + DURATION
    results = await asyncio.gather(
        *(
            hammer(api.url, limited_suite.rate_project, deadline)
            for api in apis
            for _ in range(WORKERS_PER_REPLICA)
        )
    )
    elapsed = time.monotonic() - started
    by_replica = [
        sum(
            admitted
            for admitted, _ in results[i * WORKERS_PER_REPLICA : (i + 1) * WORKERS_PER_REPLICA]
        )
        for i in range(len(apis))
    ]
    total = sum(by_replica)
    burst = RATE  # the default burst: one second's worth
    shared = burst + RATE * elapsed  # what one global bucket admits
    alone = len(apis) * shared  # what replicas limiting on their own would admit
    # Both replicas served, and together about one rate: the slack is what replicas admit
    # before hearing of each other (about one burst each at the start, a sync interval after).
    assert all(count > 0 for count in by_replica), by_replica
    assert 0.7 * RATE * elapsed <= total <= shared + burst + RATE, (by_replica, elapsed)
    assert total < 0.7 * alone
    refusals = [r for _, sample in results for r in sample]
    assert refusals, "the load never went over the limit"
    for response in refusals:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["title"] == "Too many requests"
        assert "requests a second" in response.json()["description"]
    scrapes = [scrape(api) for api in apis]
    refused_after = sum(s.value("tidings_rate_limited_requests_total") for s in scrapes)
    assert refused_after > refused_before
    for s in scrapes:
        assert s.value("tidings_rate_limit_reports_total", direction="sent") > 0
        assert s.value("tidings_rate_limit_reports_total", direction="received") > 0


def test_other_projects_are_not_limited(limited_suite: LimitedSuite) -> None:
    headers = {"Client-ID": str(uuid.uuid4()), "X-Project-ID": f"free {uuid.uuid4().hex[:8]}"}
    with httpx.Client(base_url=limited_suite.api[0].url, headers=headers, timeout=10) as client:
        statuses = {client.get("/v2/queues").status_code for _ in range(3 * RATE)}
    assert statuses == {200}
