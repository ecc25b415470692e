"""Zaqar response bodies: JSON rendering, message items, hrefs, links and times."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Response
from pydantic import JsonValue

from tidings.common.schemas import Message

JSON = "application/json"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


def empty(status: int = 204, headers: Mapping[str, str] | None = None) -> Response:
    return Response(status_code=status, headers=headers)


def message_item(message: Message, base_path: str) -> dict[str, JsonValue]:
    """A message as lists, gets and claims show it: only fields python-zaqarclient knows."""
    href = f"{base_path}/messages/{message.id}"
    if message.claim_id:
        href = f"{href}?claim_id={message.claim_id}"  # nothing may follow: clients split on =
    item: dict[str, JsonValue] = {
        "id": message.id,
        "href": href,
        "ttl": message.ttl,
        "age": message.age,
        "body": message.body,
    }
    if message.checksum is not None:
        item["checksum"] = message.checksum
    return item


def popped_item(message: Message) -> dict[str, JsonValue]:
    """The raw storage shape pop answers with (spec 2.7.5): no href."""
    return {
        "id": message.id,
        "age": message.age,
        "ttl": message.ttl,
        "claim_count": message.claim_count,
        "claim_id": message.claim_id,
        "body": message.body,
    }


def query_string(params: Mapping[str, str | int | bool | None]) -> str:
    """Re-encode recognised parameters for a next link; booleans as true/false."""
    parts: list[str] = []
    for key, value in params.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        parts.append(f"{key}={quote(text, safe=',')}")
    return "&".join(parts)


def next_link(path: str, params: Mapping[str, str | int | bool | None]) -> list[dict[str, str]]:
    return [{"rel": "next", "href": f"{path}?{query_string(params)}"}]


def utc_timestamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
