"""The storage service: FastAPI for probes and metrics, NATS RPC for the real work.

Run with ``uvicorn --factory tidings.storage.app:create_app``. Nothing connects at import time:
the lifespan opens the database (and migrates it), then connects NATS in the background, so
the service starts and answers probes even while NATS is still down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from nats.aio.client import Client as NATS

from tidings.common import metrics as common_metrics
from tidings.common.logging import configure_logging
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import RpcServer
from tidings.common.runtime import freeze_startup_heap
from tidings.common.tracing import FASTAPI_TELEMETRY_OFF, configure_tracing, shutdown_tracing
from tidings.storage.depth_metrics import DepthExporter
from tidings.storage.drivers import SqlDriver, create_driver
from tidings.storage.handlers import build_handlers
from tidings.storage.migrate import upgrade
from tidings.storage.outbox import EventsRetention, OutboxRelay, ensure_events_stream
from tidings.storage.pools import PooledStorage
from tidings.storage.settings import StorageSettings
from tidings.storage.sweeper import Sweeper

log = logging.getLogger(__name__)


def create_app(settings: StorageSettings | None = None) -> FastAPI:
    config = settings or StorageSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("storage", config.log_format, config.log_level)
        configure_tracing("storage")
        if config.message_encryption_key == "AES256":
            log.warning("TIDINGS_MESSAGE_ENCRYPTION_KEY is Zaqar's default; set a secret one")
        driver = create_driver(config)
        await driver.open()
        if config.migrate_on_start:
            await upgrade(driver.engine)
        relays: list[OutboxRelay] = []

        async def attach_pool(pool_driver: SqlDriver) -> Callable[[], Awaitable[None]]:
            # A pool database has its own outbox and expired rows: its own relay and sweeper.
            pool_relay = OutboxRelay(pool_driver, connection, config.outbox_retry_after)
            pool_driver.on_outbox_written = pool_relay.notify
            pool_sweeper = Sweeper(pool_driver, config.sweeper_interval, config.sweeper_batch_size)
            relays.append(pool_relay)
            pool_relay.start()
            pool_sweeper.start()

            async def detach() -> None:
                relays.remove(pool_relay)
                await pool_relay.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pool_relay.flush(), 5)
                await pool_sweeper.stop()

            return detach

        pooled = PooledStorage(
            driver,
            lambda url: create_driver(config, url=url),
            attach=attach_pool,
            migrate=config.migrate_on_start,
            refresh_interval=config.pool_refresh_interval,
        )
        server = RpcServer(build_handlers(driver, pooled))

        async def on_connect(client: NATS) -> None:
            await ensure_events_stream(
                client,
                EventsRetention(
                    config.events_duplicate_window, config.events_max_age, config.events_max_bytes
                ),
            )
            await server.subscribe(client)
            for each in relays:
                each.notify()  # publish what waited for the broker

        connection = NatsConnection(config.nats_url, "tidings-storage", on_connect)
        relay = OutboxRelay(driver, connection, config.outbox_retry_after)
        driver.on_outbox_written = relay.notify
        relays.append(relay)
        await pooled.start()
        sweeper = Sweeper(driver, config.sweeper_interval, config.sweeper_batch_size)
        depth = DepthExporter(
            pooled.drivers, config.depth_metrics_interval, config.depth_metrics_max_series
        )
        app.state.driver = driver
        app.state.nats = connection
        connection.start()
        relay.start()
        sweeper.start()
        depth.start()
        log.info("storage serving %s", driver.dialect)
        freeze_startup_heap()
        try:
            yield
        finally:
            # Finish requests in flight while NATS can still carry their replies, publish
            # what they committed, then drain NATS; rows left unpublished wait for any replica.
            await server.drain()
            await relay.stop()
            try:
                await asyncio.wait_for(relay.flush(), 5)
            except Exception:
                log.warning("outbox not flushed at shutdown; another pass will publish it")
            await connection.close()
            await server.drain()
            await sweeper.stop()
            await depth.stop()
            await pooled.close()
            await driver.close()
            shutdown_tracing()  # exports the spans still queued

    app = FastAPI(title="Tidings storage", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY_OFF)
    app.include_router(common_metrics.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, bool]:
        try:  # a probe must answer quickly even while the database hangs
            database = bool(await asyncio.wait_for(app.state.driver.ping(), 2))
        except TimeoutError:
            database = False
        nats = app.state.nats.client is not None
        if not (database and nats):
            response.status_code = 503
        return {"database": database, "nats": nats}

    return app


__all__ = ["create_app"]
