"""Message actions: message_list, message_get, message_get_many, message_post,
message_delete, message_delete_many (spec 5.3)."""

from __future__ import annotations

from typing import Any

import orjson

from tidings.common import schemas as s
from tidings.common.errors import NotFound
from tidings.common.validation import (
    parse_message_post,
    validate_ids,
    validate_message_deletion,
    validate_message_list_limit,
    validate_message_post_length,
)
from tidings.websocket.actions import render
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import queue


def _strings(value: Any) -> list[str] | None:
    return None if value is None else [str(item) for item in value]


async def message_list(ctx: Context) -> Reply:
    name = ctx.queue_name()
    client_id = ctx.client_id()
    body = ctx.body
    reply = await ctx.call(
        "message.list",
        s.MessageListRequest(
            project=ctx.project,
            queue=name,
            client_id=client_id,
            marker=body.get("marker"),
            limit=validate_message_list_limit(body.get("limit"), ctx.settings),
            echo=body.get("echo", False),
            include_claimed=body.get("include_claimed", False),
            include_delayed=body.get("include_delayed", False),
        ),
        s.MessageListReply,
    )
    answer: dict[str, Any] = {"messages": [render.message_item(m) for m in reply.messages]}
    if reply.marker is not None:
        # Tidings extension: Zaqar's WebSocket list gave no way to fetch the next page.
        answer["marker"] = reply.marker
    return Reply(200, answer)


async def message_get(ctx: Context) -> Reply:
    name = ctx.queue_name()
    reply = await ctx.call(
        "message.get",
        s.MessageGetRequest(
            project=ctx.project, queue=name, message_id=str(ctx.body["message_id"])
        ),
        s.MessageReply,
    )
    return Reply(200, {"messages": render.message_item(reply.message)})


async def message_get_many(ctx: Context) -> Reply:
    name = ctx.queue_name()
    ids = validate_ids(_strings(ctx.body["message_ids"]) or [], ctx.settings)
    try:
        reply = await ctx.call(
            "message.get_many",
            s.MessageGetManyRequest(project=ctx.project, queue=name, message_ids=ids),
            s.MessagesReply,
        )
    except NotFound:  # REST answers 404 when none exists; the WebSocket API an empty list
        return Reply(200, {"messages": []})
    return Reply(200, {"messages": [render.message_item(m) for m in reply.messages]})


async def message_post(ctx: Context) -> Reply:
    name = ctx.queue_name()
    client_id = ctx.client_id()
    # A socket has no Content-Length: the JSON length of the messages stands in for it.
    size = len(orjson.dumps(ctx.body["messages"]))
    validate_message_post_length(size, ctx.settings)
    messages = parse_message_post(ctx.body, ctx.settings)
    reply = await ctx.call(
        "message.post",
        s.MessagePostRequest(
            project=ctx.project,
            queue=name,
            client_id=client_id,
            messages=messages,
            content_length=size,
        ),
        s.MessagePostReply,
    )
    return Reply(201, {"message_ids": reply.ids})


async def message_delete(ctx: Context) -> Reply:
    name = ctx.queue_name()
    claim_id = ctx.body.get("claim_id")
    await ctx.call(
        "message.delete",
        s.MessageDeleteRequest(
            project=ctx.project,
            queue=name,
            message_id=str(ctx.body["message_id"]),
            claim_id=claim_id,
        ),
        s.Empty,
    )
    return Reply(204, {})


async def message_delete_many(ctx: Context) -> Reply:
    name = ctx.queue_name()
    ids = _strings(ctx.body.get("message_ids"))
    claim_ids = _strings(ctx.body.get("claim_ids"))
    pop: int | None = ctx.body.get("pop")
    validate_message_deletion(ids, pop, claim_ids, ctx.settings)
    if pop is not None:
        popped = await ctx.call(
            "message.pop",
            s.MessagePopRequest(project=ctx.project, queue=name, count=pop),
            s.MessagesReply,
        )
        return Reply(200, {"messages": [render.popped_item(m) for m in popped.messages]})
    await ctx.call(
        "message.delete_many",
        s.MessageDeleteManyRequest(
            project=ctx.project, queue=name, message_ids=ids or [], claim_ids=claim_ids
        ),
        s.Empty,
    )
    return Reply(204, {})


_LIST_FIELDS = (
    ("marker", "string"),
    ("limit", "integer"),
    ("echo", "boolean"),
    ("include_claimed", "boolean"),
    ("include_delayed", "boolean"),
)

ACTIONS: dict[str, Action] = {
    "message_list": Action(queue(*_LIST_FIELDS), message_list),
    "message_get": Action(queue(("message_id", "string"), required=("message_id",)), message_get),
    "message_get_many": Action(
        queue(("message_ids", "array"), required=("message_ids",)), message_get_many
    ),
    "message_post": Action(queue(("messages", "array"), required=("messages",)), message_post),
    "message_delete": Action(
        queue(("message_id", "string"), ("claim_id", "string"), required=("message_id",)),
        message_delete,
    ),
    "message_delete_many": Action(
        queue(("message_ids", "array"), ("claim_ids", "array"), ("pop", "integer")),
        message_delete_many,
    ),
}
