"""Subscription resources (spec 2.9) and the failed-deliveries extension.

``GET .../subscriptions/{id}/failed_deliveries`` is a Tidings extension: the notifications the
notifier gave up on for that subscription (its retry policy ran out), with the last error, so a
tenant can find out where a notification went. Single subscriptions and the create reply also
carry ``signing_secret``, the key of the ``X-Tidings-Signature`` header of webhook deliveries.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import APIRouter, Request, Response

from tidings.api import openapi as doc
from tidings.api.errors import error_response
from tidings.api.kinds import QUEUES
from tidings.api.params import path, query
from tidings.api.pipeline import Target, target_of
from tidings.api.render import empty, json_response, next_link, utc_timestamp
from tidings.api.routes.queues import read_small_body
from tidings.common import schemas as s
from tidings.common.errors import Conflict, NotFound
from tidings.common.subscription_rules import (
    parse_subscription_confirm,
    parse_subscription_create,
    parse_subscription_update,
    validate_subscription_list_limit,
)
from tidings.common.subscription_trusts import Caller, SubscriptionTrusts
from tidings.common.trusts import trust_id_of
from tidings.common.validation import parse_int_param, parse_json

COLLECTION = "/v2/queues/{queue_name}/subscriptions"
ITEM = COLLECTION + "/{subscription_id}"

SUBSCRIPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "source": {"type": "string"},
        "subscriber": {"type": "string"},
        "ttl": {"type": "integer"},
        "age": {"type": "integer"},
        "options": {"type": "object"},
        "confirmed": {"type": "boolean"},
        "signing_secret": {"type": "string"},
    },
    "required": ["id", "source", "subscriber", "ttl", "age", "options", "confirmed"],
}
SUBSCRIPTION_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "subscriber": {"type": "string", "format": "uri"},
        "ttl": {"type": "integer", "minimum": 60},
        "options": {"type": "object"},
    },
}
SUBSCRIPTION_CREATE_BODY: dict[str, Any] = {**SUBSCRIPTION_BODY, "required": ["subscriber"]}
FAILED_DELIVERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "delivery_id": {"type": "string"},
        "message_id": {"type": "string"},
        "subscriber": {"type": "string"},
        "attempts": {"type": "integer"},
        "last_error": {"type": "string"},
        "failed": {"type": "string", "format": "date-time"},
    },
}

router = APIRouter(tags=["subscriptions"])


def _trusts(request: Request) -> SubscriptionTrusts:
    trusts: SubscriptionTrusts = request.app.state.subscription_trusts
    return trusts


def _caller(request: Request, target: Target) -> Caller:
    identity = target.ctx.identity
    return Caller(
        identity.user, identity.project, identity.roles, request.headers.get("x-auth-token")
    )


async def _current(target: Target, subscription_id: str) -> s.Subscription:
    reply = await target.ctx.storage.call(
        "subscription.get",
        s.SubscriptionRequest(
            project=target.storage_project, queue=target.name, subscription_id=subscription_id
        ),
        s.SubscriptionReply,
    )
    return reply.subscription


def subscription_item(sub: s.Subscription, *, with_secret: bool = False) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": sub.id,
        "source": sub.queue,
        "subscriber": sub.subscriber,
        "ttl": sub.ttl,
        "age": sub.age,
        "options": sub.options,
        "confirmed": sub.confirmed,
    }
    if with_secret:
        item["signing_secret"] = sub.signing_secret
    return item


async def _document(request: Request, target: Target) -> Any:
    data = await read_small_body(request, target.ctx.settings.max_queue_metadata)
    return parse_json(data) if data is not None else None


@router.get(
    COLLECTION,
    **doc.operation(
        {
            200: {
                "type": "object",
                "properties": {
                    "subscriptions": {"type": "array", "items": SUBSCRIPTION_SCHEMA},
                    "links": doc.LINKS_SCHEMA,
                },
            }
        },
        path=COLLECTION,
        query=("marker", "limit"),
    ),
    summary="List subscriptions",
)
async def list_subscriptions(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    marker = query(request, "marker")
    supplied = parse_int_param("limit", query(request, "limit"))
    page = validate_subscription_list_limit(supplied, target.ctx.settings)
    reply = await target.ctx.storage.call(
        "subscription.list",
        s.SubscriptionListRequest(
            project=target.storage_project, queue=target.name, marker=marker or None, limit=page
        ),
        s.SubscriptionListReply,
    )
    items = [subscription_item(sub) for sub in reply.subscriptions]
    path = f"{target.base_path}/subscriptions"
    links = next_link(path, {"marker": items[-1]["id"], "limit": supplied}) if items else []
    return json_response({"subscriptions": items, "links": links})


@router.post(
    COLLECTION,
    **doc.operation(
        {201: {"type": "object"}}, errors=(409,), body=SUBSCRIPTION_CREATE_BODY, path=COLLECTION
    ),
    summary="Create a subscription",
)
async def create(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    fields = parse_subscription_create(await _document(request, target), target.ctx.settings)
    assert fields.subscriber is not None and fields.ttl is not None
    location = {"Location": f"{target.base_path}/subscriptions"}
    trusts = _trusts(request)
    caller = _caller(request, target)
    plan = await trusts.for_create(caller, fields.subscriber, fields.ttl, fields.options or {})
    stored = False
    try:
        reply = await target.ctx.storage.call(
            "subscription.create",
            s.SubscriptionCreateRequest(
                project=target.storage_project,
                queue=target.name,
                subscriber=fields.subscriber,
                ttl=fields.ttl,
                options=plan.options or {},
            ),
            s.SubscriptionCreateReply,
        )
        stored = reply.created  # a duplicate keeps its own options, trust included
    except Conflict as exc:  # Zaqar sends the collection as Location on 409 too
        return error_response(409, exc.title, exc.description, location)
    finally:
        await trusts.settle(caller, plan, stored=stored)
    body = {"subscription_id": reply.subscription_id, "signing_secret": reply.signing_secret}
    return json_response(body, status=201, headers=location)


@router.get(
    ITEM,
    **doc.operation({200: SUBSCRIPTION_SCHEMA}, errors=(404,), path=ITEM),
    summary="Get a subscription",
)
async def get(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    subscription_id = path(request, "subscription_id")
    reply = await target.ctx.storage.call(
        "subscription.get",
        s.SubscriptionRequest(
            project=target.storage_project, queue=target.name, subscription_id=subscription_id
        ),
        s.SubscriptionReply,
    )
    return json_response(subscription_item(reply.subscription, with_secret=True))


@router.patch(
    ITEM,
    **doc.operation(
        {204: None}, errors=(404, 409), body=SUBSCRIPTION_BODY, body_required=True, path=ITEM
    ),
    summary="Update a subscription",
)
async def update(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    subscription_id = path(request, "subscription_id")
    fields = parse_subscription_update(await _document(request, target), target.ctx.settings)
    trusts = _trusts(request)
    current = await _current(target, subscription_id) if trusts.enabled else None
    caller = _caller(request, target)
    plan = await trusts.for_update(caller, current, fields)
    stored = False
    try:
        await target.ctx.storage.call(
            "subscription.update",
            s.SubscriptionUpdateRequest(
                project=target.storage_project,
                queue=target.name,
                subscription_id=subscription_id,
                subscriber=fields.subscriber,
                ttl=fields.ttl,
                options=plan.options,
            ),
            s.Empty,
        )
        stored = True
    finally:
        await trusts.settle(caller, plan, stored=stored)
    return empty(headers={"Location": str(request.url.path)})


@router.delete(ITEM, **doc.operation({204: None}, path=ITEM), summary="Delete a subscription")
async def delete(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    subscription_id = path(request, "subscription_id")
    trusts = _trusts(request)
    current: s.Subscription | None = None
    if trusts.enabled:  # its trust goes with it
        with contextlib.suppress(NotFound):  # deleting an unknown one is a 204 all the same
            current = await _current(target, subscription_id)
    await target.ctx.storage.call(
        "subscription.delete",
        s.SubscriptionRequest(
            project=target.storage_project, queue=target.name, subscription_id=subscription_id
        ),
        s.Empty,
    )
    trust = trust_id_of(current.subscriber, current.options) if current is not None else None
    if trust is not None:
        await trusts.discard(_caller(request, target), trust)
    return empty()


@router.put(
    ITEM + "/confirm",
    **doc.operation(
        {204: None},
        errors=(404,),
        body={
            "type": "object",
            "properties": {"confirmed": {"type": "boolean"}},
            "required": ["confirmed"],
        },
        body_required=True,
        path=ITEM,
    ),
    summary="Confirm (or unsubscribe) a subscription",
)
async def confirm(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    subscription_id = path(request, "subscription_id")
    confirmed = parse_subscription_confirm(await _document(request, target))
    await target.ctx.storage.call(
        "subscription.confirm",
        s.SubscriptionConfirmRequest(
            project=target.storage_project,
            queue=target.name,
            subscription_id=subscription_id,
            confirmed=confirmed,
        ),
        s.SubscriptionReply,
    )
    return empty(headers={"Location": str(request.url.path)})


@router.get(
    ITEM + "/failed_deliveries",
    **doc.operation(
        {
            200: {
                "type": "object",
                "properties": {
                    "failed_deliveries": {"type": "array", "items": FAILED_DELIVERY_SCHEMA},
                    "links": doc.LINKS_SCHEMA,
                },
            }
        },
        path=ITEM,
        query=("marker", "limit"),
    ),
    summary="List notifications the notifier gave up on (Tidings extension)",
)
async def failed_deliveries(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    subscription_id = path(request, "subscription_id")
    marker = query(request, "marker")
    supplied = parse_int_param("limit", query(request, "limit"))
    page = validate_subscription_list_limit(supplied, target.ctx.settings)
    reply = await target.ctx.storage.call(
        "delivery.list_failures",
        s.FailedDeliveryListRequest(
            project=target.storage_project,
            queue=target.name,
            subscription_id=subscription_id,
            marker=marker or None,
            limit=page,
        ),
        s.FailedDeliveryListReply,
    )
    items = [
        {
            "delivery_id": d.delivery_id,
            "message_id": d.message_id,
            "subscriber": d.subscriber,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "failed": utc_timestamp(d.failed),
        }
        for d in reply.deliveries
    ]
    links = (
        next_link(str(request.url.path), {"marker": reply.marker, "limit": supplied})
        if items
        else []
    )
    return json_response({"failed_deliveries": items, "links": links})
