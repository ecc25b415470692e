"""Per-project storage quotas: which limits apply to a project, and the refusals they cause.

Three limits, each 0 for unlimited: the number of queues, the number of live messages and the
bytes of live message bodies (UTF-8 octets of the body as stored; an encrypted queue's bodies
count at their encrypted size). ``TIDINGS_QUOTA_*`` give the defaults and
``TIDINGS_QUOTA_OVERRIDES`` per-project exceptions.

How usage is counted (see :mod:`tidings.storage.drivers.usage`): a ``project_usage`` row per
project holds a counter that every post adds to in its transaction, under the row's lock. Deletes,
pops and expiry do not touch it; instead, when a post would take the counter over a limit, the
row is recounted exactly from the live messages (at most once per
``TIDINGS_QUOTA_RECOUNT_INTERVAL`` per project) and the post is judged again. So the counter is
an upper bound of live usage, a quota is never overshot, and room freed by consumers is seen at
the latest one recount interval later: the ``Retry-After`` of a refusal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from tidings.common.errors import QuotaExceeded
from tidings.storage import metrics
from tidings.storage.settings import StorageSettings


class QuotaKind(StrEnum):
    QUEUES = "queues"
    MESSAGES = "messages"
    BYTES = "bytes"


@dataclass(frozen=True, slots=True)
class ProjectLimits:
    """One project's limits; 0 is unlimited."""

    queues: int = 0
    messages: int = 0
    bytes: int = 0

    @property
    def counts_messages(self) -> bool:
        """Whether posts must keep the usage counter (a message or a byte limit applies)."""
        return bool(self.messages or self.bytes)

    @property
    def unlimited(self) -> bool:
        return not (self.queues or self.messages or self.bytes)


class Quotas:
    def __init__(self, settings: StorageSettings) -> None:
        self._default = ProjectLimits(
            settings.quota_queues, settings.quota_messages, settings.quota_bytes
        )
        self._overrides = {
            project: ProjectLimits(
                self._default.queues if quota.queues is None else quota.queues,
                self._default.messages if quota.messages is None else quota.messages,
                self._default.bytes if quota.bytes is None else quota.bytes,
            )
            for project, quota in settings.quota_overrides.items()
        }
        # When no limit is set anywhere, writes take exactly the path they take without quotas.
        self.enabled = not self._default.unlimited or any(
            not limits.unlimited for limits in self._overrides.values()
        )
        self.recount_interval = settings.quota_recount_interval
        self.retry_after = max(1, math.ceil(settings.quota_recount_interval))

    def limits(self, project: str) -> ProjectLimits:
        return self._overrides.get(project, self._default)

    def refuse(self, kind: QuotaKind, limit: int) -> QuotaExceeded:
        """The error for a write that would go over ``limit``, counted in the metrics."""
        metrics.QUOTA_REJECTIONS.labels(kind.value).inc()
        what = {
            QuotaKind.QUEUES: f"The project may have at most {limit} queues.",
            QuotaKind.MESSAGES: f"The project may store at most {limit} messages.",
            QuotaKind.BYTES: f"The project may store at most {limit} bytes of messages.",
        }[kind]
        return QuotaExceeded(
            f"{what} Delete some, or ask the operator for a larger quota.",
            title=f"Quota exceeded: {kind.value}",
            retry_after=self.retry_after,
        )
