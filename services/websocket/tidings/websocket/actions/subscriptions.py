"""Subscription actions: stored subscriptions and the socket subscriptions of spec 5.6.

With a ``subscriber`` (webhook, e-mail) a subscription goes to storage through the same
operations as REST, and the notifier delivers to it. Without one it is a socket subscription:
it lives in this replica, with the socket (plus resume, see resume.py). get/list/delete see
the socket subscriptions of the socket that asks and the stored ones of the queue.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tidings.common import schemas as s
from tidings.common.errors import Conflict, NotFound
from tidings.common.subscription_rules import parse_subscription_create
from tidings.common.trusts import trust_id_of
from tidings.common.validation import validate_subscription_options, validate_subscription_ttl
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.resume import replay
from tidings.websocket.schema import queue


def stored_item(sub: s.Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "source": sub.queue,
        "subscriber": sub.subscriber,
        "ttl": sub.ttl,
        "age": sub.age,
        "options": sub.options,
        "confirmed": sub.confirmed,
    }


async def _create_stored(ctx: Context, name: str) -> Reply:
    fields = parse_subscription_create(ctx.body, ctx.settings)
    assert fields.subscriber is not None and fields.ttl is not None
    # keystone mode: a trust+ subscriber gets its trust here, as over REST
    plan = await ctx.trusts.for_create(
        ctx.caller, fields.subscriber, fields.ttl, fields.options or {}
    )
    stored = False
    try:
        reply = await ctx.call(
            "subscription.create",
            s.SubscriptionCreateRequest(
                project=ctx.project,
                queue=name,
                subscriber=fields.subscriber,
                ttl=fields.ttl,
                options=plan.options or {},
            ),
            s.SubscriptionCreateReply,
        )
        stored = reply.created
    finally:
        await ctx.trusts.settle(ctx.caller, plan, stored=stored)
    if not reply.created:  # Zaqar's WebSocket API has no confirmation logic: any duplicate
        raise Conflict(f"Subscription {name} not created.")
    body = {
        "subscription_id": reply.subscription_id,
        "message": f"Subscription {name} created.",
        "signing_secret": reply.signing_secret,
    }
    return Reply(201, body)


async def subscription_create(ctx: Context) -> Reply:
    name = ctx.queue_name()
    if ctx.body.get("subscriber"):
        try:
            return await _create_stored(ctx, name)
        except Conflict:
            raise Conflict(f"Subscription {name} not created.") from None
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
    if sub is not None:
        return Reply(200, sub.describe())
    stored = await ctx.call(
        "subscription.get",
        s.SubscriptionRequest(project=ctx.project, queue=name, subscription_id=_sid(ctx)),
        s.SubscriptionReply,
    )
    return Reply(200, stored_item(stored.subscription))


async def subscription_list(ctx: Context) -> Reply:
    """This socket's subscriptions, then the stored ones (one page: the API has no links)."""
    name = ctx.queue_name()
    items = [sub.describe() for sub in ctx.subscriptions.list(ctx.project, name)]
    stored = await ctx.call(
        "subscription.list",
        s.SubscriptionListRequest(
            project=ctx.project, queue=name, limit=ctx.settings.max_subscriptions_per_page
        ),
        s.SubscriptionListReply,
    )
    items.extend(stored_item(sub) for sub in stored.subscriptions)
    return Reply(200, {"subscriptions": items})


async def subscription_delete(ctx: Context) -> Reply:
    name = ctx.queue_name()
    sid = _sid(ctx)
    if ctx.subscriptions.get(ctx.project, name, sid) is not None:
        await ctx.subscriptions.delete(ctx.project, name, sid)
        return Reply(204, f"Subscription {sid} removed.")
    request = s.SubscriptionRequest(project=ctx.project, queue=name, subscription_id=sid)
    current: s.Subscription | None = None
    if ctx.trusts.enabled:  # its trust goes with it
        with contextlib.suppress(NotFound):
            current = (
                await ctx.call("subscription.get", request, s.SubscriptionReply)
            ).subscription
    await ctx.call("subscription.delete", request, s.Empty)
    trust = trust_id_of(current.subscriber, current.options) if current is not None else None
    if trust is not None:
        await ctx.trusts.discard(ctx.caller, trust)
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
