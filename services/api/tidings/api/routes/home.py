"""``GET /`` (version discovery, 300) and ``GET /v2/`` (the JSON-Home document)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response

from tidings.api.openapi import operation
from tidings.api.pipeline import admit, check_content_headers
from tidings.api.render import json_response
from tidings.common.homedoc import pooling_resources

router = APIRouter()

VERSIONS = {
    "versions": [
        {
            "id": "2",
            "status": "CURRENT",
            "updated": "2014-9-24T04:06:47Z",  # sic: Zaqar's literal value
            "media-types": [
                {"base": "application/json", "type": "application/vnd.openstack.messaging-v2+json"}
            ],
            "links": [{"href": "/v2/", "rel": "self"}],
        }
    ]
}

_JSON: dict[str, Any] = {"application/json": {}}


def _resource(
    template: str, allow: list[str], href_vars: dict[str, str] | None = None
) -> dict[str, Any]:
    entry: dict[str, Any] = {"hints": {"allow": allow, "formats": _JSON}}
    if href_vars:
        entry["href-template"] = template
        entry["href-vars"] = href_vars
    else:
        entry["href"] = template
    if "POST" in allow or "PATCH" in allow:
        entry["hints"]["accept-post"] = ["application/json"]
    return entry


_Q = {"queue_name": "param/queue_name"}
_M = {**_Q, "message_id": "param/message_id"}
_C = {**_Q, "claim_id": "param/claim_id"}
_S = {**_Q, "subscriptions_id": "param/subscriptions_id"}
HOME_RESOURCES: dict[str, Any] = {
    "rel/queues": _resource(
        "/v2/queues{?marker,limit,detailed}",
        ["GET"],
        {"marker": "param/marker", "limit": "param/queue_limit", "detailed": "param/detailed"},
    ),
    "rel/queue": _resource("/v2/queues/{queue_name}", ["GET", "PUT", "DELETE", "PATCH"], _Q),
    "rel/queue_stats": _resource("/v2/queues/{queue_name}/stats", ["GET"], _Q),
    "rel/queue_share": _resource("/v2/queues/{queue_name}/share", ["POST"], _Q),
    "rel/queue_purge": _resource("/v2/queues/{queue_name}/purge", ["POST"], _Q),
    "rel/messages": _resource(
        "/v2/queues/{queue_name}/messages{?marker,limit,echo,include_claimed}",
        ["GET"],
        {
            **_Q,
            "marker": "param/marker",
            "limit": "param/messages_limit",
            "echo": "param/echo",
            "include_claimed": "param/include_claimed",
        },
    ),
    "rel/post_messages": _resource("/v2/queues/{queue_name}/messages", ["POST"], _Q),
    "rel/messages_delete": _resource(
        "/v2/queues/{queue_name}/messages{?ids,pop}",
        ["DELETE"],
        {**_Q, "ids": "param/ids", "pop": "param/pop"},
    ),
    "rel/message_delete": _resource(
        "/v2/queues/{queue_name}/messages/{message_id}{?claim}",
        ["DELETE"],
        {**_M, "claim": "param/claim_id"},
    ),
    "rel/message_get": _resource("/v2/queues/{queue_name}/messages/{message_id}", ["GET"], _M),
    "rel/claim": _resource("/v2/queues/{queue_name}/claims/{claim_id}", ["GET"], _C),
    "rel/post_claim": _resource(
        "/v2/queues/{queue_name}/claims{?limit}",
        ["POST"],
        {**_Q, "limit": "param/claim_limit"},
    ),
    "rel/patch_claim": _resource("/v2/queues/{queue_name}/claims/{claim_id}", ["PATCH"], _C),
    "rel/delete_claim": _resource("/v2/queues/{queue_name}/claims/{claim_id}", ["DELETE"], _C),
    "rel/subscriptions_get": _resource(
        "/v2/queues/{queue_name}/subscriptions{?marker,limit}",
        ["GET"],
        {**_Q, "marker": "param/marker", "limit": "param/subscription_limit"},
    ),
    "rel/subscriptions_post": _resource("/v2/queues/{queue_name}/subscriptions", ["POST"], _Q),
    "rel/subscription": _resource(
        "/v2/queues/{queue_name}/subscriptions/{subscriptions_id}", ["GET", "DELETE"], _S
    ),
    "rel/subscription_patch": _resource(
        "/v2/queues/{queue_name}/subscriptions/{subscriptions_id}", ["PATCH"], _S
    ),
    "rel/ping": _resource("/v2/ping", ["GET"]),
}


def home_document(admin_mode: bool, pooling: bool = False) -> bytes:
    resources = dict(HOME_RESOURCES)
    if admin_mode:
        resources["rel/health"] = _resource("/v2/health", ["GET"])
    if admin_mode and pooling:
        resources.update(pooling_resources())
    # Zaqar pretty-prints the home document with a 4-space indent.
    return json.dumps({"resources": resources}, indent=4).encode()


@router.get(
    "/",
    **operation({300: {"type": "object"}}, identified=False),
    summary="Version discovery",
)
async def versions(request: Request) -> Response:
    check_content_headers(request)
    return json_response(VERSIONS, status=300)


@router.get(
    "/v2/",
    **operation({200: {"type": "object"}}, success_type="application/json-home"),
    summary="JSON-Home document",
)
async def home(request: Request) -> Response:
    await admit(request)
    document: bytes = request.app.state.home_document
    return Response(
        document,
        media_type="application/json-home",
        headers={"Cache-Control": "max-age=86400"},
    )
