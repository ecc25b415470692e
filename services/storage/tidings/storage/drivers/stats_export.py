"""Queries behind the depth metrics: live messages and the oldest one, per queue and project.

Each snapshot is two grouped scans of the live messages, bounded in what they return: the
``limit`` deepest queues and projects (ties broken by name so a snapshot is stable), plus the
number of queues and projects left out, so the series count never exceeds the limit however
many tenants there are. Expired rows still waiting for the sweeper are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from tidings.storage.drivers.base import SqlBase
from tidings.storage.tables import messages, queues


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


class StatsExportOps(SqlBase):
    async def depth_snapshot(self, limit: int, *, every_project: bool = False) -> DepthSnapshot:
        """The ``limit`` deepest queues and projects; with ``every_project``, all projects
        (a project spans the databases of several pools, whose numbers are then added up)."""
        now = self.clock()
        # LEFT JOIN with the liveness test in the join: empty queues report 0, not nothing.
        live = sa.and_(messages.c.queue_id == queues.c.id, messages.c.expires > now)
        depth = sa.func.count(messages.c.id).label("depth")
        oldest = sa.func.min(messages.c.created).label("oldest")
        joined = queues.outerjoin(messages, live)
        per_queue = (
            sa.select(queues.c.project, queues.c.name, depth, oldest)
            .select_from(joined)
            .group_by(queues.c.id, queues.c.project, queues.c.name)
            .order_by(depth.desc(), queues.c.project, queues.c.name)
            .limit(limit)
        )
        per_project = (
            sa.select(queues.c.project, depth, oldest)
            .select_from(joined)
            .group_by(queues.c.project)
            .order_by(depth.desc(), queues.c.project)
        )
        if not every_project:
            per_project = per_project.limit(limit)
        totals = sa.select(sa.func.count(queues.c.id), sa.func.count(sa.distinct(queues.c.project)))
        async with self._read("stats.depth") as conn:
            queue_rows = (await conn.execute(per_queue)).all()
            project_rows = (await conn.execute(per_project)).all()
            queue_total, project_total = (await conn.execute(totals)).one()

        def age(created: float | None) -> float:
            return max(0.0, now - created) if created is not None else 0.0

        return DepthSnapshot(
            queues=[Depth(r.project, r.name, int(r.depth), age(r.oldest)) for r in queue_rows],
            projects=[Depth(r.project, None, int(r.depth), age(r.oldest)) for r in project_rows],
            omitted_queues=max(0, int(queue_total) - len(queue_rows)),
            omitted_projects=max(0, int(project_total) - len(project_rows)),
            taken_at=now,
        )
