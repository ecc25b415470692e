"""A delivery job: one notification to one subscriber, with what its attempts need.

Jobs are built once per (message, subscription): body, headers and the delays of the retry
policy are fixed then, so every attempt and every replica sends the same bytes with the same
delivery id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

import orjson

from tidings.common import schemas as s
from tidings.common.tracing import TraceHeaders
from tidings.common.trusts import trust_id_of
from tidings.notifier.channels import webhook_url
from tidings.notifier.payload import delivery_id, render_body, webhook_headers

SubscriberType = Literal["webhook", "email"]


def subscriber_type(subscriber: str) -> SubscriberType | None:
    scheme = urlsplit(subscriber).scheme
    if scheme in ("http", "https", "trust+http", "trust+https"):
        return "webhook"
    if scheme == "mailto":
        return "email"
    return None


@dataclass(frozen=True, slots=True)
class MailTarget:
    to: str
    subject: str
    sender: str


def mail_target(subscriber: str, options: dict[str, Any], default_sender: str) -> MailTarget:
    """To from the address part; Subject from a ``subject`` query parameter (any case) or
    ``options.subject``; From from ``options.from`` (spec 4.2)."""
    parts = urlsplit(subscriber)
    subject = ""
    for key, value in parse_qsl(parts.query):
        if key.lower() == "subject":
            subject = value
    if not subject and isinstance(options.get("subject"), str):
        subject = str(options["subject"])
    sender = options.get("from")
    return MailTarget(
        to=parts.path, subject=subject, sender=sender if isinstance(sender, str) else default_sender
    )


class EventWork:
    """The deliveries of one JetStream event; it is acked once ``pending`` reaches zero."""

    def __init__(self, pending: int) -> None:
        self.pending = pending
        self.failed_to_record = False
        self.done = asyncio.Event()

    def finish_one(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.done.set()


@dataclass(slots=True)
class Job:
    work: EventWork
    project: str
    queue: str
    subscription: s.Subscription
    kind: SubscriberType
    delivery_id: str
    message_id: str
    body: bytes
    headers: dict[str, str]
    delays: list[float]  # waits before the remaining retries
    committed: float  # when storage committed the message (its clock): latency starts here
    mail: MailTarget | None = None
    # The trace the delivery belongs to (the post's): each attempt is a span under it.
    trace: TraceHeaders | None = None
    attempts: int = 0
    last_error: str = ""

    @property
    def limiter_key(self) -> tuple[str, str]:
        """Concurrency is capped per subscriber URI of a project."""
        return (self.project, self.subscription.subscriber)

    @property
    def url(self) -> str:
        return webhook_url(self.subscription.subscriber)

    @property
    def trust_id(self) -> str | None:
        """The Keystone trust a ``trust+`` delivery gets its ``X-Auth-Token`` from."""
        return trust_id_of(self.subscription.subscriber, self.subscription.options)


def build_job(
    work: EventWork,
    project: str,
    queue: str,
    subscription: s.Subscription,
    message_id: str,
    payload: dict[str, Any],
    delays: list[float],
    committed: float,
    default_sender: str,
    trace: TraceHeaders | None = None,
) -> Job | None:
    kind = subscriber_type(subscription.subscriber)
    if kind is None:
        return None
    delivery = delivery_id(subscription.id, message_id)
    options: dict[str, Any] = dict(subscription.options)
    if kind == "webhook":
        body = render_body(payload, subscription.options)
        headers = webhook_headers(
            subscription.options, body, subscription.signing_secret, delivery, message_id
        )
        mail = None
    else:
        body = orjson.dumps(payload, option=orjson.OPT_INDENT_2)
        headers = {}
        mail = mail_target(subscription.subscriber, options, default_sender)
    return Job(
        work=work,
        project=project,
        queue=queue,
        subscription=subscription,
        kind=kind,
        delivery_id=delivery,
        message_id=message_id,
        body=body,
        headers=headers,
        delays=list(delays),
        committed=committed,
        mail=mail,
        trace=trace,
    )
