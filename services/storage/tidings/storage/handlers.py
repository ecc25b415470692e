"""The RPC handler table: every operation of tidings.common.schemas.OPERATIONS -> the driver.

Queue-scoped operations, the queue list and the pool/flavor admin operations go through the
pool router (:mod:`tidings.storage.pools`), which without pools is the default driver itself.
"""

from __future__ import annotations

from typing import cast

from tidings.common import schemas as s
from tidings.common.rpc import Handler
from tidings.storage.drivers import create_driver
from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.health import health_check
from tidings.storage.pools import PooledStorage


def build_handlers(driver: SqlDriver, pooled: PooledStorage | None = None) -> dict[str, Handler]:
    if pooled is None:  # pools are then managed but never opened by this process
        pooled = PooledStorage(
            driver, lambda url: create_driver(driver.settings, url=url), refresh_interval=0
        )

    async def ping(_: s.Schema) -> s.Schema:
        return s.PingReply(reachable=await driver.ping())

    async def health(req: s.Schema) -> s.Schema:
        return await health_check(driver, cast(s.ProjectScoped, req))

    handlers: dict[str, Handler] = {"health.ping": ping, "health.check": health}
    handlers.update(pooled.handlers())
    missing = set(s.OPERATIONS) - set(handlers)
    if missing:
        raise RuntimeError(f"no storage handler for {sorted(missing)}")
    return handlers
