"""Queue depth and oldest-message age as Prometheus gauges, refreshed in the background.

The numbers come from :meth:`StatsExportOps.depth_snapshot`, taken every
``TIDINGS_DEPTH_METRICS_INTERVAL`` seconds rather than on each scrape, so a burst of scrapes
(several Prometheus replicas, a curious human) costs the database nothing extra. A collector
exposes the latest snapshot whole: series of queues that dropped out of the top ``limit``
vanish at once instead of lingering with a stale value, and a scrape never sees half an
update. Series are bounded by ``TIDINGS_DEPTH_METRICS_MAX_SERIES`` per family; what was left
out is counted in ``tidings_depth_metrics_omitted``.

With pools every open database is read: the deepest queues of each (a queue lives in one
database, so the overall deepest are among them) and every project of each, added up per
project across databases before the deepest are kept (:func:`merge_snapshots`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence

from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

from tidings.common.tasks import cancel_and_wait
from tidings.storage.drivers.stats_export import DepthSnapshot, StatsExportOps, deepest

log = logging.getLogger(__name__)


class DepthCollector(Collector):
    def __init__(self) -> None:
        self.snapshot: DepthSnapshot | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snapshot = self.snapshot  # one read: a refresh swaps the whole object
        queue_depth = GaugeMetricFamily(
            "tidings_queue_depth_messages",
            "Live messages in a queue (the deepest queues, up to the series limit)",
            labels=["project", "queue"],
        )
        queue_age = GaugeMetricFamily(
            "tidings_queue_oldest_message_age_seconds",
            "Age of the oldest live message of a queue; 0 when the queue is empty",
            labels=["project", "queue"],
        )
        project_depth = GaugeMetricFamily(
            "tidings_project_depth_messages",
            "Live messages in all queues of a project (the deepest projects, up to the limit)",
            labels=["project"],
        )
        project_age = GaugeMetricFamily(
            "tidings_project_oldest_message_age_seconds",
            "Age of the oldest live message of a project; 0 when it has none",
            labels=["project"],
        )
        omitted = GaugeMetricFamily(
            "tidings_depth_metrics_omitted",
            "Queues or projects left out of the depth series by the series limit",
            labels=["kind"],
        )
        taken = GaugeMetricFamily(
            "tidings_depth_metrics_snapshot_timestamp_seconds",
            "When the depth series were last read from the database (unix time)",
        )
        if snapshot is not None:
            for depth in snapshot.queues:
                labels = [depth.project, depth.queue or ""]
                queue_depth.add_metric(labels, depth.messages)
                queue_age.add_metric(labels, depth.oldest_age)
            for depth in snapshot.projects:
                project_depth.add_metric([depth.project], depth.messages)
                project_age.add_metric([depth.project], depth.oldest_age)
            omitted.add_metric(["queue"], snapshot.omitted_queues)
            omitted.add_metric(["project"], snapshot.omitted_projects)
            taken.add_metric([], snapshot.taken_at)
        yield from (queue_depth, queue_age, project_depth, project_age, omitted, taken)


COLLECTOR = DepthCollector()
REGISTRY.register(COLLECTOR)


def merge_snapshots(snapshots: Sequence[DepthSnapshot], limit: int) -> DepthSnapshot:
    """One snapshot of several databases' (each taken with ``every_project``)."""
    queues = deepest((d for snap in snapshots for d in snap.queues), limit)
    every_project = deepest((d for snap in snapshots for d in snap.projects), None)
    queue_total = sum(len(snap.queues) + snap.omitted_queues for snap in snapshots)
    return DepthSnapshot(
        queues=queues,
        projects=every_project[:limit],
        omitted_queues=max(0, queue_total - len(queues)),
        omitted_projects=max(0, len(every_project) - limit),
        taken_at=min(snap.taken_at for snap in snapshots),
    )


# Within a snapshot, a page whose statement took t seconds is followed by PAGE_REST_FACTOR * t
# of rest: the snapshot never holds more than a quarter of one database core, so requests keep
# the rest of the machine (a full-speed scan showed in their p99).
PAGE_REST_FACTOR = 3
# Between snapshots: at least REFRESH_COST_FACTOR times the database time the last one took.
REFRESH_COST_FACTOR = 20


class DepthExporter:
    """Refreshes :data:`COLLECTOR` every ``interval`` seconds while the service runs, from
    the databases ``drivers()`` names at the time (the default one and every open pool)."""

    def __init__(
        self,
        drivers: Callable[[], Sequence[StatsExportOps]],
        interval: float,
        limit: int,
        collector: DepthCollector = COLLECTOR,
    ) -> None:
        self._drivers = drivers
        self._interval = interval
        self._limit = limit
        self._collector = collector
        self._task: asyncio.Task[None] | None = None
        self._busy = 0.0  # seconds of statements in the current refresh

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="depth-metrics")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def refresh(self) -> None:
        """Read every database; if one fails the previous snapshot stays (its age shows)."""
        drivers = self._drivers()
        if len(drivers) == 1:
            self._collector.snapshot = await drivers[0].depth_snapshot(
                self._limit, pause=self._rest
            )
            return
        snapshots = await asyncio.gather(
            *(
                driver.depth_snapshot(self._limit, every_project=True, pause=self._rest)
                for driver in drivers
            )
        )
        self._collector.snapshot = merge_snapshots(snapshots, self._limit)

    async def _rest(self, took: float) -> None:
        self._busy += took
        await asyncio.sleep(took * PAGE_REST_FACTOR)

    async def _run(self) -> None:
        while True:
            self._busy = 0.0
            try:
                await self.refresh()
            except Exception:  # a database outage: keep the last snapshot (its timestamp ages)
                log.warning("depth metrics not refreshed", exc_info=True)
            # The snapshot reads every live message: on a big database it is kept to a small
            # share of the time (and of the database's CPU), however short the interval.
            await asyncio.sleep(max(self._interval, self._busy * REFRESH_COST_FACTOR))
