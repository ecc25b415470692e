"""The exchange of admission reports between api replicas over core NATS.

Every ``sync_interval`` a replica publishes what it admitted per project since its last report
on :data:`~tidings.common.subjects.RATE_LIMIT_SUBJECT` (nothing when it admitted nothing), and
feeds its peers' reports into its :class:`~tidings.api.rate_limit.RateLimiter`. A report lost to
a NATS outage is simply not counted by the peers (see the approximation in rate_limit).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import orjson
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from pydantic import BaseModel, ValidationError

from tidings.api import metrics
from tidings.api.rate_limit import RateLimiter
from tidings.common.nats_connection import NatsConnection
from tidings.common.subjects import RATE_LIMIT_SUBJECT
from tidings.common.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class AdmissionReport(BaseModel):
    """Requests one replica admitted per project during one sync interval."""

    replica: str
    counts: dict[str, int]


class RateLimitExchange:
    def __init__(self, limiter: RateLimiter, sync_interval: float) -> None:
        self._limiter = limiter
        self._connection: NatsConnection | None = None
        self._interval = sync_interval
        self.replica = uuid.uuid4().hex
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, client: NATS) -> None:
        """Listen to the peers (called on connect; nats-py re-subscribes after reconnects)."""
        await client.subscribe(RATE_LIMIT_SUBJECT, cb=self._on_report)

    def start(self, connection: NatsConnection) -> None:
        self._connection = connection
        self._task = asyncio.create_task(self._run(), name="rate-limit-exchange")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _on_report(self, msg: Msg) -> None:
        try:
            report = AdmissionReport.model_validate_json(msg.data)
        except ValidationError:
            log.warning("ignoring a malformed rate-limit report")
            return
        if report.replica == self.replica:
            return  # our own admissions are in our buckets already
        metrics.RATE_LIMIT_REPORTS.labels("received").inc()
        self._limiter.absorb(report.counts)

    async def publish_once(self) -> None:
        counts = self._limiter.take_report()
        client = self._connection.client if self._connection is not None else None
        if not counts or client is None:
            return
        payload = orjson.dumps({"replica": self.replica, "counts": counts})
        try:
            await client.publish(RATE_LIMIT_SUBJECT, payload)
        except (NatsError, OSError) as exc:  # reconnecting: the peers miss this report
            log.debug("rate-limit report not sent: %s", exc)
            return
        metrics.RATE_LIMIT_REPORTS.labels("sent").inc()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.publish_once()
