"""A queue's subscriptions as the notifier needs them, cached per queue.

Every subscription write publishes a ``subscription_changed`` event; each replica listens to
those on core NATS and drops the queue's entry at once. The ttl only bounds how stale an entry
can get if such an event is missed (a NATS reconnect). Concurrent misses of one queue share
one storage call.
"""

from __future__ import annotations

import asyncio
import time

from tidings.common import schemas as s
from tidings.common.rpc import StorageClient

Key = tuple[str, str]


class TargetCache:
    def __init__(self, storage: StorageClient, ttl: float) -> None:
        self._storage = storage
        self._ttl = ttl
        self._entries: dict[Key, tuple[float, s.DeliveryTargetsReply]] = {}
        self._loading: dict[Key, asyncio.Future[s.DeliveryTargetsReply]] = {}
        self._generation: dict[Key, int] = {}

    async def get(self, project: str, queue: str) -> s.DeliveryTargetsReply:
        key = (project, queue)
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        loading = self._loading.get(key)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[s.DeliveryTargetsReply] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        generation = self._generation.get(key, 0)
        try:
            reply = await self._storage.call(
                "subscription.targets",
                s.QueueScoped(project=project, queue=queue),
                s.DeliveryTargetsReply,
            )
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, nobody else needs to
            raise
        finally:
            del self._loading[key]
        # An invalidation that arrived while loading makes this answer too old to keep.
        if self._generation.get(key, 0) == generation:
            self._entries[key] = (time.monotonic() + self._ttl, reply)
        future.set_result(reply)
        return reply

    def invalidate(self, project: str, queue: str) -> None:
        key = (project, queue)
        self._entries.pop(key, None)
        self._generation[key] = self._generation.get(key, 0) + 1
        if len(self._generation) > 100_000:  # bounded: forget generations of idle queues
            self._generation = {k: v for k, v in self._generation.items() if k in self._loading}
