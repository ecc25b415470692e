"""Per-key concurrency caps that forget idle keys (keys are subscriber URIs: unbounded)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class KeyedLimiter:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._slots: dict[Hashable, asyncio.Semaphore] = {}
        self._users: dict[Hashable, int] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        semaphore = self._slots.get(key)
        if semaphore is None:
            semaphore = self._slots[key] = asyncio.Semaphore(self._limit)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with semaphore:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:  # nobody holds or waits: drop the key
                del self._users[key]
                del self._slots[key]

    def __len__(self) -> int:
        return len(self._slots)
