"""What a notification says and how a webhook request carries it.

The payload is Zaqar's (spec 4.1). ``post_data`` (a string option) is the body template: every
``"$zaqar_message$"``, double quotes included, becomes the JSON payload. Each request carries
``X-Tidings-Delivery-Id``, the same for every attempt and every redelivery of one message to
one subscription, so receivers can drop duplicates, and ``X-Tidings-Signature:
sha256=<hex>``, the HMAC-SHA256 of the exact body under the subscription's signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson
from pydantic import JsonValue

from tidings.common.events import PostedMessage

NOTIFICATION = "Notification"
PLACEHOLDER = '"$zaqar_message$"'
DELIVERY_ID_HEADER = "X-Tidings-Delivery-Id"
SIGNATURE_HEADER = "X-Tidings-Signature"
MESSAGE_ID_HEADER = "X-Tidings-Message-Id"


def notification(queue: str, message: PostedMessage) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "body": message.body,
        "ttl": message.ttl,
        "queue_name": queue,
        "Message_Type": NOTIFICATION,
    }
    if message.delay:
        payload["delay"] = message.delay
    return payload


def delivery_id(subscription_id: str, message_id: str) -> str:
    """Stable for one message and one subscription, whichever replica delivers it, how often."""
    return hashlib.sha256(f"{subscription_id}/{message_id}".encode()).hexdigest()[:32]


def render_body(payload: dict[str, Any], options: dict[str, JsonValue]) -> bytes:
    encoded = orjson.dumps(payload)
    template = options.get("post_data")
    if isinstance(template, str) and template:
        return template.replace(PLACEHOLDER, encoded.decode()).encode()
    if isinstance(template, dict | list):  # a JSON template given as an object: same rule
        return orjson.dumps(template).decode().replace(PLACEHOLDER, encoded.decode()).encode()
    return encoded


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_headers(
    options: dict[str, JsonValue], body: bytes, secret: str, delivery: str, message_id: str
) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    extra = options.get("post_headers")
    if isinstance(extra, dict):
        headers.update({str(k): str(v) for k, v in extra.items()})
    headers[DELIVERY_ID_HEADER] = delivery
    headers[MESSAGE_ID_HEADER] = message_id
    headers[SIGNATURE_HEADER] = sign(secret, body)
    return headers
