"""Confirmation requests and unsubscribe notices (spec 4.4).

Active when ``require_confirmation`` is on and a signing key is set. A new (or re-posted,
unconfirmed) subscription gets one ``SubscriptionConfirmation`` notification through its own
channel, carrying pre-signed URL data for ``PUT .../subscriptions/<id>/confirm``; confirming
with ``false`` gets an ``UnsubscribeConfirmation`` with a fresh signature. E-mail subscribers
get a link to ``external_confirmation_url`` instead (no link page configured: no e-mail).
"""

from __future__ import annotations

import datetime
from typing import Any

from tidings.common import schemas as s
from tidings.common import signed_url
from tidings.notifier.settings import NotifierSettings

SUBSCRIBE = "SubscriptionConfirmation"
UNSUBSCRIBE = "UnsubscribeConfirmation"


def confirm_path(queue: str, subscription_id: str) -> str:
    return f"/v2/queues/{queue}/subscriptions/{subscription_id}/confirm"


def confirmation_payload(
    settings: NotifierSettings, project: str, subscription: s.Subscription, kind: str
) -> dict[str, Any]:
    assert settings.signed_url_secret_key
    path = confirm_path(subscription.queue, subscription.id)
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=settings.default_subscription_ttl
    )
    signed = signed_url.create(settings.signed_url_secret_key, [path], ["PUT"], project, expires)
    if kind == SUBSCRIBE:
        message = f"You have chosen to subscribe to the queue: {subscription.queue}"
    else:
        message = (
            f"You have unsubscribed successfully to the queue: {subscription.queue}, you can "
            "resubscribe it by using confirmed=True."
        )
    payload: dict[str, Any] = {
        "Message_Type": kind,
        "Message": message,
        "URL-Signature": signed.signature,
        "URL-Methods": "PUT",
        "URL-Paths": path,
        "X-Project-ID": project,
        "URL-Expires": signed.expires,
        "SubscribeBody": {"confirmed": True},
        "UnsubscribeBody": {"confirmed": False},
        "queue_name": subscription.queue,
    }
    if settings.public_api_url:
        payload["WSGISubscribeURL"] = settings.public_api_url.rstrip("/") + path
    return payload


def confirmation_email(
    settings: NotifierSettings, payload: dict[str, Any], project: str
) -> tuple[str, str] | None:
    """(subject, text) of the e-mail, or None without an ``external_confirmation_url``."""
    if not settings.external_confirmation_url:
        return None
    link = (
        f"{settings.external_confirmation_url}?Signature={payload['URL-Signature']}"
        f"&Methods={payload['URL-Methods']}&Paths={payload['URL-Paths']}"
        f"&Project={project}&Expires={payload['URL-Expires']}"
        f"&Url={payload.get('WSGISubscribeURL', '')}&Queue={payload['queue_name']}"
    )
    queue = payload["queue_name"]
    if payload["Message_Type"] == SUBSCRIBE:
        subject = settings.subscription_confirmation_email_subject
        body = settings.subscription_confirmation_email_body
    else:
        subject = settings.unsubscribe_confirmation_email_subject
        body = settings.unsubscribe_confirmation_email_body
    return subject, body.format(queue, project, link)
