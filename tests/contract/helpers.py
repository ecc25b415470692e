"""Small builders shared by the contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import JsonValue

from tidings.common import schemas as s
from tidings.storage.drivers import SqlDriver

ME = "a" * 32  # the requesting client (client ids arrive normalised)
OTHER = "b" * 32


async def post(
    driver: SqlDriver,
    project: str,
    queue: str,
    bodies: Sequence[JsonValue],
    *,
    client_id: str = OTHER,
    **message_fields: Any,
) -> list[str]:
    reply = await driver.message_post(
        s.MessagePostRequest(
            project=project,
            queue=queue,
            client_id=client_id,
            messages=[s.NewMessage(body=b, **message_fields) for b in bodies],
        )
    )
    return reply.ids


async def list_all(
    driver: SqlDriver, project: str, queue: str, *, page: int = 10, **flags: Any
) -> list[s.Message]:
    """Every message a client would see paging with markers until an empty page."""
    seen: list[s.Message] = []
    marker: str | None = None
    for _ in range(10_000):
        reply = await driver.message_list(
            s.MessageListRequest(
                project=project, queue=queue, client_id=ME, marker=marker, limit=page, **flags
            )
        )
        if not reply.messages:
            return seen
        seen.extend(reply.messages)
        marker = reply.marker
    raise AssertionError("paging did not end")


async def claim(
    driver: SqlDriver, project: str, queue: str, *, ttl: int = 60, grace: int = 60, limit: int = 10
) -> s.ClaimCreateReply:
    return await driver.claim_create(
        s.ClaimCreateRequest(project=project, queue=queue, ttl=ttl, grace=grace, limit=limit)
    )
