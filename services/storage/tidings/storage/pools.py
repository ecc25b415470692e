"""Routing every storage operation to the database that holds its queue (Zaqar's pooling).

The default database (``TIDINGS_DATABASE_URL``) holds the catalog and stays a data store.
Operators register more PostgreSQL databases as pools; each replica opens one
:class:`~tidings.storage.drivers.sql.SqlDriver` per pool (its own engines, executor, group
commit, outbox relay and sweeper, started by the ``attach`` hook), left unchanged: this module
only chooses which driver serves a request.

- With no pool registered every request goes straight to the default driver, as before pools.
- A queue is placed when something creates it (``queue.create``, ``message.post``,
  ``subscription.create``): a queue that already exists in the default database is pinned
  there; otherwise a pool is drawn by weight among the pools of the queue's ``_flavor`` (its
  metadata at creation), or among the pools without a flavor, or the default database when
  there are none. The placement row is permanent, so a queue stays where it was placed across
  deletes, pool weight and flavor changes. Reads of a queue never placed go to the default
  database (where an unplaced queue lives, if anywhere).
- A dead letter queue must live where its source queue does: messages move into it inside
  the source's database, in the claim's transaction. When queue metadata naming a
  ``_dead_letter_queue`` is written (``queue.create``, ``queue.patch``), that queue is placed
  with its source first (a placement row, even before any message moves); one already placed
  elsewhere is refused (400), since messages cannot move between databases.
- Placements are cached per replica (they never change). Replicas learn about pool changes by
  re-reading the pools table every ``refresh_interval`` seconds, at once after their own admin
  writes, and whenever a placement names a pool they do not know.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy.engine import make_url

from tidings.common import schemas as s
from tidings.common.errors import Conflict, Forbidden, InvalidRequest, NotFound, ServiceUnavailable
from tidings.common.rpc import Handler
from tidings.storage.catalog import UNPLACED, Catalog
from tidings.storage.drivers.sql import SqlDriver
from tidings.storage.migrate import upgrade

log = logging.getLogger(__name__)

# Opens the driver of a pool's database for a URI (the app passes create_driver).
DriverFactory = Callable[[str], SqlDriver]
# Starts a pool driver's background work (outbox relay, sweeper); returns what stops it.
Attach = Callable[[SqlDriver], Awaitable[Callable[[], Awaitable[None]]]]

# Operations that may create their queue, and so place it.
PLACING = frozenset({"queue.create", "message.post", "subscription.create"})
MAX_CACHED_PLACEMENTS = 100_000
# An unreachable pool is retried at most this often by requests (each try may take seconds).
FORCED_REFRESH_SPACING = 1.0
FLAVOR_KEY = "_flavor"
DEAD_LETTER_KEY = "_dead_letter_queue"


class _OpenPool:
    def __init__(self, pool: s.Pool, driver: SqlDriver, detach: Callable[[], Awaitable[None]]):
        self.pool = pool
        self.driver = driver
        self.detach = detach


class PooledStorage:
    def __init__(
        self,
        default: SqlDriver,
        make_driver: DriverFactory,
        *,
        attach: Attach | None = None,
        migrate: bool = True,
        refresh_interval: float = 5.0,
    ) -> None:
        self.default = default
        self.catalog = Catalog(default.engine)
        self._make_driver = make_driver
        self._attach = attach
        self._migrate = migrate
        self._refresh_interval = refresh_interval
        self._open: dict[str, _OpenPool] = {}
        # Every pool of the catalog at the last refresh, opened or not: while one exists,
        # requests are routed by placement even if its database cannot be opened right now.
        self._registered: set[str] = set()
        self._placed: dict[tuple[str, str], str | None] = {}
        self._refresh_lock = asyncio.Lock()
        self._last_forced_refresh = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def pooling(self) -> bool:
        return self.default.dialect == "postgresql"

    def drivers(self) -> list[SqlDriver]:
        return [self.default, *(entry.driver for entry in self._open.values())]

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self.refresh()
        if self._refresh_interval > 0:
            self._task = asyncio.create_task(self._refresh_forever(), name="pool-refresh")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for name in list(self._open):
            await self._close_pool(name)
        self._registered.clear()

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_interval)
            try:
                await self.refresh()
            except Exception:  # the catalog database may be down; the next round retries
                log.warning("pool refresh failed", exc_info=True)

    async def refresh(self) -> None:
        """Open drivers of new pools (or moved URIs), close those of removed pools."""
        if not self.pooling:
            return
        async with self._refresh_lock:
            wanted = {pool.name: pool for pool in await self.catalog.pools()}
            self._registered = set(wanted)
            for name, entry in list(self._open.items()):
                if name not in wanted or wanted[name].uri != entry.pool.uri:
                    await self._close_pool(name)
            for name, pool in wanted.items():
                if name in self._open:
                    self._open[name].pool = pool  # weight and flavor may change in place
                    continue
                try:
                    driver = await self._open_driver(pool.uri)
                except Exception:
                    log.warning("pool %s (%s) cannot be opened", name, pool.uri, exc_info=True)
                    continue
                detach = await self._attach(driver) if self._attach else _nothing
                self._open[name] = _OpenPool(pool, driver, detach)
                log.info("pool %s opened", name)

    async def _open_driver(self, uri: str) -> SqlDriver:
        driver = self._make_driver(uri)
        await driver.open()
        try:
            if self._migrate:
                await upgrade(driver.engine)
        except BaseException:
            await driver.close()
            raise
        return driver

    async def _close_pool(self, name: str) -> None:
        entry = self._open.pop(name)
        await entry.detach()
        await entry.driver.close()
        log.info("pool %s closed", name)

    # ------------------------------------------------------------ routing

    async def driver_for(
        self, project: str, queue: str, *, placing: bool = False, flavor: str | None = None
    ) -> SqlDriver:
        if not self._registered:
            return self.default  # no pools: exactly the single-database path
        key = (project, queue)
        if key in self._placed:
            return await self._driver_named(self._placed[key])
        found = await self.catalog.placement(project, queue)
        if found is UNPLACED:
            if not placing:
                return self.default
            found = await self.catalog.place(project, queue, await self._choose(key, flavor))
        pool = cast(str | None, found)
        self._remember(key, pool)
        return await self._driver_named(pool)

    def _remember(self, key: tuple[str, str], pool: str | None) -> None:
        if len(self._placed) >= MAX_CACHED_PLACEMENTS:
            self._placed.clear()
        self._placed[key] = pool

    async def _driver_named(self, pool: str | None) -> SqlDriver:
        if pool is None:
            return self.default
        now = time.monotonic()
        if pool not in self._open and now - self._last_forced_refresh > FORCED_REFRESH_SPACING:
            self._last_forced_refresh = now
            await self.refresh()
        entry = self._open.get(pool)
        if entry is None:
            raise ServiceUnavailable(f"Pool {pool} is not available.")
        return entry.driver

    async def _choose(self, key: tuple[str, str], flavor: str | None) -> str | None:
        project, queue = key
        existing = await self.default.queue_get(s.QueueScoped(project=project, queue=queue))
        if existing.exists:
            return None  # created before pools existed: it stays in the default database
        if flavor is not None:
            if not await self.catalog.flavor_exists(flavor):
                raise InvalidRequest(f"Flavor {flavor} does not exist")
            candidates = [e.pool for e in self._open.values() if e.pool.flavor == flavor]
            if not candidates:
                raise InvalidRequest(f"Flavor {flavor} has no pool available")
        else:
            candidates = [e.pool for e in self._open.values() if e.pool.flavor is None]
            if not candidates:
                return None
        weights = [pool.weight for pool in candidates]
        if sum(weights) == 0:
            if flavor is None:
                return None
            raise InvalidRequest(f"Flavor {flavor} has no pool available")
        return random.choices(candidates, weights=weights)[0].name

    def handlers(self) -> dict[str, Handler]:
        """A handler for every queue-scoped operation, the queue list and the admin ones."""
        handlers: dict[str, Handler] = {"queue.list": cast(Handler, self.queue_list)}
        for operation, (request_type, _) in s.OPERATIONS.items():
            if issubclass(request_type, s.QueueScoped):
                handlers[operation] = self._routed(operation)
        for operation in s.OPERATIONS:
            if operation.startswith(("pool.", "flavor.")):
                method: Any = getattr(self, operation.replace(".", "_"))
                handlers[operation] = cast(Handler, method)
        return handlers

    def _routed(self, operation: str) -> Handler:
        method_name = operation.replace(".", "_")
        placing = operation in PLACING

        async def handle(req: s.Schema) -> s.Schema:
            scoped = cast(s.QueueScoped, req)
            flavor = None
            if operation == "queue.create":
                named = cast(s.QueueCreateRequest, req).metadata.get(FLAVOR_KEY)
                flavor = named if isinstance(named, str) else None
            driver = await self.driver_for(
                scoped.project, scoped.queue, placing=placing, flavor=flavor
            )
            if self._registered and operation in ("queue.create", "queue.patch"):
                dead_letter = _named_dead_letter_queue(req)
                if dead_letter is not None and dead_letter != scoped.queue:
                    await self._place_dead_letter_queue(scoped.project, scoped.queue, dead_letter)
            result: s.Schema = await getattr(driver, method_name)(req)
            return result

        return handle

    async def _place_dead_letter_queue(self, project: str, source: str, name: str) -> None:
        """Place ``name`` with ``source`` (whose driver was just chosen, so its placement is
        cached, or it has none and lives in the default database); refuse another pool."""
        home = self._placed.get((project, source))
        key = (project, name)
        found = self._placed[key] if key in self._placed else await self.catalog.placement(*key)
        if found is UNPLACED:
            # As in _choose: a queue already in the default database (made before pools, or
            # by a move before this rule) stays there.
            existing = await self.default.queue_get(s.QueueScoped(project=project, queue=name))
            found = await self.catalog.place(project, name, None if existing.exists else home)
        where = cast(str | None, found)
        self._remember(key, where)
        if where != home:
            raise InvalidRequest(
                f"The dead letter queue {name} is in another pool than queue {source}; "
                "messages cannot move between pools"
            )

    async def queue_list(self, req: s.Schema) -> s.Schema:
        """One page over every database: each gives its page, the first ``limit`` names win."""
        request = cast(s.QueueListRequest, req)
        if not self._registered:
            return await self.default.queue_list(request)
        replies = await asyncio.gather(*(d.queue_list(request) for d in self.drivers()))
        items = sorted((q for reply in replies for q in reply.queues), key=lambda q: q.name)
        count = sum(reply.count or 0 for reply in replies) or None
        return s.QueueListReply(queues=items[: request.limit], count=count)

    # ------------------------------------------------------------ pools (admin)

    def _require_pooling(self) -> None:
        if not self.pooling:
            raise InvalidRequest(
                "Pools need PostgreSQL: the catalog database (TIDINGS_DATABASE_URL) is SQLite"
            )

    async def _check_uri(self, name: str, uri: str) -> None:
        if make_url(uri).get_backend_name() != "postgresql":
            raise InvalidRequest(f"cannot connect to {uri}: pools are PostgreSQL databases")
        if _same_database(uri, self.default.url):
            raise Conflict(f"{uri} is the catalog database")
        owner = await self.catalog.pool_using(uri)
        if owner is not None and owner != name:
            raise Conflict(f"Pool {owner} already uses {uri}")
        try:
            driver = await self._open_driver(uri)
        except Exception as error:
            raise InvalidRequest(f"cannot connect to {uri}") from error
        await driver.close()

    async def pool_list(self, req: s.Schema) -> s.Schema:
        request = cast(s.PoolListRequest, req)
        return s.PoolListReply(pools=await self.catalog.pools(request.marker, request.limit))

    async def pool_get(self, req: s.Schema) -> s.Schema:
        name = cast(s.PoolRequest, req).name
        pool = await self.catalog.pool(name)
        if pool is None:
            raise NotFound(f"Pool {name} does not exist")
        return s.PoolReply(pool=pool)

    async def pool_put(self, req: s.Schema) -> s.Schema:
        pool = cast(s.Pool, req)
        self._require_pooling()
        await self._check_uri(pool.name, pool.uri)
        created = await self.catalog.save_pool(pool)
        await self.refresh()
        return s.PoolPutReply(created=created)

    async def pool_patch(self, req: s.Schema) -> s.Schema:
        patch = cast(s.PoolPatchRequest, req)
        current = await self.catalog.pool(patch.name)
        if current is None:
            raise NotFound(f"Pool {patch.name} does not exist")
        changes = patch.model_dump(exclude={"name"}, exclude_none=True)
        updated = current.model_copy(update=changes)
        if updated.uri != current.uri:
            await self._check_uri(updated.name, updated.uri)
        await self.catalog.save_pool(updated)
        await self.refresh()
        return s.PoolReply(pool=updated)

    async def pool_delete(self, req: s.Schema) -> s.Schema:
        name = cast(s.PoolRequest, req).name
        pool = await self.catalog.pool(name)
        if pool is None:
            return s.Empty()
        if pool.flavor is not None and await self.catalog.pools_of(pool.flavor) == [name]:
            raise Forbidden(
                f"Pool {name} is the last pool of flavor {pool.flavor}", title="Unable to delete"
            )
        if await self.catalog.queues_in(name):
            # Its queues stay placed there; dropping the pool would make them unreachable.
            raise Forbidden(f"Pool {name} still holds queues", title="Unable to delete")
        await self.catalog.delete_pool(name)
        await self.refresh()
        return s.Empty()

    # ------------------------------------------------------------ flavors (admin)

    async def _flavor(self, name: str) -> s.Flavor:
        if not await self.catalog.flavor_exists(name):
            raise NotFound(f"Flavor {name} does not exist")
        return s.Flavor(name=name, pool_list=await self.catalog.pools_of(name))

    async def _check_pools(self, names: list[str]) -> None:
        for name in names:
            if await self.catalog.pool(name) is None:
                raise InvalidRequest(f"Pool {name} does not exist")

    async def flavor_list(self, req: s.Schema) -> s.Schema:
        request = cast(s.FlavorListRequest, req)
        names = await self.catalog.flavor_names(request.marker, request.limit)
        return s.FlavorListReply(flavors=[await self._flavor(name) for name in names])

    async def flavor_get(self, req: s.Schema) -> s.Schema:
        return s.FlavorReply(flavor=await self._flavor(cast(s.FlavorRequest, req).name))

    async def flavor_put(self, req: s.Schema) -> s.Schema:
        request = cast(s.FlavorPutRequest, req)
        self._require_pooling()
        await self._check_pools(request.pool_list)
        await self.catalog.save_flavor(request.name, request.pool_list)
        await self.refresh()
        return s.Empty()

    async def flavor_patch(self, req: s.Schema) -> s.Schema:
        request = cast(s.FlavorPutRequest, req)
        await self._flavor(request.name)
        await self._check_pools(request.pool_list)
        await self.catalog.save_flavor(request.name, request.pool_list)
        await self.refresh()
        return s.FlavorReply(flavor=await self._flavor(request.name))

    async def flavor_delete(self, req: s.Schema) -> s.Schema:
        await self.catalog.delete_flavor(cast(s.FlavorRequest, req).name)
        await self.refresh()
        return s.Empty()


def _named_dead_letter_queue(req: s.Schema) -> str | None:
    """The dead letter queue a queue.create or queue.patch request names, if any."""
    value: object = None
    if isinstance(req, s.QueueCreateRequest):
        value = req.metadata.get(DEAD_LETTER_KEY)
    elif isinstance(req, s.QueuePatchRequest):
        for operation in req.operations:
            if operation.key == DEAD_LETTER_KEY:
                value = None if operation.op == "remove" else operation.value
    return value if isinstance(value, str) and value else None


def _same_database(a: str, b: str) -> bool:
    left, right = make_url(a), make_url(b)
    return (left.host, left.port, left.database) == (right.host, right.port, right.database)


async def _nothing() -> None:
    return None
