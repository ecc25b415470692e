"""Guarantee 3: no message is held by two live claims, with two storage replicas on
PostgreSQL and concurrent claimers going through the api."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.fixtures.suite import Suite
from tests.guarantees.load import new_client

pytestmark = pytest.mark.slow

MESSAGES = 300
CLAIMERS = 8


async def test_concurrent_claims_never_share_a_message(pg_suite: Suite) -> None:
    project, queue = "claims-exclusive", "jobs"
    async with new_client(pg_suite.api_url, project) as http:
        for start in range(0, MESSAGES, 50):
            body = {"messages": [{"body": start + i, "ttl": 600} for i in range(50)]}
            response = await http.post(f"/v2/queues/{queue}/messages", json=body)
            assert response.status_code == 201, response.text

    claims: dict[str, list[str]] = {}
    deadline = time.monotonic() + 30

    async def claimer() -> None:
        async with new_client(pg_suite.api_url, project) as http:
            for _ in range(MESSAGES):  # never more rounds than messages
                assert time.monotonic() < deadline, "claiming took too long"
                response = await http.post(
                    f"/v2/queues/{queue}/claims?limit=5", json={"ttl": 300, "grace": 60}
                )
                if response.status_code == 204:
                    return  # nothing left to claim
                assert response.status_code == 201, response.text
                claim_id = response.headers["Location"].rsplit("/", 1)[1]
                assert claim_id not in claims
                claims[claim_id] = [m["id"] for m in response.json()["messages"]]

    await asyncio.gather(*(claimer() for _ in range(CLAIMERS)))

    held = [message_id for ids in claims.values() for message_id in ids]
    assert len(held) == len(set(held)), "a message was returned by two live claims"
    assert len(held) == MESSAGES  # and every message was claimed once
    assert len(claims) >= MESSAGES // 5

    # Both replicas took part: each counted some of the claimed messages.
    async with httpx.AsyncClient(timeout=5) as http:
        for replica in pg_suite.storage:
            metrics = (await http.get(f"{replica.url}/metrics")).text
            assert claimed_count(metrics) > 0, f"{replica.name} served no claim"


def claimed_count(metrics: str) -> float:
    for line in metrics.splitlines():
        if line.startswith("tidings_messages_claimed_total "):
            return float(line.split()[1])
    return 0.0
