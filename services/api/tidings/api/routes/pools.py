"""Pools and flavors, the admin resources of Zaqar's pooling (spec 2.10, 2.11).

Mounted only with ``admin_mode`` and ``pooling`` (otherwise these paths are 404, as in
Zaqar); the policy rules (``pools:*`` admin, ``flavors:get*`` open) are checked by the
authenticator like on every route. Storage keeps the catalog and checks what needs the
database (reachable URI, URI in use, unknown pools, the last pool of a flavor).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import JsonValue

from tidings.api import openapi as doc
from tidings.api.params import path, query
from tidings.api.pipeline import RequestContext, admit
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
POOL = "/v2/pools/{pool}"
FLAVOR = "/v2/flavors/{flavor}"
LISTED = ("marker", "limit", "detailed")
OBJECT: dict[int, dict[str, Any] | None] = {200: {"type": "object"}}


async def _document(request: Request, ctx: RequestContext) -> JsonValue:
    data = await read_small_body(request, ctx.settings.max_queue_metadata)
    if data is None:
        raise InvalidBody(BODY_EMPTY)
    return parse_json(data)


@router.get("/v2/pools", **doc.operation(OBJECT, errors=(403,), query=LISTED), summary="List pools")
async def list_pools(request: Request) -> Response:
    ctx = await admit(request)
    marker = query(request, "marker")
    supplied = parse_int_param("limit", query(request, "limit"))
    page = validate_page_limit(supplied, ctx.settings.max_pools_per_page)
    supplied_detailed = parse_bool_param("detailed", query(request, "detailed"))
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


@router.get(
    POOL,
    **doc.operation(OBJECT, errors=(403, 404), path=POOL, query=("detailed",)),
    summary="Get a pool",
)
async def get_pool(request: Request) -> Response:
    ctx = await admit(request)
    is_detailed = bool(parse_bool_param("detailed", query(request, "detailed")))
    pool = path(request, "pool")
    reply = await ctx.storage.call("pool.get", s.PoolRequest(name=pool), s.PoolReply)
    return json_response(pool_document(reply.pool, detailed=is_detailed))


@router.put(
    POOL, **doc.operation({201: None}, errors=(403, 409), path=POOL), summary="Create a pool"
)
async def put_pool(request: Request) -> Response:
    ctx = await admit(request)
    pool = path(request, "pool")
    document = parse_pool_put(pool, await _document(request, ctx))
    await ctx.storage.call("pool.put", document, s.PoolPutReply)
    return empty(201, {"Location": f"/v2/pools/{pool}"})


@router.patch(POOL, **doc.operation(OBJECT, errors=(403, 404), path=POOL), summary="Update a pool")
async def patch_pool(request: Request) -> Response:
    ctx = await admit(request)
    document = parse_pool_patch(path(request, "pool"), await _document(request, ctx))
    reply = await ctx.storage.call("pool.patch", document, s.PoolReply)
    return json_response(pool_document(reply.pool, detailed=False))


@router.delete(
    POOL, **doc.operation({204: None}, errors=(403,), path=POOL), summary="Delete a pool"
)
async def delete_pool(request: Request) -> Response:
    ctx = await admit(request)
    await ctx.storage.call("pool.delete", s.PoolRequest(name=path(request, "pool")), s.Empty)
    return empty()


@router.get("/v2/flavors", **doc.operation(OBJECT, query=LISTED), summary="List flavors")
async def list_flavors(request: Request) -> Response:
    ctx = await admit(request)
    marker = query(request, "marker")
    supplied = parse_int_param("limit", query(request, "limit"))
    page = validate_page_limit(supplied, ctx.settings.max_flavors_per_page)
    supplied_detailed = parse_bool_param("detailed", query(request, "detailed"))
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


@router.get(FLAVOR, **doc.operation(OBJECT, errors=(404,), path=FLAVOR), summary="Get a flavor")
async def get_flavor(request: Request) -> Response:
    ctx = await admit(request)
    flavor = path(request, "flavor")
    reply = await ctx.storage.call("flavor.get", s.FlavorRequest(name=flavor), s.FlavorReply)
    return json_response(flavor_document(reply.flavor, capabilities=True))


@router.put(
    FLAVOR, **doc.operation({201: None}, errors=(403,), path=FLAVOR), summary="Create a flavor"
)
async def put_flavor(request: Request) -> Response:
    ctx = await admit(request)
    flavor = path(request, "flavor")
    document = parse_flavor_put(flavor, await _document(request, ctx))
    await ctx.storage.call("flavor.put", document, s.Empty)
    return empty(201, {"Location": f"/v2/flavors/{flavor}"})


@router.patch(
    FLAVOR, **doc.operation(OBJECT, errors=(403, 404), path=FLAVOR), summary="Update a flavor"
)
async def patch_flavor(request: Request) -> Response:
    ctx = await admit(request)
    document = parse_flavor_patch(path(request, "flavor"), await _document(request, ctx))
    reply = await ctx.storage.call("flavor.patch", document, s.FlavorReply)
    return json_response(flavor_document(reply.flavor, capabilities=True))


@router.delete(
    FLAVOR, **doc.operation({204: None}, errors=(403,), path=FLAVOR), summary="Delete a flavor"
)
async def delete_flavor(request: Request) -> Response:
    ctx = await admit(request)
    await ctx.storage.call("flavor.delete", s.FlavorRequest(name=path(request, "flavor")), s.Empty)
    return empty()
