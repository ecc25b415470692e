"""Settings of the notifier service (``TIDINGS_*`` environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tidings.common.auth_settings import KeystoneSettings


class NotifierSettings(KeystoneSettings):
    """``TIDINGS_KEYSTONE_*`` (from KeystoneSettings) name the service user that trust+
    subscriptions delegate to; without them such deliveries with a trust id are refused."""

    http_port: int = 8821  # tidings-run serves the notifier probes here
    consumer_name: str = Field(
        "tidings-notifier", description="durable JetStream consumer shared by all replicas"
    )
    ack_wait: float = Field(
        30.0,
        description="seconds JetStream waits for an event's ack before handing it to another "
        "replica; events whose deliveries take longer are kept alive with progress signals",
    )
    max_inflight_events: int = Field(
        10000,
        description="events a replica works on at once (each stays unacknowledged until its "
        "deliveries finished or were given up)",
    )
    fetch_batch: int = Field(100, description="events pulled from JetStream per request")
    delivery_timeout: float = Field(5.0, description="seconds one delivery attempt may take")
    max_concurrent_deliveries: int = Field(
        256, description="delivery attempts in flight in a replica, over all subscribers"
    )
    per_subscriber_concurrency: int = Field(
        8, description="delivery attempts in flight to one subscriber URI of one project"
    )
    retry_delay_scale: float = Field(
        1.0,
        description="multiplies every retry delay of the retry policies; tests scale them "
        "down, operators leave it at 1",
    )
    webhook_blocked_networks: list[str] = Field(
        ["169.254.0.0/16", "fe80::/10"],
        description="JSON list of networks webhooks may not reach (default: link-local, which "
        "holds cloud metadata services); add private ranges the notifier can see",
    )
    subscription_cache_ttl: float = Field(
        30.0,
        description="seconds a queue's subscriptions stay cached; subscription events drop "
        "them at once, this only bounds staleness if an event is missed",
    )
    failed_delivery_retention: int = Field(
        7 * 24 * 3600, description="seconds the record of a given-up delivery is kept"
    )
    trust_token_refresh_margin: float = Field(
        120.0,
        ge=0,
        description="seconds before its expiry a trust-scoped token stops being reused for "
        "trust+ deliveries",
    )
    # Confirmation (spec 4.4): on when require_confirmation is set and a signing key exists.
    require_confirmation: bool = False
    signed_url_secret_key: str | None = Field(
        None, description="[signed_url] secret_key: signs the confirm links (same as the api's)"
    )
    public_api_url: str | None = Field(
        None,
        description="absolute REST base (e.g. https://tidings.example.com) for WSGISubscribeURL",
    )
    external_confirmation_url: str | None = Field(
        None, description="web page that turns e-mail confirmation links into the confirm call"
    )
    # E-mail (mailto:) subscribers.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = Field(
        "none", description="plain SMTP, STARTTLS, or implicit TLS (SMTPS)"
    )
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_timeout: float = 10.0
    smtp_max_connections: int = Field(
        4, ge=1, description="SMTP sessions open at once; e-mails beyond wait for one"
    )
    smtp_idle_timeout: float = Field(
        30.0, gt=0, description="seconds an idle SMTP session is kept for the next e-mail"
    )
    smtp_sender: str = Field("", description="From when a subscription's options have no 'from'")
    subscription_confirmation_email_subject: str = "Zaqar Notification - Subscription Confirmation"
    subscription_confirmation_email_body: str = (
        "You have chosen to subscribe to the queue: {0}. This queue belongs to project: {1}. "
        "To confirm this subscription, click or visit this link below: {2}"
    )
    unsubscribe_confirmation_email_subject: str = "Zaqar Notification - Unsubscribe Confirmation"
    unsubscribe_confirmation_email_body: str = (
        "You have unsubscribed successfully to the queue: {0}. This queue belongs to project: "
        "{1}. To resubscribe this subscription, click or visit this link below: {2}"
    )

    @property
    def confirmation_enabled(self) -> bool:
        return self.require_confirmation and bool(self.signed_url_secret_key)
