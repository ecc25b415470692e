"""Typed domain errors shared by every service.

Errors carry a *kind* (what went wrong, in domain terms) plus the Zaqar ``title`` and
``description`` texts that clients match on. They never carry an HTTP status: each transport
maps a kind to its status exactly once (``tidings.api.errors`` for REST, the websocket
service for frames). Errors cross the NATS boundary as :class:`ErrorPayload`.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel


class ErrorKind(StrEnum):
    INVALID_REQUEST = "invalid_request"  # semantic validation failed ("Invalid API request")
    INVALID_BODY = "invalid_body"  # body malformed ("Invalid request body")
    INVALID_PARAMETER = "invalid_parameter"  # query parameter not parsable
    BAD_CLAIM = "bad_claim"  # a claim id given on delete is wrong or stale
    CLAIMED = "claimed"  # message claimed by someone else
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"  # a dependency (storage, NATS, database) cannot answer
    QUOTA_EXCEEDED = "quota_exceeded"  # a per-project storage quota (queues, messages, bytes)
    RATE_LIMITED = "rate_limited"  # the project's request rate is over its limit


class ErrorPayload(BaseModel):
    """How a :class:`TidingsError` travels inside an RPC reply."""

    kind: ErrorKind
    title: str
    description: str | None = None
    # Seconds after which a retry may succeed (quota and rate-limit refusals only).
    retry_after: int | None = None


class TidingsError(Exception):
    """Root of every error a Tidings service raises on purpose."""

    kind: ErrorKind = ErrorKind.INVALID_REQUEST
    default_title: str = "Invalid API request"
    retry_after: int | None = None

    def __init__(self, description: str | None = None, *, title: str | None = None) -> None:
        super().__init__(description or title or self.default_title)
        self.title = title or self.default_title
        self.description = description

    def to_payload(self) -> ErrorPayload:
        return ErrorPayload(
            kind=self.kind,
            title=self.title,
            description=self.description,
            retry_after=self.retry_after,
        )

    @staticmethod
    def from_payload(payload: ErrorPayload) -> TidingsError:
        cls = _BY_KIND.get(payload.kind, TidingsError)
        error = cls(payload.description, title=payload.title)
        error.kind = payload.kind
        error.retry_after = payload.retry_after
        return error


class InvalidRequest(TidingsError):
    kind = ErrorKind.INVALID_REQUEST
    default_title = "Invalid API request"


class InvalidBody(TidingsError):
    kind = ErrorKind.INVALID_BODY
    default_title = "Invalid request body"


class InvalidParameter(TidingsError):
    kind = ErrorKind.INVALID_PARAMETER
    default_title = "Invalid parameter"


class BadClaim(TidingsError):
    """400 on message delete: the claim given does not (or no longer) hold the message."""

    kind = ErrorKind.BAD_CLAIM
    default_title = "Unable to delete"


class MessageClaimed(TidingsError):
    """403 on message delete: the message is held by another live claim."""

    kind = ErrorKind.CLAIMED
    default_title = "Unable to delete"


class NotFound(TidingsError):
    kind = ErrorKind.NOT_FOUND
    default_title = "Not found"


class Conflict(TidingsError):
    kind = ErrorKind.CONFLICT
    default_title = "Resource conflict"


class Forbidden(TidingsError):
    kind = ErrorKind.FORBIDDEN
    default_title = "Not authorized"


class ServiceUnavailable(TidingsError):
    kind = ErrorKind.UNAVAILABLE
    default_title = "Service temporarily unavailable"

    def __init__(self, reason: str = "Storage is unavailable.", *, title: str | None = None):
        text = (
            reason
            if reason.endswith("Please try again in a few seconds.")
            else (f"{reason} Please try again in a few seconds.")
        )
        super().__init__(text, title=title)


class RetryLater(TidingsError):
    """A refusal (429) that says when to try again: ``retry_after`` whole seconds, at least 1."""

    def __init__(
        self,
        description: str | None = None,
        *,
        title: str | None = None,
        retry_after: int = 1,
    ) -> None:
        super().__init__(description, title=title)
        self.retry_after = max(1, retry_after)


class QuotaExceeded(RetryLater):
    """A write would take the project over one of its storage quotas (see :attr:`quota`)."""

    kind = ErrorKind.QUOTA_EXCEEDED
    default_title = "Quota exceeded"


class RateLimited(RetryLater):
    """The project sends requests faster than its limit allows."""

    kind = ErrorKind.RATE_LIMITED
    default_title = "Too many requests"


_BY_KIND: dict[ErrorKind, type[TidingsError]] = {
    cls.kind: cls
    for cls in (
        InvalidRequest,
        InvalidBody,
        InvalidParameter,
        BadClaim,
        MessageClaimed,
        NotFound,
        Conflict,
        Forbidden,
        ServiceUnavailable,
        QuotaExceeded,
        RateLimited,
    )
}
