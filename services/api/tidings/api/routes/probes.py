"""Kubernetes probes: ``/healthz`` (the process answers) and ``/readyz`` (NATS and storage)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response

from tidings.api.render import json_response
from tidings.common import schemas as s
from tidings.common.errors import TidingsError
from tidings.common.nats_connection import NatsConnection
from tidings.common.rpc import StorageClient

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> Response:
    return json_response({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(request: Request) -> Response:
    state = request.app.state
    connection: NatsConnection = state.nats
    storage: StorageClient = state.storage
    nats = connection.client is not None
    reachable = False
    if nats:
        try:
            async with asyncio.timeout(state.settings.readiness_timeout):
                reply = await storage.call("health.ping", s.Empty(), s.PingReply)
            reachable = reply.reachable
        except (TidingsError, TimeoutError):
            reachable = False
    ready = nats and reachable
    return json_response({"nats": nats, "storage": reachable}, status=200 if ready else 503)
