"""Queries behind the depth metrics: live messages and the oldest one, per queue and project.

Each snapshot is one grouped scan of the live messages, bounded in what they return: the
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
        (a project spans the databases of several pools, whose numbers are then added up).

        One statement and one scan of the live messages: the queues' counts are computed once
        (a CTE) and the deepest queues, the projects' sums and the totals are all read from
        them, as rows told apart by their first column.
        """
        now = self.clock()
        # LEFT JOIN with the liveness test in the join: empty queues report 0, not nothing.
        live = sa.and_(messages.c.queue_id == queues.c.id, messages.c.expires > now)
        per_queue = (
            sa.select(
                queues.c.project,
                queues.c.name,
                sa.func.count(messages.c.id).label("depth"),
                sa.func.min(messages.c.created).label("oldest"),
            )
            .select_from(queues.outerjoin(messages, live))
            .group_by(queues.c.id, queues.c.project, queues.c.name)
            .cte("per_queue")
        )
        deepest = (
            sa.select(per_queue)
            .order_by(per_queue.c.depth.desc(), per_queue.c.project, per_queue.c.name)
            .limit(limit)
            .subquery()
        )
        project_depth = sa.func.sum(per_queue.c.depth)
        by_project = (
            sa.select(
                per_queue.c.project,
                project_depth.label("depth"),
                sa.func.min(per_queue.c.oldest).label("oldest"),
            )
            .group_by(per_queue.c.project)
            .order_by(project_depth.desc(), per_queue.c.project)
        )
        if not every_project:
            by_project = by_project.limit(limit)
        projects = by_project.subquery()
        null_name = sa.null().cast(sa.String)
        # 't': the number of queues (depth) and of projects (oldest), for the omitted counts.
        rows = sa.union_all(
            sa.select(
                sa.literal("q"),
                deepest.c.project,
                deepest.c.name,
                deepest.c.depth,
                deepest.c.oldest,
            ),
            sa.select(
                sa.literal("p"), projects.c.project, null_name, projects.c.depth, projects.c.oldest
            ),
            sa.select(
                sa.literal("t"),
                null_name,
                null_name,
                sa.func.count(),
                sa.cast(sa.func.count(sa.distinct(per_queue.c.project)), sa.Double),
            ).select_from(per_queue),
        )
        async with self._read("stats.depth") as conn:
            found = (await conn.execute(rows)).all()
        queue_rows = [r for r in found if r[0] == "q"]
        project_rows = [r for r in found if r[0] == "p"]
        ((_, _, _, queue_total, project_total),) = [r for r in found if r[0] == "t"]
        # UNION ALL keeps each member's rows but not their order across the statement.
        queue_rows.sort(key=lambda r: (-int(r[3]), r[1], r[2]))
        project_rows.sort(key=lambda r: (-int(r[3]), r[1]))

        def age(created: float | None) -> float:
            return max(0.0, now - created) if created is not None else 0.0

        return DepthSnapshot(
            queues=[Depth(r[1], r[2], int(r[3]), age(r[4])) for r in queue_rows],
            projects=[Depth(r[1], None, int(r[3]), age(r[4])) for r in project_rows],
            omitted_queues=max(0, int(queue_total) - len(queue_rows)),
            omitted_projects=max(0, int(project_total or 0) - len(project_rows)),
            taken_at=now,
        )
