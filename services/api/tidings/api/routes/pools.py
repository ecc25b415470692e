"""Pools and flavors, the admin resources of Zaqar's pooling (spec 2.10, 2.11).

Mounted only with ``admin_mode`` and ``pooling`` (otherwise these paths are 404, as in
Zaqar); the policy rules (``pools:*`` admin, ``flavors:get*`` open) are checked by the
authenticator like on every route. Storage keeps the catalog and checks what needs the
database (reachable URI, URI in use, unknown pools, the last pool of a flavor).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import JsonValue

from tidings.api import openapi as doc
from tidings.api.pipeline import Context
from tidings.api.render import empty, json_response, next_link
from tidings.api.routes.queues import read_small_body
from tidings.common import schemas as s
from tidings.common.errors import InvalidBody
from tidings.common.pool_validation import (
    flavor_document,
    parse_flavor_patch,
    parse_flavor_put,
    parse_pool_patch,
    parse_pool_put,
    pool_document,
    validate_page_limit,
)
from tidings.common.validation import BODY_EMPTY, parse_bool_param, parse_int_param, parse_json

router = APIRouter(tags=["pools"])
Param = Annotated[str | None, Query()]
OBJECT: dict[int, dict[str, Any] | None] = {200: {"type": "object"}}


async def _document(request: Request, ctx: Context) -> JsonValue:
    data = await read_small_body(request, ctx.settings.max_queue_metadata)
    if data is None:
        raise InvalidBody(BODY_EMPTY)
    return parse_json(data)


@router.get("/v2/pools", **doc.operation(OBJECT, errors=(403,)), summary="List pools")
async def list_pools(
    request: Request, ctx: Context, marker: Param = None, limit: Param = None,
    detailed: Param = None,
) -> Response:  # fmt: skip
    supplied = parse_int_param("limit", limit)
    page = validate_page_limit(supplied, ctx.settings.max_pools_per_page)
    supplied_detailed = parse_bool_param("detailed", detailed)
    is_detailed = bool(supplied_detailed)
    reply = await ctx.storage.call(
        "pool.list", s.PoolListRequest(marker=marker or None, limit=page), s.PoolListReply
    )
    items: list[JsonValue] = [pool_document(p, detailed=is_detailed) for p in reply.pools]
    body: dict[str, JsonValue] = {"pools": items, "links": []}
    if reply.pools:
        params = {"marker": reply.pools[-1].name, "limit": supplied, "detailed": supplied_detailed}
        body["links"] = next_link("/v2/pools", params)  # type: ignore[assignment]
    location = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return json_response(body, headers={"Content-Location": location})


@router.get("/v2/pools/{pool}", **doc.operation(OBJECT, errors=(403, 404)), summary="Get a pool")
async def get_pool(ctx: Context, pool: str, detailed: Param = None) -> Response:
    is_detailed = bool(parse_bool_param("detailed", detailed))
    reply = await ctx.storage.call("pool.get", s.PoolRequest(name=pool), s.PoolReply)
    return json_response(pool_document(reply.pool, detailed=is_detailed))


@router.put(
    "/v2/pools/{pool}", **doc.operation({201: None}, errors=(403, 409)), summary="Create a pool"
)
async def put_pool(request: Request, ctx: Context, pool: str) -> Response:
    document = parse_pool_put(pool, await _document(request, ctx))
    await ctx.storage.call("pool.put", document, s.PoolPutReply)
    return empty(201, {"Location": f"/v2/pools/{pool}"})


@router.patch(
    "/v2/pools/{pool}", **doc.operation(OBJECT, errors=(403, 404)), summary="Update a pool"
)
async def patch_pool(request: Request, ctx: Context, pool: str) -> Response:
    document = parse_pool_patch(pool, await _document(request, ctx))
    reply = await ctx.storage.call("pool.patch", document, s.PoolReply)
    return json_response(pool_document(reply.pool, detailed=False))


@router.delete(
    "/v2/pools/{pool}", **doc.operation({204: None}, errors=(403,)), summary="Delete a pool"
)
async def delete_pool(ctx: Context, pool: str) -> Response:
    await ctx.storage.call("pool.delete", s.PoolRequest(name=pool), s.Empty)
    return empty()


@router.get("/v2/flavors", **doc.operation(OBJECT), summary="List flavors")
async def list_flavors(
    ctx: Context, marker: Param = None, limit: Param = None, detailed: Param = None
) -> Response:
    supplied = parse_int_param("limit", limit)
    page = validate_page_limit(supplied, ctx.settings.max_flavors_per_page)
    supplied_detailed = parse_bool_param("detailed", detailed)
    is_detailed = bool(supplied_detailed)
    reply = await ctx.storage.call(
        "flavor.list", s.FlavorListRequest(marker=marker or None, limit=page), s.FlavorListReply
    )
    items: list[JsonValue] = [
        flavor_document(f, capabilities=is_detailed, pool_list_always=False) for f in reply.flavors
    ]
    body: dict[str, JsonValue] = {"flavors": items, "links": []}
    if reply.flavors:
        params = {
            "marker": reply.flavors[-1].name,
            "limit": supplied,
            "detailed": supplied_detailed,
        }
        body["links"] = next_link("/v2/flavors", params)  # type: ignore[assignment]
    return json_response(body)


@router.get("/v2/flavors/{flavor}", **doc.operation(OBJECT, errors=(404,)), summary="Get a flavor")
async def get_flavor(ctx: Context, flavor: str) -> Response:
    reply = await ctx.storage.call("flavor.get", s.FlavorRequest(name=flavor), s.FlavorReply)
    return json_response(flavor_document(reply.flavor, capabilities=True))


@router.put(
    "/v2/flavors/{flavor}", **doc.operation({201: None}, errors=(403,)), summary="Create a flavor"
)
async def put_flavor(request: Request, ctx: Context, flavor: str) -> Response:
    document = parse_flavor_put(flavor, await _document(request, ctx))
    await ctx.storage.call("flavor.put", document, s.Empty)
    return empty(201, {"Location": f"/v2/flavors/{flavor}"})


@router.patch(
    "/v2/flavors/{flavor}", **doc.operation(OBJECT, errors=(403, 404)), summary="Update a flavor"
)
async def patch_flavor(request: Request, ctx: Context, flavor: str) -> Response:
    document = parse_flavor_patch(flavor, await _document(request, ctx))
    reply = await ctx.storage.call("flavor.patch", document, s.FlavorReply)
    return json_response(flavor_document(reply.flavor, capabilities=True))


@router.delete(
    "/v2/flavors/{flavor}", **doc.operation({204: None}, errors=(403,)), summary="Delete a flavor"
)
async def delete_flavor(ctx: Context, flavor: str) -> Response:
    await ctx.storage.call("flavor.delete", s.FlavorRequest(name=flavor), s.Empty)
    return empty()
