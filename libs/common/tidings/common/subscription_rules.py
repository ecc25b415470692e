"""Transport-level rules of subscription bodies (spec 2.9), shared by REST and WebSocket.

Messages and their order are Zaqar's: a POST must name a ``subscriber`` before anything else
is looked at; then the subscriber scheme, ``options`` (with its ``_retry_policy``) and ``ttl``
are checked whichever call it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import JsonValue

from tidings.common.errors import InvalidRequest
from tidings.common.settings import CommonSettings
from tidings.common.validation import validate_subscription_options, validate_subscription_ttl

UPDATABLE = ("subscriber", "ttl", "options")
SUBSCRIBER_CONTROL_CHARACTERS = "The subscriber may not contain control characters."
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONFIRMED_NOT_BOOLEAN = "The 'confirmed' should be boolean."


@dataclass(frozen=True, slots=True)
class SubscriptionFields:
    """The fields a body set; None where it did not (updates keep those)."""

    subscriber: str | None = None
    ttl: int | None = None
    options: dict[str, JsonValue] | None = None


def validate_subscriber(subscriber: JsonValue, settings: CommonSettings) -> str:
    scheme = urlsplit(subscriber).scheme if isinstance(subscriber, str) else ""
    if scheme not in settings.subscriber_types:
        raise InvalidRequest(
            "The subscriber type of subscription must be supported in the list "
            f"{settings.subscriber_types}."
        )
    # A URI holds no control characters (RFC 3986); PostgreSQL could not even store a NUL.
    if _CONTROL.search(str(subscriber)):
        raise InvalidRequest(SUBSCRIBER_CONTROL_CHARACTERS)
    return str(subscriber)


def _check_fields(document: dict[str, JsonValue], settings: CommonSettings) -> SubscriptionFields:
    subscriber = (
        validate_subscriber(document["subscriber"], settings) if "subscriber" in document else None
    )
    options = validate_subscription_options(document["options"]) if "options" in document else None
    ttl = validate_subscription_ttl(document["ttl"], settings) if "ttl" in document else None
    return SubscriptionFields(subscriber, ttl, options)


def parse_subscription_create(
    document: JsonValue | None, settings: CommonSettings
) -> SubscriptionFields:
    """A POST body; the result has all three fields (defaults filled in)."""
    if document is not None and not isinstance(document, dict):
        raise InvalidRequest("Subscriptions must be a dict.")
    if not document or "subscriber" not in document:
        raise InvalidRequest("Missing parameter subscriber in body.")
    fields = _check_fields(document, settings)
    return SubscriptionFields(
        fields.subscriber,
        fields.ttl if fields.ttl is not None else settings.default_subscription_ttl,
        fields.options if fields.options is not None else {},
    )


def parse_subscription_update(
    document: JsonValue | None, settings: CommonSettings
) -> SubscriptionFields:
    """A PATCH body: at least one of subscriber, ttl, options (spec 2.9.4).

    A field set to null is one not given, as in Zaqar (its validation skips falsy fields and
    its storage drops None ones): ``openstack messaging subscription update --ttl 120`` sends
    ``{"subscriber": null, "ttl": 120, "options": {}}``."""
    if not document:
        raise InvalidRequest("No subscription to create.")
    if not isinstance(document, dict):
        raise InvalidRequest("Subscriptions must be a dict.")
    given: dict[str, JsonValue] = {k: v for k, v in document.items() if v is not None}
    fields = _check_fields(given, settings)
    if fields == SubscriptionFields():
        raise InvalidRequest(
            f"None of {', '.join(UPDATABLE)} was given.", title="Unable to update subscription"
        )
    return fields


def parse_subscription_confirm(document: JsonValue | None) -> bool:
    confirmed = document.get("confirmed") if isinstance(document, dict) else None
    if not isinstance(confirmed, bool):
        raise InvalidRequest(CONFIRMED_NOT_BOOLEAN)
    return confirmed


def validate_subscription_list_limit(limit: int | None, settings: CommonSettings) -> int:
    high = settings.max_subscriptions_per_page
    if limit is None:
        return 10
    if not 0 < limit <= high:
        raise InvalidRequest(f"Limit must be at least 1 and may not be greater than {high}.")
    return limit
