"""Pools on real PostgreSQL: placement by weight and flavor, admin errors, sticky placement.

Each test gets a fresh catalog database and fresh pool databases, and a router whose pools
are opened in this process (no refresh loop: every admin call refreshes at once).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from tests.contract.conftest import migrate
from tests.fixtures.postgres import PostgresServer
from tidings.common import schemas as s
from tidings.common.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    ServiceUnavailable,
)
from tidings.storage.catalog import UNPLACED
from tidings.storage.depth_metrics import DepthCollector, DepthExporter
from tidings.storage.drivers import SqlDriver, create_driver
from tidings.storage.drivers.stats_export import Depth
from tidings.storage.handlers import build_handlers
from tidings.storage.pools import PooledStorage
from tidings.storage.settings import StorageSettings
from tidings.storage.tables import pools

SETTINGS = StorageSettings(message_encryption_key="pool-test-key", pool_size=2)
Databases = Callable[[int], Awaitable[list[str]]]


@pytest.fixture
async def databases(postgres_server: PostgresServer) -> Databases:
    async def make(count: int) -> list[str]:
        urls = [postgres_server.create_database("pool") for _ in range(count)]
        for url in urls:
            await migrate(url)
        return urls

    return make


@pytest.fixture
async def router(databases: Databases) -> AsyncIterator[PooledStorage]:
    (catalog,) = await databases(1)
    default = create_driver(SETTINGS, url=catalog)
    await default.open()
    pooled = PooledStorage(
        default, lambda url: create_driver(SETTINGS, url=url), refresh_interval=0
    )
    await pooled.start()
    yield pooled
    await pooled.close()
    await default.close()


def project() -> str:
    return f"p-{uuid.uuid4().hex[:8]}"


async def create(router: PooledStorage, project: str, queue: str, **metadata: str) -> None:
    handler = router.handlers()["queue.create"]
    await handler(s.QueueCreateRequest(project=project, queue=queue, metadata=dict(metadata)))


async def names_in(driver: SqlDriver, project: str) -> set[str]:
    reply = await driver.queue_list(s.QueueListRequest(project=project, limit=100))
    return {queue.name for queue in reply.queues}


def pool_driver(router: PooledStorage, name: str) -> SqlDriver:
    return {e.pool.name: e.driver for e in router._open.values()}[name]


async def test_without_pools_everything_stays_in_the_default_database(
    router: PooledStorage,
) -> None:
    tenant = project()
    await create(router, tenant, "q")
    assert await names_in(router.default, tenant) == {"q"}
    assert await router.catalog.placement(tenant, "q") is UNPLACED  # no catalog work at all
    assert (await router.pool_list(s.PoolListRequest())) == s.PoolListReply(pools=[])


async def test_queues_spread_over_two_pools_by_weight(
    router: PooledStorage, databases: Databases
) -> None:
    heavy, light = await databases(2)
    await router.pool_put(s.Pool(name="heavy", uri=heavy, weight=3))
    await router.pool_put(s.Pool(name="light", uri=light, weight=1))
    tenant = project()
    queues = {f"q{i}" for i in range(60)}
    for queue in sorted(queues):
        await create(router, tenant, queue)
    in_heavy = await names_in(pool_driver(router, "heavy"), tenant)
    in_light = await names_in(pool_driver(router, "light"), tenant)
    assert in_heavy | in_light == queues and not in_heavy & in_light
    assert await names_in(router.default, tenant) == set()
    # 3:1 odds: 45 expected in heavy; fewer than 30 has a probability below 1e-5.
    assert len(in_heavy) >= 30 and len(in_light) >= 1
    # The list is one page over every database, in name order.
    page = await router.queue_list(s.QueueListRequest(project=tenant, limit=20))
    assert isinstance(page, s.QueueListReply)
    assert [q.name for q in page.queues] == sorted(queues)[:20]
    # Messages go where the queue is, lazily created queues are placed too.
    handlers = router.handlers()
    await handlers["message.post"](
        s.MessagePostRequest(
            project=tenant, queue="lazy", client_id="a" * 32,
            messages=[s.NewMessage(body="hello")],
        )
    )  # fmt: skip
    listed = await handlers["message.list"](
        s.MessageListRequest(project=tenant, queue="lazy", client_id="b" * 32)
    )
    assert isinstance(listed, s.MessageListReply)
    assert [m.body for m in listed.messages] == ["hello"]
    assert await router.catalog.placement(tenant, "lazy") in {"heavy", "light"}


async def test_a_flavor_pins_queues_to_its_pools(
    router: PooledStorage, databases: Databases
) -> None:
    plain, gold_a, gold_b = await databases(3)
    await router.pool_put(s.Pool(name="plain", uri=plain, weight=100))
    await router.pool_put(s.Pool(name="gold-a", uri=gold_a, weight=1))
    await router.pool_put(s.Pool(name="gold-b", uri=gold_b, weight=1))
    await router.flavor_put(s.FlavorPutRequest(name="gold", pool_list=["gold-a", "gold-b"]))
    flavor = await router.flavor_get(s.FlavorRequest(name="gold"))
    assert isinstance(flavor, s.FlavorReply)
    assert flavor.flavor.pool_list == ["gold-a", "gold-b"]
    tenant = project()
    for i in range(20):
        await create(router, tenant, f"g{i}", _flavor="gold")
        await create(router, tenant, f"p{i}")
    gold = await names_in(pool_driver(router, "gold-a"), tenant) | await names_in(
        pool_driver(router, "gold-b"), tenant
    )
    assert gold == {f"g{i}" for i in range(20)}
    assert await names_in(pool_driver(router, "plain"), tenant) == {f"p{i}" for i in range(20)}
    with pytest.raises(InvalidRequest, match="Flavor silver does not exist"):
        await create(router, tenant, "s", _flavor="silver")


async def test_queues_stay_where_they_were_placed(
    router: PooledStorage, databases: Databases
) -> None:
    tenant = project()
    await create(router, tenant, "before-pools")
    first, second = await databases(2)
    await router.pool_put(s.Pool(name="first", uri=first, weight=1))
    await create(router, tenant, "placed")
    assert await router.catalog.placement(tenant, "placed") == "first"
    # The queue made before pools existed is pinned to the default database on its next write.
    handlers = router.handlers()
    await handlers["message.post"](
        s.MessagePostRequest(
            project=tenant, queue="before-pools", client_id="a" * 32,
            messages=[s.NewMessage(body=1)],
        )
    )  # fmt: skip
    assert await router.catalog.placement(tenant, "before-pools") is None
    # Weight to zero, a new pool, a flavor taking the pool: the queue does not move, even
    # deleted and made again.
    await router.pool_put(s.Pool(name="second", uri=second, weight=10))
    await router.pool_patch(s.PoolPatchRequest(name="first", weight=0))
    await router.flavor_put(s.FlavorPutRequest(name="f", pool_list=["first"]))
    await handlers["queue.delete"](s.QueueScoped(project=tenant, queue="placed"))
    await create(router, tenant, "placed")
    assert await names_in(pool_driver(router, "first"), tenant) == {"placed"}
    assert await names_in(router.default, tenant) == {"before-pools"}
    # A fresh router (another replica) finds the same placements in the catalog.
    other = PooledStorage(
        router.default, lambda url: create_driver(SETTINGS, url=url), refresh_interval=0
    )
    await other.start()
    try:
        assert await other.driver_for(tenant, "placed") is pool_driver(other, "first")
        stats = await other.handlers()["queue.get"](s.QueueScoped(project=tenant, queue="placed"))
        assert isinstance(stats, s.QueueGetReply) and stats.exists
    finally:
        await other.close()


async def test_pool_and_flavor_errors(router: PooledStorage, databases: Databases) -> None:
    (uri,) = await databases(1)
    with pytest.raises(InvalidRequest, match="cannot connect to"):
        await router.pool_put(
            s.Pool(name="down", uri="postgresql+psycopg://x@127.0.0.1:1/none", weight=1)
        )
    with pytest.raises(InvalidRequest, match="cannot connect to"):
        await router.pool_put(s.Pool(name="lite", uri="sqlite+aiosqlite:///x.db", weight=1))
    with pytest.raises(Conflict):
        await router.pool_put(s.Pool(name="self", uri=router.default.url, weight=1))
    reply = await router.pool_put(s.Pool(name="a", uri=uri, weight=1, options={"k": 1}))
    assert reply == s.PoolPutReply(created=True)
    assert await router.pool_put(s.Pool(name="a", uri=uri, weight=2)) == s.PoolPutReply(
        created=False
    )
    with pytest.raises(Conflict, match="Pool a already uses"):
        await router.pool_put(s.Pool(name="b", uri=uri, weight=1))
    with pytest.raises(NotFound):
        await router.pool_get(s.PoolRequest(name="missing"))
    with pytest.raises(NotFound):
        await router.pool_patch(s.PoolPatchRequest(name="missing", weight=1))
    await router.pool_delete(s.PoolRequest(name="missing"))  # 204 for unknown pools
    with pytest.raises(InvalidRequest, match="Pool nope does not exist"):
        await router.flavor_put(s.FlavorPutRequest(name="f", pool_list=["nope"]))
    with pytest.raises(NotFound):
        await router.flavor_patch(s.FlavorPutRequest(name="f", pool_list=["a"]))
    await router.flavor_put(s.FlavorPutRequest(name="f", pool_list=["a"]))
    with pytest.raises(Forbidden, match="last pool of flavor f") as denied:
        await router.pool_delete(s.PoolRequest(name="a"))
    assert denied.value.title == "Unable to delete"
    await router.flavor_delete(s.FlavorRequest(name="f"))  # detaches its pools
    pool = await router.pool_get(s.PoolRequest(name="a"))
    assert pool == s.PoolReply(pool=s.Pool(name="a", uri=uri, weight=2))
    tenant = project()
    await create(router, tenant, "q")
    with pytest.raises(Forbidden, match="still holds queues"):
        await router.pool_delete(s.PoolRequest(name="a"))


async def test_sqlite_refuses_pools(tmp_path: object) -> None:
    default = create_driver(SETTINGS, url=f"sqlite+aiosqlite:///{tmp_path}/catalog.db")
    await default.open()
    try:
        await migrate(default.url)
        handlers = build_handlers(default)
        with pytest.raises(InvalidRequest, match="Pools need PostgreSQL"):
            await handlers["pool.put"](s.Pool(name="a", uri="postgresql://x/y", weight=1))
        listed = await handlers["pool.list"](s.PoolListRequest())
        assert listed == s.PoolListReply(pools=[])
    finally:
        await default.close()


async def test_a_placed_queue_of_an_unreachable_pool_is_a_503(
    router: PooledStorage, databases: Databases
) -> None:
    (uri,) = await databases(1)
    await router.pool_put(s.Pool(name="gone", uri=uri, weight=1))
    tenant = project()
    await create(router, tenant, "q")
    # Another replica finds the pool moved to an address nothing listens on.
    async with router.default.engine.begin() as conn:
        await conn.execute(pools.update().values(uri="postgresql+psycopg://x@127.0.0.1:1/none"))
    other = PooledStorage(
        router.default, lambda url: create_driver(SETTINGS, url=url), refresh_interval=0
    )
    await other.start()
    try:
        with pytest.raises(ServiceUnavailable, match="Pool gone is not available"):
            await other.handlers()["queue.get"](s.QueueScoped(project=tenant, queue="q"))
        # Never-placed queues are still served by the default database.
        reply = await other.handlers()["queue.get"](s.QueueScoped(project=tenant, queue="new"))
        assert reply == s.QueueGetReply(exists=False)
    finally:
        await other.close()


async def claim_and_release(router: PooledStorage, tenant: str, queue: str) -> list[str]:
    """Claim what can be claimed (moving what used up its claims), release it, return ids."""
    handlers = router.handlers()
    held = await handlers["claim.create"](
        s.ClaimCreateRequest(project=tenant, queue=queue, ttl=60, grace=60)
    )
    assert isinstance(held, s.ClaimCreateReply)
    if held.claim_id is not None:
        await handlers["claim.release"](
            s.ClaimRequest(project=tenant, queue=queue, claim_id=held.claim_id)
        )
    return [m.id for m in held.messages]


async def test_a_dead_letter_queue_is_placed_with_its_queue(
    router: PooledStorage, databases: Databases
) -> None:
    """Messages move into the dead letter queue inside the source's database: the dead letter
    queue is placed there as soon as metadata names it, so reads find what moved."""
    first, second = await databases(2)
    await router.pool_put(s.Pool(name="first", uri=first, weight=1))
    await router.pool_put(s.Pool(name="second", uri=second, weight=0))
    tenant, handlers = project(), router.handlers()
    await create(router, tenant, "work")
    assert await router.catalog.placement(tenant, "work") == "first"
    # Weights change: a new queue would now go to the second pool, its dead letter queue not.
    await router.pool_patch(s.PoolPatchRequest(name="first", weight=0))
    await router.pool_patch(s.PoolPatchRequest(name="second", weight=1))
    await handlers["queue.patch"](
        s.QueuePatchRequest(
            project=tenant, queue="work",
            operations=[
                s.PatchOperation(op="add", key="_max_claim_count", value=1),
                s.PatchOperation(op="add", key="_dead_letter_queue", value="dead"),
            ],
        )
    )  # fmt: skip
    assert await router.catalog.placement(tenant, "dead") == "first"
    await handlers["message.post"](
        s.MessagePostRequest(
            project=tenant, queue="work", client_id="a" * 32, messages=[s.NewMessage(body="x")]
        )
    )
    [poison] = await claim_and_release(router, tenant, "work")
    assert await claim_and_release(router, tenant, "work") == []  # it moved instead
    listed = await handlers["message.list"](
        s.MessageListRequest(project=tenant, queue="dead", client_id="b" * 32)
    )
    assert isinstance(listed, s.MessageListReply)
    assert [m.id for m in listed.messages] == [poison]
    assert await names_in(pool_driver(router, "first"), tenant) == {"work", "dead"}
    assert await names_in(pool_driver(router, "second"), tenant) == set()
    assert await names_in(router.default, tenant) == set()


async def test_a_dead_letter_queue_in_another_pool_is_refused(
    router: PooledStorage, databases: Databases
) -> None:
    first, second = await databases(2)
    await router.pool_put(s.Pool(name="first", uri=first, weight=0))
    await router.pool_put(s.Pool(name="second", uri=second, weight=1))
    tenant = project()
    await create(router, tenant, "elsewhere")  # in the second pool
    await router.pool_patch(s.PoolPatchRequest(name="first", weight=1))
    await router.pool_patch(s.PoolPatchRequest(name="second", weight=0))
    with pytest.raises(InvalidRequest, match="is in another pool than queue work"):
        await create(router, tenant, "work", _dead_letter_queue="elsewhere")
    # Refused before anything was written, but the queue itself was placed (first pool).
    assert await names_in(pool_driver(router, "first"), tenant) == set()
    await create(router, tenant, "work")
    naming = s.PatchOperation(op="add", key="_dead_letter_queue", value="elsewhere")
    with pytest.raises(InvalidRequest, match="another pool"):
        await router.handlers()["queue.patch"](
            s.QueuePatchRequest(project=tenant, queue="work", operations=[naming])
        )
    # A new name is placed with the queue; removing the key checks nothing.
    await create(router, tenant, "work2", _dead_letter_queue="fresh")
    assert await router.catalog.placement(tenant, "fresh") == "first"
    await router.handlers()["queue.patch"](
        s.QueuePatchRequest(
            project=tenant, queue="work2",
            operations=[s.PatchOperation(op="remove", key="_dead_letter_queue")],
        )
    )  # fmt: skip


async def test_depth_metrics_cover_every_pool(router: PooledStorage, databases: Databases) -> None:
    """A project's depth is added up over the databases its queues live in; the deepest
    queues and projects are chosen over all of them."""
    tenant, other = project(), project()
    handlers = router.handlers()

    async def post(owner: str, queue: str, count: int) -> None:
        await handlers["message.post"](
            s.MessagePostRequest(
                project=owner, queue=queue, client_id="a" * 32,
                messages=[s.NewMessage(body=i) for i in range(count)],
            )
        )  # fmt: skip

    await post(tenant, "old", 1)  # before pools: the default database
    first, second = await databases(2)
    await router.pool_put(s.Pool(name="first", uri=first, weight=1))
    await router.pool_put(s.Pool(name="second", uri=second, weight=0))
    await post(tenant, "a1", 3)
    await router.pool_patch(s.PoolPatchRequest(name="first", weight=0))
    await router.pool_patch(s.PoolPatchRequest(name="second", weight=1))
    await post(tenant, "b1", 2)
    await post(other, "b2", 5)
    assert [await router.catalog.placement(tenant, q) for q in ("a1", "b1")] == ["first", "second"]

    def depths(found: list[Depth]) -> list[tuple[str, str | None, int]]:
        return [(d.project, d.queue, d.messages) for d in found]

    collector = DepthCollector()
    await DepthExporter(router.drivers, 0, 2, collector).refresh()
    snapshot = collector.snapshot
    assert snapshot is not None
    assert depths(snapshot.queues) == [(other, "b2", 5), (tenant, "a1", 3)]
    assert depths(snapshot.projects) == [(tenant, None, 6), (other, None, 5)]
    assert (snapshot.omitted_queues, snapshot.omitted_projects) == (2, 0)
    # One series each: the tenant leads although no single database has it deepest.
    await DepthExporter(router.drivers, 0, 1, collector).refresh()
    snapshot = collector.snapshot
    assert snapshot is not None
    assert depths(snapshot.projects) == [(tenant, None, 6)]
    assert (snapshot.omitted_queues, snapshot.omitted_projects) == (3, 1)
    old_age = snapshot.projects[0].oldest_age
    assert old_age >= max(d.oldest_age for d in snapshot.queues) and old_age > 0
