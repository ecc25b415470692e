"""Runs delivery jobs: attempts under concurrency caps, retries on timers, give-ups recorded.

An attempt holds a slot of its subscriber (``per_subscriber_concurrency``) and then one of the
replica (``max_concurrent_deliveries``), in that order, so a subscriber that hangs ties up
only its own slots. Between attempts a job holds nothing: its next attempt is scheduled with
``loop.call_later``, never slept inside a worker. When a job ends (delivered or given up) its
event's count goes down; the consumer acks the event at zero.

Each attempt is a span under the job's trace (the post's), and its webhook request carries
that span as ``traceparent``; its log lines carry the post's request id (the context the
consumer set, which tasks and timers copy).
"""

from __future__ import annotations

import asyncio
import logging
import time

from opentelemetry.trace import SpanKind, StatusCode

from tidings.common import schemas as s
from tidings.common import tracing
from tidings.common.errors import TidingsError
from tidings.common.rpc import StorageClient
from tidings.notifier import metrics
from tidings.notifier.channels import MailChannel, Outcome, WebhookChannel
from tidings.notifier.jobs import Job
from tidings.notifier.limiter import KeyedLimiter
from tidings.notifier.trust_tokens import TrustTokenError, TrustTokens

log = logging.getLogger(__name__)

RECORD_ATTEMPTS = 3


class Dispatcher:
    def __init__(
        self,
        webhook: WebhookChannel,
        mail: MailChannel,
        storage: StorageClient,
        trust_tokens: TrustTokens,
        *,
        per_subscriber: int,
        total: int,
        failed_retention: int,
    ) -> None:
        self._webhook = webhook
        self._mail = mail
        self._storage = storage
        self._trust_tokens = trust_tokens
        self._per_subscriber = KeyedLimiter(per_subscriber)
        self._total = asyncio.Semaphore(total)
        self._retention = failed_retention
        self._tasks: set[asyncio.Task[None]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    def submit(self, job: Job) -> None:
        task = asyncio.create_task(self._attempt(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, job: Job) -> None:
        name = f"deliver {job.kind}"
        with tracing.span(name, job.trace, kind=SpanKind.CLIENT) as span:
            async with self._per_subscriber.hold(job.limiter_key), self._total:
                outcome = await self._send(job)
            job.attempts += 1
            if span is not None:
                span.set_attribute("tidings.delivery_id", job.delivery_id)
                span.set_attribute("tidings.attempt", job.attempts)
                span.set_attribute("tidings.outcome", outcome.result)
                if not outcome.ok:
                    span.set_status(StatusCode.ERROR, outcome.error[:200])
            if self._after(job, outcome):
                await self._give_up(job)

    def _after(self, job: Job, outcome: Outcome) -> bool:
        """Count and log an attempt; schedule the next one when it failed and may be retried.
        True: the delivery failed for good."""
        metrics.ATTEMPTS.labels(job.kind, outcome.result).inc()
        if outcome.ok:
            metrics.DELIVERIES.labels(job.kind, "delivered").inc()
            metrics.DELIVERY_LATENCY.labels(job.kind).observe(max(0.0, time.time() - job.committed))
            log.debug(
                "delivered %s to %s (attempt %d)",
                job.delivery_id,
                job.subscription.subscriber,
                job.attempts,
            )
            job.work.finish_one()
            return False
        job.last_error = outcome.error
        if outcome.retryable and job.delays:
            delay = job.delays.pop(0)
            log.info(
                "delivery %s to %s, attempt %d: %s; next attempt in %.3g s",
                job.delivery_id,
                job.subscription.subscriber,
                job.attempts,
                outcome.error,
                delay,
            )
            self._schedule(job, delay)
            return False
        return True

    async def _send(self, job: Job) -> Outcome:
        if job.kind == "webhook":
            headers = job.headers
            trust_id = job.trust_id
            if trust_id is not None:
                try:
                    token = await self._trust_tokens.token(trust_id, job.project)
                except TrustTokenError as exc:
                    return Outcome("error" if exc.retryable else "rejected", str(exc))
                headers = {**headers, "X-Auth-Token": token}  # ours, whatever post_headers say
            passed = tracing.current()  # this attempt's span: the receiver may join the trace
            if passed is not None:
                headers = {**headers, **passed.headers()}
            return await self._webhook.send(job.url, job.body, headers)
        assert job.mail is not None
        return await self._mail.send(
            job.mail.sender, job.mail.to, job.mail.subject, job.body.decode()
        )

    def _schedule(self, job: Job, delay: float) -> None:
        if delay <= 0:
            self.submit(job)
            return
        metrics.RETRIES_SCHEDULED.inc()
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.discard(handle)
            metrics.RETRIES_SCHEDULED.dec()
            self.submit(job)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    async def _give_up(self, job: Job) -> None:
        """Keep a record the tenant can list; if storage cannot take it, the event is not
        acked, so it comes back and the delivery is tried again later."""
        metrics.DELIVERIES.labels(job.kind, "given_up").inc()
        log.info(
            "gave up delivery %s to %s after %d attempts: %s",
            job.delivery_id,
            job.subscription.subscriber,
            job.attempts,
            job.last_error,
        )
        request = s.FailedDeliveryRecordRequest(
            project=job.project,
            queue=job.queue,
            retention=self._retention,
            delivery=s.FailedDelivery(
                delivery_id=job.delivery_id,
                subscription_id=job.subscription.id,
                subscriber=job.subscription.subscriber,
                message_id=job.message_id,
                attempts=job.attempts,
                last_error=job.last_error or "unknown error",
            ),
        )
        for attempt in range(RECORD_ATTEMPTS):
            try:
                await self._storage.call("delivery.record_failure", request, s.Empty)
                break
            except TidingsError as exc:
                log.warning("could not record a failed delivery (%s)", exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        else:
            job.work.failed_to_record = True
        job.work.finish_one()

    @property
    def busy(self) -> int:
        return len(self._tasks) + len(self._timers)

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        metrics.RETRIES_SCHEDULED.dec(len(self._timers))
        self._timers.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
