"""Claim resources: create, get, renew, release (queues only; spec 2.8)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from tidings.api import openapi as doc
from tidings.api.body import content_length, read_body
from tidings.api.kinds import QUEUES
from tidings.api.params import path, query
from tidings.api.pipeline import target_of
from tidings.api.render import empty, json_response, message_item
from tidings.api.routes.queues import read_small_body
from tidings.common import schemas as s
from tidings.common.errors import InvalidBody, InvalidRequest
from tidings.common.validation import (
    BODY_EMPTY,
    parse_claim_create,
    parse_claim_renew,
    parse_int_param,
    parse_json,
    validate_claim_limit,
)

COLLECTION = "/v2/queues/{queue_name}/claims"
ITEM = COLLECTION + "/{claim_id}"
CLAIM_SCHEMA = {
    "type": "object",
    "properties": {
        "age": {"type": "integer"},
        "ttl": {"type": "integer"},
        "href": {"type": "string"},
        "messages": {"type": "array", "items": doc.MESSAGE_SCHEMA},
    },
    "required": ["age", "ttl", "href", "messages"],
}

router = APIRouter(tags=["claims"])


@router.post(
    COLLECTION,
    **doc.operation(
        {201: doc.MESSAGES_SCHEMA, 204: None},
        body=doc.CLAIM_BODY,
        path=COLLECTION,
        query=("limit",),
    ),
    summary="Claim messages",
)
async def create(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    settings = target.ctx.settings
    count = validate_claim_limit(parse_int_param("limit", query(request, "limit")), settings)
    data = await read_small_body(request, settings.max_queue_metadata)
    ttl, grace = parse_claim_create(parse_json(data) if data is not None else None, settings)
    reply = await target.ctx.storage.call(
        "claim.create",
        s.ClaimCreateRequest(
            project=target.storage_project, queue=target.name, ttl=ttl, grace=grace, limit=count
        ),
        s.ClaimCreateReply,
    )
    if reply.claim_id is None or not reply.messages:
        return empty()
    for message in reply.messages:
        message.claim_id = reply.claim_id  # every href carries the new claim's id
    base = target.base_path
    return json_response(
        {"messages": [message_item(m, base) for m in reply.messages]},
        status=201,
        headers={"Location": f"{base}/claims/{reply.claim_id}"},
    )


@router.get(
    ITEM, **doc.operation({200: CLAIM_SCHEMA}, errors=(404,), path=ITEM), summary="Get a claim"
)
async def get(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    claim_id = path(request, "claim_id")
    reply = await target.ctx.storage.call(
        "claim.get",
        s.ClaimRequest(project=target.storage_project, queue=target.name, claim_id=claim_id),
        s.ClaimGetReply,
    )
    base = target.base_path
    for message in reply.messages:
        message.claim_id = reply.claim_id
    return json_response(
        {
            "age": reply.age,
            "ttl": reply.ttl,
            "href": f"{base}/claims/{reply.claim_id}",
            "messages": [message_item(m, base) for m in reply.messages],
        }
    )


@router.patch(
    ITEM,
    **doc.operation({204: None}, errors=(404,), body=doc.CLAIM_BODY, body_required=True, path=ITEM),
    summary="Renew a claim",
)
async def renew(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    claim_id = path(request, "claim_id")
    settings = target.ctx.settings
    length = content_length(request)
    if length is None:
        raise InvalidBody(BODY_EMPTY)
    if length > settings.max_queue_metadata:
        raise InvalidRequest(f"Request body is too large. Max size: {settings.max_queue_metadata}")
    ttl, grace = parse_claim_renew(parse_json(await read_body(request, length) or b""), settings)
    await target.ctx.storage.call(
        "claim.renew",
        s.ClaimRenewRequest(
            project=target.storage_project,
            queue=target.name,
            claim_id=claim_id,
            ttl=ttl,
            grace=grace,
        ),
        s.Empty,
    )
    return empty()


@router.delete(ITEM, **doc.operation({204: None}, path=ITEM), summary="Release a claim")
async def release(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    claim_id = path(request, "claim_id")
    await target.ctx.storage.call(
        "claim.release",
        s.ClaimRequest(project=target.storage_project, queue=target.name, claim_id=claim_id),
        s.Empty,
    )
    return empty()
