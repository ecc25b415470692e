"""Frames of the Zaqar WebSocket API (spec 5.1, 5.2): decoding, encoding, the reply envelope.

Text frames carry JSON, binary frames MessagePack with the same structure; every reply and push
goes out in the encoding of the request that caused it. A frame that cannot become a request
object is answered with one of the generic 400s of spec 5.2, raised here as :class:`FrameError`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import msgpack
import orjson

from tidings.common.validation import MAX_JSON_DEPTH

API_VERSION = "v2"
_SIGNED_64 = (-(2**63), 2**63 - 1)


class Encoding(Enum):
    TEXT = "text"  # JSON in text frames
    BINARY = "binary"  # MessagePack in binary frames


@dataclass
class Request:
    """A decoded request frame; ``headers`` and ``body`` are echoed in the reply as sent."""

    encoding: Encoding
    action: Any = None  # as sent: a frame may name a non-string action
    headers: Any = field(default_factory=dict)
    body: Any = field(default_factory=dict)
    body_sent: bool = False  # the frame had a "body" key (schemas may require one)


@dataclass
class Reply:
    status: int
    body: Any
    # Work to run once the reply is queued, before the next frame (a resume's replay).
    after: Callable[[], Awaitable[None]] | None = None


class FrameError(Exception):
    """A generic protocol error (spec 5.2) answered with ``{"error": ...}``."""

    def __init__(self, request: Request, status: int, error: str) -> None:
        super().__init__(error)
        self.request = request
        self.reply = Reply(status, {"error": error})


def _strict_int(text: str) -> int:
    value = int(text)
    if not _SIGNED_64[0] <= value <= _SIGNED_64[1]:
        raise ValueError("JSON contains integer that is too large.")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_value(value: Any) -> None:
    """Bound the depth and keep to JSON types: bodies go to storage as JSON."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"values nest deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, dict):
            for key, child in node.items():
                if not isinstance(key, str):
                    raise TypeError("object keys must be strings")
                stack.append((child, depth + 1))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
        elif isinstance(node, int) and not isinstance(node, bool):
            if not _SIGNED_64[0] <= node <= _SIGNED_64[1]:
                raise ValueError("integer too large")
        elif not (node is None or isinstance(node, str | float | bool)):
            raise TypeError(f"{type(node).__name__} values are not supported")


def decode_frame(data: str | bytes) -> Request:
    """The request in a frame, or FrameError with the exact generic bodies of spec 5.2."""
    if isinstance(data, str):
        encoding, what = Encoding.TEXT, "text (JSON)"
    else:
        encoding, what = Encoding.BINARY, "binary (MessagePack)"
    empty = Request(encoding, action=None)
    try:
        if encoding is Encoding.TEXT:
            payload = json.loads(data, parse_int=_strict_int, parse_constant=_no_constant)
        else:
            payload = msgpack.unpackb(data, raw=False, strict_map_key=False)
        _check_value(payload)
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException) as exc:
        raise FrameError(
            empty, 400, f"Can't decode {what} request. {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(payload, dict):
        raise FrameError(empty, 400, "Unexpected body type. Expected dict or dict like.")
    return Request(
        encoding,
        action=payload.get("action"),
        headers=payload.get("headers", {}),
        body=payload.get("body", {}),
        body_sent="body" in payload,
    )


def encode(value: Any, encoding: Encoding) -> str | bytes:
    if encoding is Encoding.BINARY:
        packed: bytes = msgpack.packb(value, use_bin_type=True)
        return packed
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. a 64-bit integer orjson refuses; the standard library copes
        return json.dumps(value, ensure_ascii=False)


def envelope(request: Request, reply: Reply) -> dict[str, Any]:
    """The reply frame of spec 5.1: the request echoed, the body, the status in headers."""
    return {
        "request": {
            "action": request.action,
            "body": request.body,
            "headers": request.headers,
            "api": API_VERSION,
        },
        "body": reply.body,
        "headers": {"status": reply.status},
    }
