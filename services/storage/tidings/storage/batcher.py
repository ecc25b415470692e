"""Group commit: concurrent requests gathered into one transaction, each caller answered alone.

Callers :meth:`GroupCommitter.submit` a request and wait. Each worker takes everything pending
(up to ``max_batch``), runs it through ``run_batch`` in ONE transaction and resolves every
caller only after that transaction committed, so durability is not weakened: fsyncs are shared.
``run_batch`` reports per-request domain errors as outcomes (a bad request does not abort the
transaction); if the transaction itself fails, the requests are retried one by one so that one
poisonous request cannot fail the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from tidings.common.errors import ServiceUnavailable, TidingsError
from tidings.storage import metrics

log = logging.getLogger(__name__)

Req = TypeVar("Req")
Res = TypeVar("Res")


class GroupCommitter(Generic[Req, Res]):
    def __init__(
        self,
        name: str,
        run_batch: Callable[[Sequence[Req]], Awaitable[Sequence[Res | TidingsError]]],
        *,
        max_batch: int = 256,
        workers: int = 1,
    ) -> None:
        self._name = name
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._worker_count = workers
        self._pending: list[tuple[Req, asyncio.Future[Res]]] = []
        self._wakeup = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._closing = False

    def start(self) -> None:
        self._closing = False
        self._workers = [
            asyncio.create_task(self._work(), name=f"group-commit-{self._name}-{i}")
            for i in range(self._worker_count)
        ]

    async def close(self) -> None:
        self._closing = True
        self._wakeup.set()
        if self._workers:
            await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def submit(self, request: Req) -> Res:
        if not self._workers or self._closing:
            raise RuntimeError(f"group committer {self._name} is not running")
        future: asyncio.Future[Res] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._wakeup.set()
        return await future

    async def _work(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            if self._pending:
                self._wakeup.set()  # let an idle sibling worker take the rest at once
            live = [(req, fut) for req, fut in batch if not fut.done()]
            if live:
                await self._commit(live)

    async def _commit(self, batch: list[tuple[Req, asyncio.Future[Res]]]) -> None:
        metrics.GROUP_COMMIT_BATCH.observe(len(batch))
        try:
            outcomes = await self._run_batch([req for req, _ in batch])
        except Exception as exc:
            # An outage fails everyone alike and at once: retrying one by one would only
            # multiply the time to the 503 (guarantee 7).
            if len(batch) == 1 or isinstance(exc, ServiceUnavailable):
                for _, future in batch:
                    _resolve(future, exc)
                return
            log.warning(
                "group commit of %d %s failed (%s); retrying one by one",
                len(batch),
                self._name,
                exc,
            )
            for item in batch:
                await self._commit([item])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _resolve(future, outcome)


def _resolve(future: asyncio.Future[Res], outcome: Res | BaseException) -> None:
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
