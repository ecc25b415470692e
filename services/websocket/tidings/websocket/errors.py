"""The one table from domain error kinds to WebSocket statuses, and the error bodies.

Handler failures are answered ``{"exception": <what went wrong>, "error": <summary>}`` (spec
5.2); the summary is the Zaqar title of the failure ("Invalid API request", "Not found", ...).
"""

from __future__ import annotations

from tidings.common.errors import ErrorKind, TidingsError
from tidings.websocket.protocol import Reply

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.INVALID_BODY: 400,
    ErrorKind.INVALID_PARAMETER: 400,
    ErrorKind.BAD_CLAIM: 400,
    ErrorKind.CLAIMED: 403,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.QUOTA_EXCEEDED: 429,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

UNEXPECTED = "Unexpected error."


def error_reply(error: TidingsError) -> Reply:
    status = STATUS_BY_KIND.get(error.kind, 500)
    body: dict[str, object] = {"exception": error.description or error.title, "error": error.title}
    if status == 429:  # frames have no headers: REST's Retry-After travels in the body
        body["retry_after"] = max(1, error.retry_after or 1)
    return Reply(status, body)


def unexpected_reply(exc: Exception) -> Reply:
    return Reply(500, {"exception": str(exc) or type(exc).__name__, "error": UNEXPECTED})
