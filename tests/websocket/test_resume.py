"""Resume after reconnect: replay of the backlog, then live, with no gap and no duplicate."""

from __future__ import annotations

import asyncio

import httpx

from tests.websocket.conftest import ClientFactory
from tests.websocket.test_subscriptions import rest_post


async def test_resume_replays_the_missed_messages_then_goes_live(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    first = await ws_factory(replica=0)
    project = first.project
    await first.call("subscription_create", {"queue_name": "r"})
    posted = rest_post(rest, project, "r", *range(5))
    seen = await first.pushes_of(5)
    await first.close()

    # Missed while away: more than two pages of backlog.
    posted += rest_post(rest, project, "r", *range(5, 50))

    # A producer keeps posting while the client resumes: the race the buffer covers.
    async def produce() -> list[str]:
        ids: list[str] = []
        for n in range(50, 80):
            ids += await asyncio.to_thread(rest_post, rest, project, "r", n)
        return ids

    producer = asyncio.create_task(produce())
    await asyncio.sleep(0.05)
    second = await ws_factory(replica=1, project=project, binary=True)
    status, body = await second.call(
        "subscription_create", {"queue_name": "r", "resume_marker": seen[-1]["marker"]}
    )
    assert status == 201 and body["message"] == "Subscription r created."
    posted += await producer
    resumed = await second.pushes_of(75, timeout=15)
    await second.no_push(0.5)

    got = [p["message_id"] for p in seen] + [p["message_id"] for p in resumed]
    assert got == posted  # every message once, in post order
    assert [p["body"] for p in resumed] == list(range(5, 80))
    markers = [int(p["marker"]) for p in resumed]
    assert markers == sorted(set(markers))


async def test_resume_from_the_end_only_goes_live(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    client = await ws_factory()
    rest_post(rest, client.project, "e", 1, 2)
    status, listed = await client.call(
        "message_list", {"queue_name": "e", "echo": True, "limit": 20}
    )
    assert status == 200
    await client.call("subscription_create", {"queue_name": "e", "resume_marker": listed["marker"]})
    await client.no_push(0.3)
    rest_post(rest, client.project, "e", 3)
    assert (await client.push())["body"] == 3
    await client.no_push(0.3)


async def test_resume_from_a_list_marker_replays_the_rest(
    ws_factory: ClientFactory, rest: httpx.Client
) -> None:
    client = await ws_factory()
    ids = rest_post(rest, client.project, "m", *range(6))
    _, page = await client.call("message_list", {"queue_name": "m", "echo": True, "limit": 2})
    await client.call("subscription_create", {"queue_name": "m", "resume_marker": page["marker"]})
    replayed = await client.pushes_of(4)
    assert [p["message_id"] for p in replayed] == ids[2:]
    await client.no_push(0.3)
