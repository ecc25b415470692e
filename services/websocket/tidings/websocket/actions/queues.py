"""Queue actions: queue_list, queue_create, queue_get, queue_delete, queue_get_stats,
queue_purge (spec 5.3)."""

from __future__ import annotations

from typing import Any

import orjson

from tidings.common import schemas as s
from tidings.common.errors import InvalidRequest
from tidings.common.validation import (
    parse_purge,
    validate_queue_list_limit,
    validate_queue_metadata,
    validate_queue_metadata_length,
)
from tidings.websocket.actions import render
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import ActionSchema, queue


async def queue_list(ctx: Context) -> Reply:
    body = ctx.body
    limit = validate_queue_list_limit(body.get("limit"), ctx.settings)
    detailed = bool(body.get("detailed", False))
    reply = await ctx.call(
        "queue.list",
        s.QueueListRequest(
            project=ctx.project, marker=body.get("marker"), limit=limit, detailed=detailed
        ),
        s.QueueListReply,
    )
    queues: list[dict[str, Any]] = []
    for item in reply.queues:
        entry: dict[str, Any] = {"name": item.name}
        if detailed:
            entry["metadata"] = item.metadata or {}
        queues.append(entry)
    return Reply(200, {"queues": queues})


async def queue_create(ctx: Context) -> Reply:
    name = ctx.queue_name()
    metadata = ctx.body.get("metadata", {})
    # No Content-Length on a socket: the metadata's JSON length stands in for it.
    validate_queue_metadata_length(len(orjson.dumps(metadata)), ctx.settings)
    validate_queue_metadata(metadata, ctx.settings, InvalidRequest)
    reply = await ctx.call(
        "queue.create",
        s.QueueCreateRequest(project=ctx.project, queue=name, metadata=metadata),
        s.QueueCreateReply,
    )
    return Reply(201 if reply.created else 204, f"Queue {name} created.")


async def queue_get(ctx: Context) -> Reply:
    name = ctx.queue_name()
    reply = await ctx.call(
        "queue.get", s.QueueScoped(project=ctx.project, queue=name), s.QueueGetReply
    )
    return Reply(200, reply.metadata if reply.exists else {})


async def queue_delete(ctx: Context) -> Reply:
    name = ctx.queue_name()
    await ctx.call("queue.delete", s.QueueScoped(project=ctx.project, queue=name), s.Empty)
    return Reply(204, f"Queue {name} removed.")


async def queue_get_stats(ctx: Context) -> Reply:
    name = ctx.queue_name()
    scope = s.QueueScoped(project=ctx.project, queue=name)
    reply = await ctx.call("queue.stats", scope, s.QueueStatsReply)
    if reply.total == 0:
        # Zaqar's WebSocket stats of a queue that does not exist are a 404 (spec 9.2).
        found = await ctx.call("queue.get", scope, s.QueueGetReply)
        if not found.exists:
            return Reply(404, {"messages": {"claimed": 0, "free": 0, "total": 0}})
    return Reply(200, {"messages": render.stats(reply)})


async def queue_purge(ctx: Context) -> Reply:
    name = ctx.queue_name()
    kinds = parse_purge(ctx.body) if "resource_types" in ctx.body else parse_purge(None)
    await ctx.call(
        "queue.purge",
        s.QueuePurgeRequest(project=ctx.project, queue=name, resource_types=kinds),
        s.Empty,
    )
    return Reply(204, {})


ACTIONS: dict[str, Action] = {
    "queue_list": Action(
        ActionSchema(fields={"marker": "string", "limit": "integer", "detailed": "boolean"}),
        queue_list,
    ),
    "queue_create": Action(queue(("metadata", "object")), queue_create),
    "queue_get": Action(queue(), queue_get),
    "queue_delete": Action(queue(), queue_delete),
    "queue_get_stats": Action(queue(), queue_get_stats),
    "queue_purge": Action(queue(("resource_types", "array")), queue_purge),
}
