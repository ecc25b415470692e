"""Queries behind the depth metrics: live messages and the oldest one, per queue and project.

A snapshot reads the live messages in pages of ``page_rows`` rows in ``(queue_id, seq)`` index
order, each page one short statement, and adds the pages up here. One grouped scan of the whole
table would be one statement whose cost grows with the backlog, and PostgreSQL runs it as a
parallel scan: on a small machine every core went to it for a few hundred milliseconds, and
every request waiting meanwhile showed in the p99 (docs/benchmarks/rest.md). Pages let the
caller rest between them (``pause``), so a snapshot takes a bounded share of one core however
big the backlog. Pages are read in separate transactions, so a message posted or deleted
during a snapshot may be counted or not: the numbers are a gauge, not a balance.

What is returned is bounded: the ``limit`` deepest queues and projects (ties broken by name so
a snapshot is stable) plus the number of queues and projects left out, so the series count never
exceeds the limit however many tenants there are. Expired rows still waiting for the sweeper are
not counted.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from tidings.storage.drivers.base import SqlBase
from tidings.storage.tables import messages, queues

# Rows per page: about 2 ms of one PostgreSQL core (an index scan with its heap reads).
PAGE_ROWS = 2000

_after_queue: sa.BindParameter[int] = sa.bindparam("p_after_queue", type_=sa.BigInteger())
_after_seq: sa.BindParameter[int] = sa.bindparam("p_after_seq", type_=sa.BigInteger())
_now: sa.BindParameter[float] = sa.bindparam("p_now", type_=sa.Double())
_page_rows: sa.BindParameter[int] = sa.bindparam("p_page_rows", type_=sa.Integer())

_page = (
    sa.select(messages.c.queue_id, messages.c.seq, messages.c.expires, messages.c.created)
    .where(sa.tuple_(messages.c.queue_id, messages.c.seq) > sa.tuple_(_after_queue, _after_seq))
    .order_by(messages.c.queue_id, messages.c.seq)
    .limit(_page_rows)
    .subquery("page")
)
_live = _page.c.expires > _now
# Per queue of the page: live messages, the oldest live one's creation, the last sequence
# number read (where the next page starts) and the rows read (a short page is the last).
LIVE_PAGE = sa.select(
    _page.c.queue_id,
    sa.func.count().filter(_live),
    sa.func.min(_page.c.created).filter(_live),
    sa.func.max(_page.c.seq),
    sa.func.count(),
).group_by(_page.c.queue_id)

QUEUE_NAMES = sa.select(queues.c.id, queues.c.project, queues.c.name)


@dataclass(frozen=True)
class Depth:
    """Live messages of one queue (``queue`` set) or one project (``queue`` None)."""

    project: str
    queue: str | None
    messages: int
    oldest_age: float  # seconds since the oldest live message was posted; 0 when empty


@dataclass(frozen=True)
class DepthSnapshot:
    queues: list[Depth]
    projects: list[Depth]
    omitted_queues: int
    omitted_projects: int
    taken_at: float


@dataclass
class _Live:
    messages: int = 0
    oldest: float | None = None


def deepest(depths: Iterable[Depth], limit: int | None) -> list[Depth]:
    """Depths of the same queue (or project) added up, deepest first, ties by name."""
    added: dict[tuple[str, str | None], Depth] = {}
    for depth in depths:
        key = (depth.project, depth.queue)
        before = added.get(key)
        if before is not None:
            depth = Depth(
                depth.project,
                depth.queue,
                before.messages + depth.messages,
                max(before.oldest_age, depth.oldest_age),
            )
        added[key] = depth
    ranked = sorted(added.values(), key=lambda d: (-d.messages, d.project, d.queue or ""))
    return ranked[:limit]


# Called after each page with the seconds its statement took: the caller rests there.
Pause = Callable[[float], Awaitable[None]]


class StatsExportOps(SqlBase):
    async def depth_snapshot(
        self,
        limit: int,
        *,
        every_project: bool = False,
        pause: Pause | None = None,
        page_rows: int = PAGE_ROWS,
    ) -> DepthSnapshot:
        """The ``limit`` deepest queues and projects; with ``every_project``, all projects
        (a project spans the databases of several pools, whose numbers are then added up)."""
        now = self.clock()
        live = await self._live_messages(now, page_rows, pause)
        async with self._read("stats.depth") as conn:
            names = (await conn.execute(QUEUE_NAMES)).all()
        per_queue: list[Depth] = []
        for queue_id, project, name in names:
            found = live.get(queue_id, _Live())
            age = max(0.0, now - found.oldest) if found.oldest is not None else 0.0
            per_queue.append(Depth(project, name, found.messages, age))
        queue_rows = deepest(per_queue, limit)
        every = deepest((Depth(d.project, None, d.messages, d.oldest_age) for d in per_queue), None)
        project_rows = every if every_project else every[:limit]
        return DepthSnapshot(
            queues=queue_rows,
            projects=project_rows,
            omitted_queues=len(per_queue) - len(queue_rows),
            omitted_projects=len(every) - len(project_rows),
            taken_at=now,
        )

    async def _live_messages(
        self, now: float, page_rows: int, pause: Pause | None
    ) -> dict[int, _Live]:
        """Live messages and the oldest one's creation per queue id, read page by page."""
        live: dict[int, _Live] = {}
        after = (-1, -1)  # before every (queue_id, seq): ids and sequence numbers are >= 0
        while True:
            started = time.monotonic()
            async with self._read("stats.depth_page") as conn:
                page = (
                    await conn.execute(
                        LIVE_PAGE,
                        {
                            "p_after_queue": after[0],
                            "p_after_seq": after[1],
                            "p_now": now,
                            "p_page_rows": page_rows,
                        },
                    )
                ).all()
            took = time.monotonic() - started
            read = 0
            for queue_id, count, oldest, last_seq, rows in page:
                found = live.setdefault(queue_id, _Live())
                found.messages += count
                if oldest is not None and (found.oldest is None or oldest < found.oldest):
                    found.oldest = oldest
                after = max(after, (queue_id, last_seq))
                read += rows
            if pause is not None:
                await pause(took)
            if read < page_rows:
                return live
