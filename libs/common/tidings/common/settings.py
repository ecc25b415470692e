"""Configuration read from ``TIDINGS_*`` environment variables.

Option names follow Zaqar's (``max_messages_per_page``, ``default_message_ttl``, ...) with the
same defaults, so an operator who knows Zaqar knows these. Every service builds its own
settings class on :class:`CommonSettings`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CommonSettings(BaseSettings):
    """What every service needs: where NATS is, how to log, and the Zaqar limits."""

    model_config = SettingsConfigDict(env_prefix="TIDINGS_", extra="ignore")

    nats_url: str = "nats://127.0.0.1:4222"
    rpc_timeout: float = Field(5.0, description="seconds an RPC to storage may take")
    log_format: Literal["text", "json"] = "text"
    log_level: str = "INFO"

    # Zaqar [transport] limits, visible on the wire (spec 1.14).
    default_message_ttl: int = 3600
    default_message_delay: int = 0
    default_claim_ttl: int = 300
    default_claim_grace: int = 60
    default_subscription_ttl: int = 3600
    max_queues_per_page: int = 20
    max_messages_per_page: int = 20
    max_subscriptions_per_page: int = 20
    max_pools_per_page: int = 20
    max_flavors_per_page: int = 20
    max_messages_per_claim_or_pop: int = 20
    max_queue_metadata: int = 65536
    max_messages_post_size: int = 262144
    max_message_ttl: int = 1209600
    max_message_delay: int = 900
    max_claim_ttl: int = 43200
    max_claim_grace: int = 43200
    client_id_uuid_safe: Literal["strict", "off"] = "strict"
    min_length_client_id: int = 10
    max_length_client_id: int = 36
    message_delete_with_claim_id: bool = False
    enable_checksum: bool = False
    subscriber_types: list[str] = ["http", "https", "mailto", "trust+http", "trust+https"]
