"""The notifier service: ``uvicorn --factory tidings.notifier.app:create_app``.

FastAPI serves the probes and ``/metrics``; the work is the JetStream consumer started in the
lifespan. Nothing connects at import time. ``/readyz`` is 200 once NATS is connected and the
durable consumer is bound.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Response
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from tidings.common import metrics as common_metrics
from tidings.common.events import SUBSCRIPTION_CHANGED, SubscriptionChangedEvent
from tidings.common.logging import configure_logging
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import StorageClient
from tidings.common.subjects import EVENTS_PREFIX
from tidings.common.tracing import FASTAPI_TELEMETRY_OFF, configure_tracing, shutdown_tracing
from tidings.notifier.channels import MailChannel, WebhookChannel
from tidings.notifier.consumer import EventConsumer
from tidings.notifier.dispatcher import Dispatcher
from tidings.notifier.guard import AddressGuard, GuardedResolver
from tidings.notifier.settings import NotifierSettings
from tidings.notifier.smtp_pool import SmtpConfig
from tidings.notifier.targets import TargetCache
from tidings.notifier.trust_tokens import TrustTokens

log = logging.getLogger(__name__)

USER_AGENT = "tidings-notifier"


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    config = settings or NotifierSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("notifier", config.log_format, config.log_level)
        configure_tracing("notifier")
        if config.require_confirmation and not config.signed_url_secret_key:
            log.warning("require_confirmation needs TIDINGS_SIGNED_URL_SECRET_KEY; it is off")

        async def on_connect(client: NATS) -> None:
            # Every replica drops cached subscriptions of a queue when they change; the
            # durable consumer hands each change to one replica only.
            await client.subscribe(
                f"{EVENTS_PREFIX}.*.*.{SUBSCRIPTION_CHANGED}", cb=on_subscription_changed
            )

        async def on_subscription_changed(msg: Msg) -> None:
            try:
                event = SubscriptionChangedEvent.model_validate_json(msg.data)
            except ValueError:
                return
            targets.invalidate(event.project, event.queue)

        connection = NatsConnection(config.nats_url, "tidings-notifier", on_connect)
        storage = StorageClient(connection, config.rpc_timeout)
        targets = TargetCache(storage, config.subscription_cache_ttl)
        guard = AddressGuard(config.webhook_blocked_networks)
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=config.max_concurrent_deliveries, resolver=GuardedResolver(guard)
            ),
            headers={"User-Agent": USER_AGENT},
            # Each attempt has its own deadline (WebhookChannel); no cookies between tenants.
            timeout=aiohttp.ClientTimeout(total=None),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        mail = MailChannel(
            SmtpConfig(
                host=config.smtp_host,
                port=config.smtp_port,
                security=config.smtp_security,
                username=config.smtp_username,
                password=config.smtp_password,
                timeout=config.smtp_timeout,
                max_connections=config.smtp_max_connections,
                idle_timeout=config.smtp_idle_timeout,
            )
        )
        dispatcher = Dispatcher(
            WebhookChannel(http, config.delivery_timeout, guard),
            mail,
            storage,
            TrustTokens(config, config.trust_token_refresh_margin),
            per_subscriber=config.per_subscriber_concurrency,
            total=config.max_concurrent_deliveries,
            failed_retention=config.failed_delivery_retention,
        )
        consumer = EventConsumer(config, connection, storage, targets, dispatcher)
        app.state.nats = connection
        app.state.consumer = consumer
        connection.start()
        consumer.start()
        log.info("notifier started (consumer %s)", config.consumer_name)
        try:
            yield
        finally:
            # Unacked events go back to JetStream for another replica (or this one, restarted).
            await consumer.stop()
            await dispatcher.close()
            await mail.close()
            await http.close()
            await connection.close()
            shutdown_tracing()  # exports the spans still queued

    app = FastAPI(title="Tidings notifier", lifespan=lifespan, telemetry=FASTAPI_TELEMETRY_OFF)
    app.include_router(common_metrics.router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(response: Response) -> dict[str, bool]:
        nats = app.state.nats.client is not None
        consumer = app.state.consumer.bound.is_set()
        if not (nats and consumer):
            response.status_code = 503
        return {"nats": nats, "consumer": consumer}

    return app


__all__ = ["create_app"]
