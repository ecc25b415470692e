"""Subscription actions: socket subscriptions of spec 5.6, plus resume (see resume.py).

Storage has no subscription table yet, so only subscriptions *without* a subscriber (pushes
to this socket) exist; they live in this replica, with the socket. get/list/delete see the
socket subscriptions of the socket that asks.
"""

from __future__ import annotations

from tidings.common import schemas as s
from tidings.common.errors import NotFound
from tidings.common.validation import validate_subscription_options, validate_subscription_ttl
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.resume import replay
from tidings.websocket.schema import queue

NOT_IMPLEMENTED = 501


async def subscription_create(ctx: Context) -> Reply:
    name = ctx.queue_name()
    if ctx.body.get("subscriber"):
        return Reply(
            NOT_IMPLEMENTED,
            {
                "exception": "Subscriptions with a subscriber (webhook, e-mail) are not "
                "available over the WebSocket API yet; subscribe without a subscriber to "
                "receive the queue's messages on this socket.",
                "error": "Not implemented",
            },
        )
    ttl = validate_subscription_ttl(ctx.body.get("ttl"), ctx.settings)
    options = validate_subscription_options(ctx.body.get("options"))
    resume_marker = ctx.body.get("resume_marker")
    # Queues are lazy: subscribing creates the queue, as REST does.
    await ctx.call(
        "queue.create", s.QueueCreateRequest(project=ctx.project, queue=name), s.QueueCreateReply
    )
    buffer_limit = ctx.settings.resume_live_buffer if resume_marker is not None else None
    sub = await ctx.subscriptions.create(
        ctx.project, name, ctx.request.encoding, ttl, options, buffer_limit
    )
    body = {"subscription_id": sub.id, "message": f"Subscription {name} created."}
    if resume_marker is None:
        return Reply(201, body)

    async def resume() -> None:
        await replay(ctx, sub, str(resume_marker))

    return Reply(201, body, after=resume)


def _sid(ctx: Context) -> str:
    return str(ctx.body["subscription_id"])


async def subscription_get(ctx: Context) -> Reply:
    name = ctx.queue_name()
    sub = ctx.subscriptions.get(ctx.project, name, _sid(ctx))
    if sub is None:
        raise NotFound(f"Subscription {_sid(ctx)} does not exist")
    return Reply(200, sub.describe())


async def subscription_list(ctx: Context) -> Reply:
    name = ctx.queue_name()
    subs = ctx.subscriptions.list(ctx.project, name)
    return Reply(200, {"subscriptions": [sub.describe() for sub in subs]})


async def subscription_delete(ctx: Context) -> Reply:
    name = ctx.queue_name()
    sid = _sid(ctx)
    await ctx.subscriptions.delete(ctx.project, name, sid)
    return Reply(204, f"Subscription {sid} removed.")


_SID = ("subscription_id", "string")

ACTIONS: dict[str, Action] = {
    "subscription_create": Action(
        queue(
            ("subscriber", "string"),
            ("ttl", "integer"),
            ("options", "object"),
            ("resume_marker", "string"),
        ),
        subscription_create,
    ),
    "subscription_get": Action(queue(_SID, required=("subscription_id",)), subscription_get),
    "subscription_list": Action(queue(), subscription_list),
    "subscription_delete": Action(queue(_SID, required=("subscription_id",)), subscription_delete),
}
