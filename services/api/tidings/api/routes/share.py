"""``POST /v2/queues/{queue_name}/share``: pre-signed URL data for a queue (spec 2.5.8).

The signature binds the caller's project, the expanded paths, the methods and the expiry
(:mod:`tidings.common.signed_url`). The queue need not exist. A pre-signed request cannot
share further: its paths never cover ``.../share``.
"""

from __future__ import annotations

import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from tidings.api import openapi as doc
from tidings.api.body import content_length, read_body
from tidings.api.kinds import QUEUES
from tidings.api.pipeline import target_of
from tidings.api.render import json_response
from tidings.common import signed_url
from tidings.common.errors import InvalidBody, InvalidRequest
from tidings.common.validation import BODY_EMPTY, parse_json

router = APIRouter(tags=["queues"])

SHARE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "paths": {"type": "array", "items": {"enum": list(signed_url.SHAREABLE_PATHS)}},
        "methods": {"type": "array", "items": {"type": "string"}},
        "expires": {"type": "string", "format": "date-time"},
    },
    "additionalProperties": False,
}
SHARE_REPLY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "project": {"type": "string"},
        "paths": {"type": "array", "items": {"type": "string"}},
        "methods": {"type": "array", "items": {"type": "string"}},
        "expires": {"type": "string"},
        "signature": {"type": "string"},
    },
    "required": ["project", "paths", "methods", "expires", "signature"],
}
NO_SECRET_KEY = "Signed URLs are not enabled: no secret key is configured."


SHARE = "/v2/queues/{queue_name}/share"


@router.post(
    SHARE,
    **doc.operation({200: SHARE_REPLY}, body=SHARE_BODY, body_required=True, path=SHARE),
    summary="Create pre-signed URL data for a queue",
)
async def share(request: Request) -> Response:
    target = await target_of(request, QUEUES)
    settings = target.ctx.settings
    length = content_length(request)
    limit = settings.max_queue_metadata
    if length is not None and length > limit:
        raise InvalidRequest(f"Request body is too large. Max size: {limit}")
    if not length:
        raise InvalidBody(BODY_EMPTY)
    document = parse_json(await read_body(request, length) or b"")
    key = settings.signed_url_secret_key
    if not key:
        raise InvalidRequest(NO_SECRET_KEY)
    now = datetime.datetime.now(datetime.UTC)
    paths, methods, expires = signed_url.parse_share_request(document, target.base_path, now)
    created = signed_url.create(key, paths, methods, target.ctx.project, expires)
    return json_response(created.to_json())
