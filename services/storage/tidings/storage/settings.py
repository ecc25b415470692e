"""Settings of the storage service (``TIDINGS_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tidings.common.settings import CommonSettings


class ProjectQuota(BaseModel):
    """One project's limits; an unset one falls back to the ``TIDINGS_QUOTA_*`` default."""

    model_config = ConfigDict(extra="forbid")

    queues: int | None = Field(None, ge=0)
    messages: int | None = Field(None, ge=0)
    bytes: int | None = Field(None, ge=0)


class StorageSettings(CommonSettings):
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL; postgresql:// or sqlite:/// (the async driver is added). "
        "Unset: SQLite in <data_dir>/tidings.db",
    )
    data_dir: Path = Path("./.data")
    pool_size: int = 20
    pool_max_overflow: int = 10
    sweeper_interval: float = 5.0
    sweeper_batch_size: int = 1000
    outbox_retry_after: float = Field(
        5.0, description="seconds after which an unpublished outbox row is republished"
    )
    group_commit_max_batch: int = 256
    group_commit_workers: int | None = Field(
        None,
        description="transactions committing posts at once (unset: 1; more make smaller batches)",
    )
    # Zaqar's [transport] message_encryption_key default; operators must override it.
    message_encryption_key: str = "AES256"
    migrate_on_start: bool = True
    http_port: int = 8801
    events_duplicate_window: float = 120.0
    events_max_age: float = Field(
        86400.0,
        gt=0,
        description="seconds the events stream keeps an event, handled or not (a notifier "
        "down for longer misses what is older)",
    )
    events_max_bytes: int = Field(
        -1, ge=-1, description="bytes the events stream may hold, oldest dropped first; -1: no cap"
    )
    pool_refresh_interval: float = Field(
        5.0, ge=0, description="seconds between re-reads of the pool catalog; 0: only on demand"
    )
    depth_metrics_interval: float = Field(
        15.0, ge=0, description="seconds between reads of the queue depth gauges; 0: off"
    )
    depth_metrics_max_series: int = Field(
        100, ge=1, description="queues (and projects) with a depth series, deepest first"
    )
    # Per-project quotas (0: unlimited). See tidings.storage.quotas for what is counted.
    quota_queues: int = Field(0, ge=0, description="queues a project may have; 0: unlimited")
    quota_messages: int = Field(
        0, ge=0, description="live messages a project may store; 0: unlimited"
    )
    quota_bytes: int = Field(
        0, ge=0, description="bytes of live message bodies a project may store; 0: unlimited"
    )
    quota_overrides: dict[str, ProjectQuota] = Field(
        default_factory=dict,
        description='JSON object: project id -> {"queues", "messages", "bytes"} (0: unlimited)',
    )
    quota_recount_interval: float = Field(
        1.0,
        gt=0,
        description="seconds between exact recounts of a project's usage when at its quota",
    )

    def resolved_database_url(self) -> str:
        """The URL with the async driver filled in (see :func:`normalise_database_url`)."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tidings.db').as_posix()}"


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` and ``sqlite:///`` URLs and name the async driver."""
    for plain, asynchronous in (
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql+psycopg2://", "postgresql+psycopg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return asynchronous + url[len(plain) :]
    return url
