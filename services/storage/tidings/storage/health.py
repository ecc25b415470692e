"""The active health check of spec 2.4: exercise storage on a temporary queue, timing each step."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from tidings.common import schemas as s
from tidings.storage.drivers.sql import SqlDriver

log = logging.getLogger(__name__)

HEALTH_MESSAGES = 100
HEALTH_CLIENT_ID = "0" * 32


async def health_check(driver: SqlDriver, req: s.ProjectScoped) -> s.HealthReply:
    queue = f"_health_{uuid.uuid4().hex[:16]}"
    scope = {"project": req.project, "queue": queue}
    status: dict[str, dict[str, Any]] = {}

    async def step(name: str, action: Callable[[], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        try:
            result = await action()
        except Exception:
            ref = str(uuid.uuid4())
            log.exception("health check step %s failed (ref %s)", name, ref)
            status[name] = {
                "succeeded": False,
                "seconds": time.perf_counter() - started,
                "ref": ref,
            }
            return None
        status[name] = {"succeeded": True, "seconds": time.perf_counter() - started, "ref": None}
        return result

    reachable = await driver.ping()
    volume = {"free": 0, "claimed": 0, "total": 0}
    if not reachable:
        return s.HealthReply(storage_reachable=False, message_volume=volume, operation_status={})
    try:
        await step("create_queue", lambda: driver.queue_create(s.QueueCreateRequest(**scope)))
        posted = await step(
            "post_messages",
            lambda: driver.message_post(
                s.MessagePostRequest(
                    **scope,
                    client_id=HEALTH_CLIENT_ID,
                    messages=[s.NewMessage(body={"health": i}) for i in range(HEALTH_MESSAGES)],
                )
            ),
        )
        claim = await step(
            "claim_messages",
            lambda: driver.claim_create(s.ClaimCreateRequest(**scope, ttl=60, grace=60, limit=10)),
        )
        await step(
            "list_messages",
            lambda: driver.message_list(
                s.MessageListRequest(**scope, client_id=HEALTH_CLIENT_ID, echo=True)
            ),
        )
        if claim is not None and claim.messages:
            first = claim.messages[0]
            await step(
                "delete_messages",
                lambda: driver.message_delete(
                    s.MessageDeleteRequest(**scope, message_id=first.id, claim_id=claim.claim_id)
                ),
            )
            await step(
                "delete_claim",
                lambda: driver.claim_release(s.ClaimRequest(**scope, claim_id=claim.claim_id)),
            )
        if posted is not None:
            await step(
                "bulk_delete_messages",
                lambda: driver.message_delete_many(
                    s.MessageDeleteManyRequest(**scope, message_ids=posted.ids)
                ),
            )
        stats = await driver.queue_stats(s.QueueScoped(**scope))
        volume = {"free": stats.free, "claimed": stats.claimed, "total": stats.total}
    finally:
        await step("delete_queue", lambda: driver.queue_delete(s.QueueScoped(**scope)))
    return s.HealthReply(storage_reachable=True, message_volume=volume, operation_status=status)
