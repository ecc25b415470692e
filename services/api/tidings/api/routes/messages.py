"""Message resources: post, list, get by ids, bulk delete, pop, get one, delete one.

Built per :class:`~tidings.api.kinds.Kind` so topic messages work like queue messages.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import JsonValue

from tidings.api import openapi as doc
from tidings.api.body import content_length, read_body
from tidings.api.kinds import Kind
from tidings.api.params import path, query, query_list
from tidings.api.pipeline import target_of
from tidings.api.render import empty, json_response, message_item, next_link, popped_item
from tidings.common import schemas as s
from tidings.common.errors import InvalidBody
from tidings.common.validation import (
    BODY_EMPTY,
    parse_bool_param,
    parse_int_param,
    parse_json,
    parse_list_param,
    parse_message_post,
    validate_ids,
    validate_message_deletion,
    validate_message_list_limit,
    validate_message_post_length,
)


def build_router(kind: Kind) -> APIRouter:
    router = APIRouter(tags=[f"{kind.name} messages"])
    collection = f"/v2/{kind.collection}/{{{kind.param}}}/messages"
    item = f"{collection}/{{message_id}}"

    @router.post(
        collection,
        **doc.operation(
            {
                201: {
                    "type": "object",
                    "properties": {"resources": {"type": "array", "items": {"type": "string"}}},
                    "required": ["resources"],
                }
            },
            body=doc.MESSAGE_POST_BODY,
            body_required=True,
            path=collection,
        ),
        summary="Post messages",
    )
    async def post(request: Request) -> Response:
        target = await target_of(request, kind)
        settings = target.ctx.settings
        length = content_length(request)
        # Refused before a byte is read; the queue's own limit is checked by storage.
        validate_message_post_length(length, settings)
        if length is None:
            raise InvalidBody(BODY_EMPTY)
        document = parse_json(await read_body(request, length) or b"")
        messages = parse_message_post(document, settings)
        reply = await target.ctx.storage.call(
            "message.post",
            s.MessagePostRequest.model_construct(
                project=target.storage_project,
                queue=target.name,
                client_id=target.ctx.client_id,
                messages=messages,
                content_length=length,
            ),
            s.MessagePostReply,
        )
        path = f"{target.base_path}/messages"
        return json_response(
            {"resources": [f"{path}/{message_id}" for message_id in reply.ids]},
            status=201,
            headers={"Location": f"{path}?ids={','.join(reply.ids)}"},
        )

    @router.get(
        collection,
        **doc.operation(
            {200: doc.MESSAGE_PAGE_SCHEMA},
            errors=(404,),
            path=collection,
            query=("ids", "marker", "limit", "echo", "include_claimed", "include_delayed"),
        ),
        summary="List messages, or get a set with ids=",
    )
    async def list_messages(request: Request) -> Response:
        target = await target_of(request, kind)
        settings = target.ctx.settings
        wanted = parse_list_param(query_list(request, "ids"))
        if wanted is not None:
            validate_ids(wanted, settings)
            found = await target.ctx.storage.call(
                "message.get_many",
                s.MessageGetManyRequest(
                    project=target.storage_project, queue=target.name, message_ids=wanted
                ),
                s.MessagesReply,
            )
            base = target.base_path
            return json_response({"messages": [message_item(m, base) for m in found.messages]})
        marker = query(request, "marker")
        supplied_limit = parse_int_param("limit", query(request, "limit"))
        echo_flag = parse_bool_param("echo", query(request, "echo"))
        claimed_flag = parse_bool_param("include_claimed", query(request, "include_claimed"))
        delayed_flag = parse_bool_param("include_delayed", query(request, "include_delayed"))
        page_size = validate_message_list_limit(supplied_limit, settings)
        reply = await target.ctx.storage.call(
            "message.list",
            s.MessageListRequest(
                project=target.storage_project,
                queue=target.name,
                client_id=target.ctx.client_id,
                marker=marker or None,
                limit=page_size,
                echo=bool(echo_flag),
                include_claimed=bool(claimed_flag),
                include_delayed=bool(delayed_flag),
            ),
            s.MessageListReply,
        )
        if not reply.messages:
            return json_response({"messages": [], "links": []})
        if not reply.delayed_queue:
            delayed_flag = True  # Zaqar forces the flag on non-delayed queues (spec 1.13)
        base = target.base_path
        body: dict[str, JsonValue] = {
            "messages": [message_item(m, base) for m in reply.messages],
            "links": next_link(  # type: ignore[dict-item]
                f"{base}/messages",
                {
                    "marker": reply.marker,
                    "limit": supplied_limit,
                    "echo": echo_flag,
                    "include_claimed": claimed_flag,
                    "include_delayed": delayed_flag,
                },
            ),
        }
        return json_response(body)

    @router.delete(
        collection,
        **doc.operation(
            {
                200: {
                    "type": "object",
                    "properties": {"messages": {"type": "array", "items": doc.POPPED_SCHEMA}},
                },
                204: None,
            },
            path=collection,
            query=("ids", "pop", "claim_ids"),
        ),
        summary="Delete messages by ids, or pop",
    )
    async def delete_many(request: Request) -> Response:
        target = await target_of(request, kind)
        settings = target.ctx.settings
        wanted = parse_list_param(query_list(request, "ids"))
        count = parse_int_param("pop", query(request, "pop"))
        claims = parse_list_param(query_list(request, "claim_ids"))
        validate_message_deletion(wanted, count, claims, settings)
        if count is not None:
            popped = await target.ctx.storage.call(
                "message.pop",
                s.MessagePopRequest(project=target.storage_project, queue=target.name, count=count),
                s.MessagesReply,
            )
            return json_response({"messages": [popped_item(m) for m in popped.messages]})
        await target.ctx.storage.call(
            "message.delete_many",
            s.MessageDeleteManyRequest(
                project=target.storage_project,
                queue=target.name,
                message_ids=wanted or [],
                claim_ids=claims,
            ),
            s.Empty,
        )
        return empty()

    @router.get(
        item,
        **doc.operation({200: doc.MESSAGE_SCHEMA}, errors=(404,), path=item),
        summary="Get a message",
    )
    async def get_message(request: Request) -> Response:
        target = await target_of(request, kind)
        message_id = path(request, "message_id")
        reply = await target.ctx.storage.call(
            "message.get",
            s.MessageGetRequest(
                project=target.storage_project, queue=target.name, message_id=message_id
            ),
            s.MessageReply,
        )
        return json_response(message_item(reply.message, target.base_path))

    @router.delete(
        item,
        **doc.operation({204: None}, errors=(403,), path=item, query=("claim_id",)),
        summary="Delete a message",
    )
    async def delete_message(request: Request) -> Response:
        target = await target_of(request, kind)
        message_id = path(request, "message_id")
        claim_id = query(request, "claim_id")
        await target.ctx.storage.call(
            "message.delete",
            s.MessageDeleteRequest(
                project=target.storage_project,
                queue=target.name,
                message_id=message_id,
                claim_id=claim_id or None,
            ),
            s.Empty,
        )
        return empty()

    return router
