"""Request bodies: sized by Content-Length before a byte is read (spec 1.3, 1.7).

A body is read only after its declared length passed the route's limit, so an oversized
upload is refused without being received. A body sent without Content-Length (chunked) counts
as no body at all, as in Zaqar. Reading is bounded in time so a client that declares more than
it sends cannot hold a request open forever.
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from tidings.common.errors import InvalidBody, InvalidRequest

BODY_READ_TIMEOUT = 30.0


def content_length(request: Request) -> int | None:
    """The declared body length; None when the request has no Content-Length."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        length = int(raw)
    except ValueError:
        raise InvalidRequest("Content-Length is not a number.", title="Invalid header") from None
    if length < 0:
        raise InvalidRequest("Content-Length may not be negative.", title="Invalid header")
    return length


async def read_body(request: Request, length: int | None) -> bytes | None:
    """The body of a request whose ``length`` the caller has already checked; None if absent."""
    if length is None:
        return None
    if length == 0:
        return b""
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT):
            async for chunk in request.stream():
                received += len(chunk)
                if received > length:  # the server enforces this too; never buffer beyond it
                    break
                chunks.append(chunk)
    except TimeoutError:
        raise InvalidBody("Request body could not be read.") from None
    return b"".join(chunks)
