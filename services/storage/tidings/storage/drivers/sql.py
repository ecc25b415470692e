"""The SQL storage driver: every operation of the storage contract, for any SQL dialect."""

from __future__ import annotations

from tidings.storage.drivers.claims import ClaimOps
from tidings.storage.drivers.maintenance import MaintenanceOps
from tidings.storage.drivers.messages import MessageOps
from tidings.storage.drivers.queues import QueueOps
from tidings.storage.drivers.stats_export import StatsExportOps
from tidings.storage.drivers.subscriptions import SubscriptionOps


# SubscriptionOps comes first: it fills QueueOps' purge hook and extends the sweep.
class SqlDriver(SubscriptionOps, QueueOps, MessageOps, ClaimOps, MaintenanceOps, StatsExportOps):
    # Group-commit workers: more than one lets a batch fill while another commits, on a
    # database that allows concurrent writers; fewer make bigger batches (less work per post).
    post_workers = 1

    async def open(self) -> None:
        await self.open_engines()
        self._make_post_committer(self.settings.group_commit_workers or self.post_workers)
        self._post_committer.start()

    async def close(self) -> None:
        if getattr(self, "_post_committer", None) is not None:
            await self._post_committer.close()
        await self.close_engines()
