"""The REST api service: ``uvicorn --factory tidings.api.app:create_app``.

Nothing connects at import time. The lifespan opens one NATS connection (in the background,
so the service answers probes and fast 503s while NATS is down) and one storage RPC client
that every request shares.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from tidings.api.auth import build_authenticator
from tidings.api.console import build_router as build_console_router
from tidings.api.errors import install_error_handlers
from tidings.api.kinds import QUEUES
from tidings.api.observe import ObserveRequests
from tidings.api.openapi import describe_parameters
from tidings.api.pipeline import route_methods
from tidings.api.policy import Policy, PolicyEnforced
from tidings.api.rate_limit import RateLimiter
from tidings.api.rate_sync import RateLimitExchange
from tidings.api.routes import (
    claims,
    home,
    messages,
    ping,
    pools,
    probes,
    queues,
    share,
    subscriptions,
    topics,
)
from tidings.api.settings import ApiSettings
from tidings.common import metrics as common_metrics
from tidings.common.logging import configure_logging
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import StorageClient
from tidings.common.runtime import freeze_startup_heap
from tidings.common.subscription_trusts import SubscriptionTrusts
from tidings.common.tracing import FASTAPI_TELEMETRY_OFF, configure_tracing, shutdown_tracing
from tidings.common.trusts import TrustBroker

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    config = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("api", config.log_format, config.log_level)
        configure_tracing("api")
        limiter: RateLimiter | None = app.state.rate_limiter
        exchange = (
            RateLimitExchange(limiter, config.rate_limit_sync_interval)
            if limiter is not None
            else None
        )
        connection = NatsConnection(
            config.nats_url, "tidings-api", exchange.subscribe if exchange is not None else None
        )
        app.state.nats = connection
        app.state.storage = StorageClient(connection, config.rpc_timeout)
        connection.start()
        if exchange is not None:
            exchange.start(connection)
        log.info("api ready (admin_mode=%s, auth=%s)", config.admin_mode, config.auth_strategy)
        freeze_startup_heap()
        try:
            yield
        finally:
            if exchange is not None:
                await exchange.stop()
            await connection.close()
            shutdown_tracing()  # exports the spans still queued

    app = FastAPI(
        title="Tidings REST API (Zaqar v2)",
        version="2",
        lifespan=lifespan,
        # Zaqar matches paths segment-exactly: /v2 and /v2/queues/ are 404, never redirects.
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        telemetry=FASTAPI_TELEMETRY_OFF,
    )
    app.state.settings = config
    app.state.authenticator = PolicyEnforced(
        build_authenticator(config), Policy(config.policy_file)
    )
    app.state.subscription_trusts = SubscriptionTrusts(
        TrustBroker(config) if config.auth_strategy == "keystone" else None
    )
    app.state.home_document = home.home_document(config.admin_mode, config.pooling)
    limiter = RateLimiter(
        config.rate_limit_per_second, config.rate_limit_burst, config.rate_limit_overrides
    )
    app.state.rate_limiter = limiter if limiter.enabled else None
    install_error_handlers(app)
    app.add_middleware(ObserveRequests)
    if config.cors_allowed_origins:  # outermost, so that refusals carry CORS headers too
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_allowed_origins,
            allow_credentials=config.cors_allow_credentials,
            allow_methods=config.cors_allow_methods,
            allow_headers=config.cors_allow_headers,
            expose_headers=config.cors_expose_headers,
            max_age=config.cors_max_age,
        )

    # The busiest routes first: a request is matched against the routes in order.
    routers = [
        messages.build_router(QUEUES),
        claims.router,
        queues.build_router(QUEUES),
        probes.router,
        common_metrics.router,
        home.router,
        ping.router,
        *([ping.admin_router] if config.admin_mode else []),
        *([pools.router] if config.admin_mode and config.pooling else []),
        subscriptions.router,
        share.router,
        topics.router,
        build_console_router(config),
    ]
    for router in routers:
        _add_routes(app, router)
    app.state.route_methods = route_methods(app.router.routes)
    _finish_document(app, config)
    return app


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """Put a router's routes on the app itself.

    ``include_router`` keeps each router behind a wrapper that matches a request twice through
    every route it holds: 57 us to reach the message post route, a fifth of the api's CPU per
    post. Our routers carry no prefix or dependencies of their own (their tags are already on
    each route), so their routes are final as they are.
    """
    app.router.routes.extend(router.routes)


def _finish_document(app: FastAPI, config: ApiSettings) -> None:
    """Drop FastAPI's automatic 422 responses from the document: every input is declared as an
    optional string and parsed by tidings.common.validation, so no route ever answers 422;
    then describe the parameters as that parsing accepts them."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            describe_parameters(schema, config)
            for methods in schema.get("paths", {}).values():
                for operation in methods.values():
                    operation.get("responses", {}).pop("422", None)
            schemas = schema.get("components", {}).get("schemas", {})
            schemas.pop("HTTPValidationError", None)
            schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app"]
