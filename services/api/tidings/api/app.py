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

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from tidings.api.auth import build_authenticator
from tidings.api.console import build_router as build_console_router
from tidings.api.errors import install_error_handlers
from tidings.api.kinds import QUEUES
from tidings.api.observe import ObserveRequests
from tidings.api.openapi import describe_parameters
from tidings.api.pipeline import route_methods
from tidings.api.policy import Policy, PolicyEnforced
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

log = logging.getLogger(__name__)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    config = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging("api", config.log_format, config.log_level)
        connection = NatsConnection(config.nats_url, "tidings-api")
        app.state.nats = connection
        app.state.storage = StorageClient(connection, config.rpc_timeout)
        connection.start()
        log.info("api ready (admin_mode=%s, auth=%s)", config.admin_mode, config.auth_strategy)
        freeze_startup_heap()
        try:
            yield
        finally:
            await connection.close()

    app = FastAPI(
        title="Tidings REST API (Zaqar v2)",
        version="2",
        lifespan=lifespan,
        # Zaqar matches paths segment-exactly: /v2 and /v2/queues/ are 404, never redirects.
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = config
    app.state.authenticator = PolicyEnforced(
        build_authenticator(config), Policy(config.policy_file)
    )
    app.state.home_document = home.home_document(config.admin_mode, config.pooling)
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

    app.include_router(probes.router)
    app.include_router(common_metrics.router)
    app.include_router(home.router)
    app.include_router(ping.router)
    if config.admin_mode:
        app.include_router(ping.admin_router)
    if config.admin_mode and config.pooling:
        app.include_router(pools.router)
    app.include_router(queues.build_router(QUEUES))
    app.include_router(messages.build_router(QUEUES))
    app.include_router(claims.router)
    app.include_router(subscriptions.router)
    app.include_router(share.router)
    app.include_router(topics.router)
    app.include_router(build_console_router(config))
    app.state.route_methods = route_methods(app.router.routes)
    _finish_document(app, config)
    return app


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
