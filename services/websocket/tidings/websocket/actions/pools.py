"""Pool and flavor actions (``pool_*``, ``flavor_*``): Zaqar's schemas, REST semantics.

Zaqar lists these actions but never implemented them (spec 5.3); Tidings serves them through
the same storage RPC and body validation as ``/v2/pools`` and ``/v2/flavors``. Like REST they
exist only with ``admin_mode`` and ``pooling`` (404 otherwise); pool actions and flavor writes
need the admin role, listing and reading flavors does not.
"""

from __future__ import annotations

from pydantic import JsonValue

from tidings.common import schemas as s
from tidings.common.errors import NotFound
from tidings.common.pool_validation import (
    flavor_document,
    parse_flavor_patch,
    parse_flavor_put,
    parse_pool_patch,
    parse_pool_put,
    pool_document,
    validate_page_limit,
)
from tidings.websocket.actions.base import Action, Context, Handler
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import ActionSchema
from tidings.websocket.settings import WebsocketSettings


def _pooling(settings: WebsocketSettings) -> None:
    if not (settings.admin_mode and settings.pooling):
        raise NotFound("Pools and flavors are not available: this deployment has no pooling.")


def _fields(ctx: Context, name_key: str) -> dict[str, JsonValue]:
    fields: dict[str, JsonValue] = {k: v for k, v in ctx.body.items() if k != name_key}
    fields.pop("detailed", None)
    return fields


async def pool_list(ctx: Context) -> Reply:
    limit = validate_page_limit(ctx.body.get("limit"), ctx.settings.max_pools_per_page)
    detailed = bool(ctx.body.get("detailed", False))
    request = s.PoolListRequest(marker=ctx.body.get("marker"), limit=limit)
    reply = await ctx.call("pool.list", request, s.PoolListReply)
    return Reply(200, {"pools": [pool_document(p, detailed=detailed) for p in reply.pools]})


async def pool_get(ctx: Context) -> Reply:
    request = s.PoolRequest(name=ctx.body["pool_name"])
    reply = await ctx.call("pool.get", request, s.PoolReply)
    return Reply(200, pool_document(reply.pool, detailed=bool(ctx.body.get("detailed", False))))


async def pool_create(ctx: Context) -> Reply:
    name = str(ctx.body["pool_name"])
    await ctx.call("pool.put", parse_pool_put(name, _fields(ctx, "pool_name")), s.PoolPutReply)
    return Reply(201, {"name": name, "href": f"/v2/pools/{name}"})


async def pool_update(ctx: Context) -> Reply:
    name = str(ctx.body["pool_name"])
    patch = parse_pool_patch(name, _fields(ctx, "pool_name"))
    reply = await ctx.call("pool.patch", patch, s.PoolReply)
    return Reply(200, pool_document(reply.pool, detailed=False))


async def pool_delete(ctx: Context) -> Reply:
    await ctx.call("pool.delete", s.PoolRequest(name=ctx.body["pool_name"]), s.Empty)
    return Reply(204, {})


async def flavor_list(ctx: Context) -> Reply:
    limit = validate_page_limit(ctx.body.get("limit"), ctx.settings.max_flavors_per_page)
    detailed = bool(ctx.body.get("detailed", False))
    request = s.FlavorListRequest(marker=ctx.body.get("marker"), limit=limit)
    reply = await ctx.call("flavor.list", request, s.FlavorListReply)
    flavors = [
        flavor_document(f, capabilities=detailed, pool_list_always=False) for f in reply.flavors
    ]
    return Reply(200, {"flavors": flavors})


async def flavor_get(ctx: Context) -> Reply:
    reply = await ctx.call(
        "flavor.get", s.FlavorRequest(name=ctx.body["flavor_name"]), s.FlavorReply
    )
    return Reply(200, flavor_document(reply.flavor, capabilities=True))


async def flavor_create(ctx: Context) -> Reply:
    name = str(ctx.body["flavor_name"])
    await ctx.call("flavor.put", parse_flavor_put(name, _fields(ctx, "flavor_name")), s.Empty)
    return Reply(201, {"name": name, "href": f"/v2/flavors/{name}"})


async def flavor_update(ctx: Context) -> Reply:
    name = str(ctx.body["flavor_name"])
    patch = parse_flavor_patch(name, _fields(ctx, "flavor_name"))
    reply = await ctx.call("flavor.patch", patch, s.FlavorReply)
    return Reply(200, flavor_document(reply.flavor, capabilities=True))


async def flavor_delete(ctx: Context) -> Reply:
    await ctx.call("flavor.delete", s.FlavorRequest(name=ctx.body["flavor_name"]), s.Empty)
    return Reply(204, {})


def _schema(name_key: str | None, **fields: str) -> ActionSchema:
    if name_key is None:
        return ActionSchema(fields=fields)
    return ActionSchema(fields={name_key: "string", **fields}, required=(name_key,))


_LIST = {"marker": "string", "limit": "integer", "detailed": "boolean"}
_POOL = {"uri": "string", "weight": "integer", "flavor": "string", "options": "object"}
_FLAVOR = {"pool_list": "array", "capabilities": "object"}
_TABLE: list[tuple[str, ActionSchema, Handler]] = [
    ("pool_list", _schema(None, **_LIST), pool_list),
    ("pool_get", _schema("pool_name", detailed="boolean"), pool_get),
    ("pool_create", _schema("pool_name", **_POOL), pool_create),
    ("pool_update", _schema("pool_name", **_POOL), pool_update),
    ("pool_delete", _schema("pool_name"), pool_delete),
    ("flavor_list", _schema(None, **_LIST), flavor_list),
    ("flavor_get", _schema("flavor_name"), flavor_get),
    ("flavor_create", _schema("flavor_name", **_FLAVOR), flavor_create),
    ("flavor_update", _schema("flavor_name", **_FLAVOR), flavor_update),
    ("flavor_delete", _schema("flavor_name"), flavor_delete),
]

# Who may call each one is the policy's (tidings.websocket.rules): pools and flavor writes
# need the admin role by default.
ACTIONS: dict[str, Action] = {
    name: Action(schema, handler, available=_pooling) for name, schema, handler in _TABLE
}

__all__: list[str] = ["ACTIONS"]
