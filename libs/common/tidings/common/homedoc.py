"""The JSON-Home document of the v2 API (spec 2.2), shared by both transports.

REST serves it at ``GET /v2/``; the WebSocket API answers ``get_home_doc`` with it.
"""

from __future__ import annotations

from typing import Any

_FORMATS: dict[str, Any] = {"application/json": {}}


def _entry(path: str, allow: list[str], variables: dict[str, str] | None = None) -> dict[str, Any]:
    hints: dict[str, Any] = {"allow": allow, "formats": _FORMATS}
    if "POST" in allow or "PATCH" in allow:
        hints["accept-post"] = ["application/json"]
    if variables:
        return {"href-template": path, "href-vars": variables, "hints": hints}
    return {"href": path, "hints": hints}


_QUEUE = "/v2/queues/{queue_name}"
_Q = {"queue_name": "param/queue_name"}
_MSG = {**_Q, "message_id": "param/message_id"}
_CLAIM = {**_Q, "claim_id": "param/claim_id"}
_SUB = {**_Q, "subscriptions_id": "param/subscriptions_id"}


def pooling_resources() -> dict[str, Any]:
    """The admin relations of pools and flavors (admin mode with pooling only)."""
    listing = {"detailed": "param/detailed", "limit": "param/limit", "marker": "param/marker"}
    return {
        "rel/pools": _entry("/v2/pools{?detailed,limit,marker}", ["GET"], listing),
        "rel/pool": _entry(
            "/v2/pools/{pool_name}", ["GET", "PUT", "PATCH", "DELETE"],
            {"pool_name": "param/pool_name"},
        ),
        "rel/flavors": _entry("/v2/flavors{?detailed,limit,marker}", ["GET"], listing),
        "rel/flavor": _entry(
            "/v2/flavors/{flavor_name}", ["GET", "PUT", "PATCH", "DELETE"],
            {"flavor_name": "param/flavor_name"},
        ),
    }  # fmt: skip


def home_resources(admin_mode: bool = False, pooling: bool = False) -> dict[str, Any]:
    """``{"resources": {rel: entry}}``; ``rel/health`` only in admin mode, the pool and
    flavor relations only in admin mode with pooling."""
    resources: dict[str, Any] = {
        "rel/queues": _entry(
            "/v2/queues{?marker,limit,detailed}",
            ["GET"],
            {"marker": "param/marker", "limit": "param/queue_limit", "detailed": "param/detailed"},
        ),
        "rel/queue": _entry(_QUEUE, ["GET", "PUT", "DELETE", "PATCH"], _Q),
        "rel/queue_stats": _entry(f"{_QUEUE}/stats", ["GET"], _Q),
        "rel/queue_share": _entry(f"{_QUEUE}/share", ["POST"], _Q),
        "rel/queue_purge": _entry(f"{_QUEUE}/purge", ["POST"], _Q),
        "rel/messages": _entry(
            f"{_QUEUE}/messages{{?marker,limit,echo,include_claimed}}",
            ["GET"],
            {
                **_Q,
                "marker": "param/marker",
                "limit": "param/messages_limit",
                "echo": "param/echo",
                "include_claimed": "param/include_claimed",
            },
        ),
        "rel/post_messages": _entry(f"{_QUEUE}/messages", ["POST"], _Q),
        "rel/messages_delete": _entry(
            f"{_QUEUE}/messages{{?ids,pop}}",
            ["DELETE"],
            {**_Q, "ids": "param/ids", "pop": "param/pop"},
        ),
        "rel/message_delete": _entry(
            f"{_QUEUE}/messages/{{message_id}}{{?claim}}",
            ["DELETE"],
            {**_MSG, "claim": "param/claim_id"},
        ),
        "rel/message_get": _entry(f"{_QUEUE}/messages/{{message_id}}", ["GET"], _MSG),
        "rel/claim": _entry(f"{_QUEUE}/claims/{{claim_id}}", ["GET"], _CLAIM),
        "rel/post_claim": _entry(
            f"{_QUEUE}/claims{{?limit}}", ["POST"], {**_Q, "limit": "param/claim_limit"}
        ),
        "rel/patch_claim": _entry(f"{_QUEUE}/claims/{{claim_id}}", ["PATCH"], _CLAIM),
        "rel/delete_claim": _entry(f"{_QUEUE}/claims/{{claim_id}}", ["DELETE"], _CLAIM),
        "rel/subscriptions_get": _entry(
            f"{_QUEUE}/subscriptions{{?marker,limit}}",
            ["GET"],
            {**_Q, "marker": "param/marker", "limit": "param/subscription_limit"},
        ),
        "rel/subscriptions_post": _entry(f"{_QUEUE}/subscriptions", ["POST"], _Q),
        "rel/subscription": _entry(
            f"{_QUEUE}/subscriptions/{{subscriptions_id}}", ["GET", "DELETE"], _SUB
        ),
        "rel/subscription_patch": _entry(
            f"{_QUEUE}/subscriptions/{{subscriptions_id}}", ["PATCH"], _SUB
        ),
        "rel/ping": _entry("/v2/ping", ["GET"]),
    }
    if admin_mode:
        resources["rel/health"] = _entry("/v2/health", ["GET"])
    if admin_mode and pooling:
        resources.update(pooling_resources())
    return {"resources": resources}
