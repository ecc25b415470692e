"""Claim actions: claim_create, claim_get, claim_update, claim_delete (spec 5.3)."""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from tidings.common import schemas as s
from tidings.common.validation import parse_claim_create, parse_claim_renew, validate_claim_limit
from tidings.websocket.actions import render
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import queue


def _ttl_grace(body: dict[str, Any]) -> JsonValue:
    return {key: body[key] for key in ("ttl", "grace") if key in body}


async def claim_create(ctx: Context) -> Reply:
    name = ctx.queue_name()
    limit = validate_claim_limit(ctx.body.get("limit"), ctx.settings)
    ttl, grace = parse_claim_create(_ttl_grace(ctx.body), ctx.settings)
    reply = await ctx.call(
        "claim.create",
        s.ClaimCreateRequest(project=ctx.project, queue=name, ttl=ttl, grace=grace, limit=limit),
        s.ClaimCreateReply,
    )
    if reply.claim_id is None or not reply.messages:
        return Reply(204, {"claim_id": None})
    messages = [render.message_item(m) for m in reply.messages]
    return Reply(201, {"claim_id": reply.claim_id, "messages": messages})


def _claim_id(ctx: Context) -> str:
    return str(ctx.body["claim_id"])


async def claim_get(ctx: Context) -> Reply:
    name = ctx.queue_name()
    reply = await ctx.call(
        "claim.get",
        s.ClaimRequest(project=ctx.project, queue=name, claim_id=_claim_id(ctx)),
        s.ClaimGetReply,
    )
    messages = [render.message_item(m) for m in reply.messages]
    return Reply(200, {"age": reply.age, "ttl": reply.ttl, "messages": messages})


async def claim_update(ctx: Context) -> Reply:
    name = ctx.queue_name()
    claim_id = _claim_id(ctx)
    ttl, grace = parse_claim_renew(_ttl_grace(ctx.body), ctx.settings)
    await ctx.call(
        "claim.renew",
        s.ClaimRenewRequest(
            project=ctx.project, queue=name, claim_id=claim_id, ttl=ttl, grace=grace
        ),
        s.Empty,
    )
    return Reply(204, f"Claim {claim_id} updated.")


async def claim_delete(ctx: Context) -> Reply:
    name = ctx.queue_name()
    claim_id = _claim_id(ctx)
    await ctx.call(
        "claim.release",
        s.ClaimRequest(project=ctx.project, queue=name, claim_id=claim_id),
        s.Empty,
    )
    return Reply(204, f"Claim {claim_id} deleted.")


_CLAIM_ID = ("claim_id", "string")

ACTIONS: dict[str, Action] = {
    "claim_create": Action(
        queue(("limit", "integer"), ("ttl", "integer"), ("grace", "integer")), claim_create
    ),
    "claim_get": Action(queue(_CLAIM_ID, required=("claim_id",)), claim_get),
    "claim_update": Action(
        queue(_CLAIM_ID, ("ttl", "integer"), ("grace", "integer"), required=("claim_id",)),
        claim_update,
    ),
    "claim_delete": Action(queue(_CLAIM_ID, required=("claim_id",)), claim_delete),
}
