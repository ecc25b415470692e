"""The websocket service: the Zaqar WebSocket API on any URL path, probes and metrics.

Run with ``uvicorn --factory tidings.websocket.app:create_app --port 9000``. Idle and broken
connections are found by uvicorn's WebSocket keepalive pings (``--ws-ping-interval``,
``--ws-ping-timeout``; 20 s each by default): a client that does not answer is closed.
Nothing connects at import time; the lifespan opens NATS in the background, so the service
starts while NATS is down and answers 503s until it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response, WebSocket

from tidings.common import metrics as common_metrics
from tidings.common import schemas as s
from tidings.common.errors import TidingsError
from tidings.common.logging import configure_logging
from tidings.common.nats_connection import NatsConnection
from tidings.common.policy import Policy
from tidings.common.rpc import StorageClient
from tidings.common.runtime import freeze_startup_heap
from tidings.common.subscription_trusts import SubscriptionTrusts
from tidings.common.tracing import FASTAPI_TELEMETRY_OFF, configure_tracing, shutdown_tracing
from tidings.common.trusts import TrustBroker
from tidings.websocket.auth import build_authenticator
from tidings.websocket.dispatch import Dispatcher
from tidings.websocket.endpoint import serve_socket
from tidings.websocket.fanout import Fanout
from tidings.websocket.settings import WebsocketSettings
from tidings.websocket.wire import RawSendCapture

log = logging.getLogger(__name__)

READINESS_TIMEOUT = 1.0


def create_app(settings: WebsocketSettings | None = None) -> FastAPI:
    config = settings or WebsocketSettings()
    policy = Policy(config.policy_file)  # a missing or broken policy file stops the start

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("websocket", config.log_format, config.log_level)
        configure_tracing("websocket")
        connection = NatsConnection(config.nats_url, "tidings-websocket")
        storage = StorageClient(connection, config.rpc_timeout)
        app.state.nats = connection
        app.state.storage = storage
        app.state.fanout = Fanout(connection, config.push_batch_window)
        trusts = SubscriptionTrusts(
            TrustBroker(config) if config.auth_strategy == "keystone" else None
        )
        app.state.dispatcher = Dispatcher(
            config, storage, build_authenticator(config), policy, trusts
        )
        connection.start()
        log.info("websocket API on ws://%s:%s/", config.host, config.port)
        freeze_startup_heap()
        try:
            yield
        finally:
            await connection.close()
            shutdown_tracing()  # exports the spans still queued

    app = FastAPI(title="Tidings WebSocket API", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY_OFF)
    app.add_middleware(RawSendCapture)  # lets pushes skip the ASGI send chain (wire.py)
    app.include_router(common_metrics.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, bool]:
        nats = app.state.nats.client is not None
        storage = False
        if nats:
            try:
                ping = await asyncio.wait_for(
                    app.state.storage.call("health.ping", s.Empty(), s.PingReply),
                    READINESS_TIMEOUT,
                )
                storage = ping.reachable
            except (TidingsError, TimeoutError):
                storage = False
        if not (nats and storage):
            response.status_code = 503
        return {"nats": nats, "storage": storage}

    @app.websocket("/{path:path}")
    async def socket(websocket: WebSocket, path: str) -> None:
        # Any URL path is accepted, as in Zaqar.
        await serve_socket(websocket, app.state.dispatcher, app.state.fanout, config)

    return app


__all__ = ["create_app"]
