"""The RPC handler table: every operation of tidings.common.schemas.OPERATIONS -> the driver."""

from __future__ import annotations

from typing import Any, cast

from tidings.common import schemas as s
from tidings.common.rpc import Handler
from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.health import health_check


def build_handlers(driver: SqlDriver) -> dict[str, Handler]:
    async def ping(_: s.Schema) -> s.Schema:
        return s.PingReply(reachable=await driver.ping())

    async def health(req: s.Schema) -> s.Schema:
        return await health_check(driver, cast(s.ProjectScoped, req))

    handlers: dict[str, Handler] = {"health.ping": ping, "health.check": health}
    for operation in s.OPERATIONS:
        if operation in handlers:
            continue
        # "queue.list" is served by driver.queue_list, and so on for every operation.
        method: Any = getattr(driver, operation.replace(".", "_"))
        handlers[operation] = cast(Handler, method)
    return handlers
