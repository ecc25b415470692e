"""Quota bookkeeping inside write transactions: the usage row, its recount, the queue count.

Every write that a quota limits first locks the project's ``project_usage`` row (creating it on
first use), so the writes of one project that could go over a limit are serialised across all
storage replicas, and the check and the write commit together. Posts lock usage rows before any
queue row, and nothing that holds a queue row waits for a usage row, so the two kinds of locks
cannot deadlock. See :mod:`tidings.storage.quotas` for the counting rules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import sqlalchemy as sa

from tidings.common.errors import QuotaExceeded
from tidings.storage import metrics
from tidings.storage.drivers.base import SqlBase
from tidings.storage.drivers.runner import StatementRunner
from tidings.storage.drivers.statements import QUEUE_BY_NAME
from tidings.storage.quotas import ProjectLimits, QuotaKind
from tidings.storage.tables import messages, project_usage, queues

_project = sa.bindparam("p_project", type_=sa.String())
_now: sa.BindParameter[float] = sa.bindparam("p_now", type_=sa.Double())

COUNT_QUEUES = sa.select(sa.func.count()).select_from(queues).where(queues.c.project == _project)

SAVE_USAGE = (
    project_usage.update()
    .where(project_usage.c.project == _project)
    .values(
        messages=sa.bindparam("p_messages", type_=sa.BigInteger()),
        bytes=sa.bindparam("p_bytes", type_=sa.BigInteger()),
        counted=sa.bindparam("p_counted", type_=sa.Double()),
    )
)


@dataclass
class Usage:
    """A project's usage row as locked by this transaction, plus what it admitted so far."""

    project: str
    limits: ProjectLimits
    messages: int
    bytes: int
    counted: float
    # Admitted by this transaction but not inserted yet: a recount cannot see them.
    pending_messages: int = 0
    pending_bytes: int = 0
    changed: bool = False

    def over(self, count: int, size: int) -> QuotaKind | None:
        limits = self.limits
        if limits.messages and self.messages + count > limits.messages:
            return QuotaKind.MESSAGES
        if limits.bytes and self.bytes + size > limits.bytes:
            return QuotaKind.BYTES
        return None


class UsageOps(SqlBase):
    def _byte_length(self, column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
        """Octets of a text column in UTF-8 (the dialect's function)."""
        raise NotImplementedError

    @cached_property
    def _lock_usage_statement(self) -> sa.Executable:
        """Create the project's usage row unless present, lock it, and return it."""
        insert = self._insert(project_usage).values(
            project=_project, messages=0, bytes=0, counted=0.0
        )
        statement: sa.Executable = insert.on_conflict_do_update(
            index_elements=["project"], set_={"project": insert.excluded.project}
        ).returning(project_usage.c.messages, project_usage.c.bytes, project_usage.c.counted)
        return statement

    @cached_property
    def _recount_statement(self) -> sa.Executable:
        """The project's live messages and their bytes, exactly."""
        return (
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(self._byte_length(messages.c.body)), 0),
            )
            .select_from(messages.join(queues, messages.c.queue_id == queues.c.id))
            .where(queues.c.project == _project, messages.c.expires > _now)
        )

    async def _lock_usage(self, run: StatementRunner, project: str, limits: ProjectLimits) -> Usage:
        row = (await run.fetch(self._lock_usage_statement, {"p_project": project}))[0]
        return Usage(project, limits, int(row[0]), int(row[1]), float(row[2]))

    async def _lock_usages(self, run: StatementRunner, projects: Iterable[str]) -> dict[str, Usage]:
        """Usage rows of the projects that have a limit, locked in one global order."""
        found: dict[str, Usage] = {}
        for project in sorted(set(projects)):
            limits = self.quotas.limits(project)
            if not limits.unlimited:
                found[project] = await self._lock_usage(run, project, limits)
        return found

    async def _admit_messages(
        self, run: StatementRunner, usage: Usage, count: int, size: int
    ) -> QuotaExceeded | None:
        """Count a post of ``count`` messages, ``size`` bytes, or say why it is refused."""
        if not usage.limits.counts_messages:
            return None
        now = self.clock()
        never_counted = usage.counted == 0
        over = usage.over(count, size)
        if never_counted or (
            over is not None and now - usage.counted >= self.quotas.recount_interval
        ):
            await self._recount(run, usage, now)
            over = usage.over(count, size)
        if over is not None:
            limit = usage.limits.messages if over is QuotaKind.MESSAGES else usage.limits.bytes
            return self.quotas.refuse(over, limit)
        usage.messages += count
        usage.bytes += size
        usage.pending_messages += count
        usage.pending_bytes += size
        usage.changed = True
        return None

    async def _recount(self, run: StatementRunner, usage: Usage, now: float) -> None:
        metrics.QUOTA_RECOUNTS.inc()
        params = {"p_project": usage.project, "p_now": now}
        row = (await run.fetch(self._recount_statement, params))[0]
        usage.messages = int(row[0]) + usage.pending_messages
        usage.bytes = int(row[1]) + usage.pending_bytes
        usage.counted = now
        usage.changed = True

    async def _save_usages(self, run: StatementRunner, usages: Iterable[Usage]) -> None:
        rows = [
            {
                "p_project": u.project,
                "p_messages": u.messages,
                "p_bytes": u.bytes,
                "p_counted": u.counted,
            }
            for u in usages
            if u.changed
        ]
        if rows:
            await run.executemany(SAVE_USAGE, rows)

    async def _admit_new_queue(self, run: StatementRunner, usage: Usage) -> QuotaExceeded | None:
        """Whether the project may create one more queue (``usage`` is locked)."""
        limit = usage.limits.queues
        if not limit:
            return None
        count = (await run.fetch(COUNT_QUEUES, {"p_project": usage.project}))[0][0]
        if int(count) >= limit:
            return self.quotas.refuse(QuotaKind.QUEUES, limit)
        return None

    async def _check_queue_room(self, run: StatementRunner, project: str, name: str) -> None:
        """Before a write that creates the queue unless present: refuse a queue over quota."""
        if not self.quotas.enabled:
            return
        limits = self.quotas.limits(project)
        if not limits.queues:
            return
        usage = await self._lock_usage(run, project, limits)
        if await run.fetch(QUEUE_BY_NAME, {"p_project": project, "p_queue": name}):
            return  # it exists: nothing is created
        refusal = await self._admit_new_queue(run, usage)
        if refusal is not None:
            raise refusal
