"""``GET|HEAD /v2/ping`` and, in admin mode, ``GET /v2/health``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tidings.api.openapi import operation
from tidings.api.pipeline import admit
from tidings.api.render import empty, json_response
from tidings.common import schemas as s
from tidings.common.errors import ServiceUnavailable

router = APIRouter()
admin_router = APIRouter()


# HEAD comes first and always answers 204 without asking storage (spec 2.3).
@router.head("/v2/ping", **operation({204: None}), summary="Ping (no storage check)")
async def ping_head(request: Request) -> Response:
    await admit(request)
    return empty()


@router.get("/v2/ping", **operation({204: None}), summary="Ping the storage")
async def ping(request: Request) -> Response:
    ctx = await admit(request)
    reply = await ctx.storage.call("health.ping", s.Empty(), s.PingReply)
    if not reply.reachable:
        raise ServiceUnavailable("Storage is unreachable.")
    return empty()


@admin_router.get(
    "/v2/health",
    **operation({200: {"type": "object"}}, errors=(403,)),
    summary="Detailed health (admin)",
)
async def health(request: Request) -> Response:
    ctx = await admit(request)
    reply = await ctx.storage.call(
        "health.check", s.ProjectScoped(project=ctx.project), s.HealthReply
    )
    return json_response(reply.model_dump())
