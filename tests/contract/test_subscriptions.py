"""Subscriptions: create and duplicates, list order and paging, update, confirm, delete, ttl,
purge, the outbox events of each write, and the records of given-up deliveries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.contract.conftest import DriverFactory, ManualClock
from tests.contract.helpers import post
from tidings.common import schemas as s
from tidings.common.errors import Conflict, NotFound
from tidings.common.events import SubscriptionChangedEvent
from tidings.storage.drivers import SqlDriver
from tidings.storage.tables import outbox


async def create(
    driver: SqlDriver,
    project: str,
    subscriber: str,
    *,
    queue: str = "q",
    ttl: int = 3600,
    options: dict[str, object] | None = None,
) -> s.SubscriptionCreateReply:
    return await driver.subscription_create(
        s.SubscriptionCreateRequest(
            project=project,
            queue=queue,
            subscriber=subscriber,
            ttl=ttl,
            options=options or {},
        )
    )


async def get(driver: SqlDriver, project: str, sid: str, queue: str = "q") -> s.Subscription:
    reply = await driver.subscription_get(
        s.SubscriptionRequest(project=project, queue=queue, subscription_id=sid)
    )
    return reply.subscription


async def list_page(
    driver: SqlDriver, project: str, queue: str = "q", **paging: object
) -> list[s.Subscription]:
    reply = await driver.subscription_list(
        s.SubscriptionListRequest(project=project, queue=queue, **paging)
    )
    return reply.subscriptions


async def test_create_get_and_lazy_queue(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    made = await create(driver, project, "http://127.0.0.1:1/hook", ttl=600, options={"a": 1})
    assert made.created and len(made.subscription_id) == 32 and len(made.signing_secret) == 64
    clock.advance(7)
    sub = await get(driver, project, made.subscription_id)
    assert (sub.queue, sub.subscriber, sub.ttl, sub.age) == ("q", "http://127.0.0.1:1/hook", 600, 7)
    assert sub.options == {"a": 1} and sub.confirmed is False
    assert sub.signing_secret == made.signing_secret
    queue = await driver.queue_get(s.QueueScoped(project=project, queue="q"))
    assert queue.exists  # subscribing creates the queue


async def test_duplicates_return_the_unconfirmed_id_and_conflict_once_confirmed(
    driver: SqlDriver, project: str
) -> None:
    first = await create(driver, project, "mailto:a@example.com", ttl=600, options={"x": 1})
    again = await create(driver, project, "mailto:a@example.com", ttl=900, options={"y": 2})
    assert (again.subscription_id, again.created) == (first.subscription_id, False)
    sub = await get(driver, project, first.subscription_id)
    assert (sub.ttl, sub.options) == (600, {"x": 1})  # the duplicate changed nothing
    await driver.subscription_confirm(
        s.SubscriptionConfirmRequest(
            project=project, queue="q", subscription_id=first.subscription_id, confirmed=True
        )
    )
    with pytest.raises(Conflict) as raised:
        await create(driver, project, "mailto:a@example.com")
    assert raised.value.description is not None
    assert "unique by project + queue + subscriber URI" in raised.value.description
    # Another queue or another project may use the same subscriber.
    assert (await create(driver, project, "mailto:a@example.com", queue="other")).created
    assert (await create(driver, project + "x", "mailto:a@example.com")).created


async def test_list_in_creation_order_with_markers(driver: SqlDriver, project: str) -> None:
    ids = [
        (await create(driver, project, f"http://127.0.0.1/{i}")).subscription_id for i in range(5)
    ]
    first = await list_page(driver, project, limit=3)
    assert [sub.id for sub in first] == ids[:3]
    rest = await list_page(driver, project, limit=3, marker=first[-1].id)
    assert [sub.id for sub in rest] == ids[3:]
    assert await list_page(driver, project, limit=3, marker=rest[-1].id) == []
    assert await list_page(driver, project, queue="nothing-here") == []
    # A marker holding a NUL (PostgreSQL takes none: it was a 503) is cut there.
    cut = await list_page(driver, project, limit=3, marker=first[-1].id + "\0z")
    assert [sub.id for sub in cut] == ids[3:]


async def test_ttl_expiry_hides_then_sweeps_and_frees_the_subscriber(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    made = await create(driver, project, "http://127.0.0.1/x", ttl=60)
    clock.advance(61)
    assert await list_page(driver, project) == []
    with pytest.raises(NotFound):
        await get(driver, project, made.subscription_id)
    again = await create(driver, project, "http://127.0.0.1/x", ttl=60)
    assert again.created and again.subscription_id != made.subscription_id
    clock.advance(61)
    assert await driver.sweep_expired(1000) >= 1
    assert await list_page(driver, project) == []


async def test_update_replaces_options_restarts_ttl_and_refuses_a_taken_subscriber(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    a = await create(driver, project, "http://127.0.0.1/a", ttl=100, options={"keep": 0})
    b = await create(driver, project, "http://127.0.0.1/b")
    clock.advance(90)
    await driver.subscription_update(
        s.SubscriptionUpdateRequest(
            project=project, queue="q", subscription_id=a.subscription_id, ttl=100, options={"n": 1}
        )
    )
    clock.advance(90)  # alive: the new ttl counts from the update
    sub = await get(driver, project, a.subscription_id)
    assert (sub.ttl, sub.options) == (100, {"n": 1})
    with pytest.raises(Conflict):
        await driver.subscription_update(
            s.SubscriptionUpdateRequest(
                project=project,
                queue="q",
                subscription_id=b.subscription_id,
                subscriber="http://127.0.0.1/a",
            )
        )
    await driver.subscription_update(
        s.SubscriptionUpdateRequest(
            project=project, queue="q", subscription_id=b.subscription_id, subscriber="mailto:b@x"
        )
    )
    assert (await get(driver, project, b.subscription_id)).subscriber == "mailto:b@x"
    for sid, queue in (("f" * 32, "q"), ("not-an-id", "q"), (a.subscription_id, "other")):
        with pytest.raises(NotFound):
            await driver.subscription_update(
                s.SubscriptionUpdateRequest(
                    project=project, queue=queue, subscription_id=sid, ttl=60
                )
            )


async def test_confirm_by_id_and_project_and_delete_always_succeeds(
    driver: SqlDriver, project: str
) -> None:
    made = await create(driver, project, "http://127.0.0.1/c")
    confirmed = await driver.subscription_confirm(
        s.SubscriptionConfirmRequest(
            project=project, queue="any", subscription_id=made.subscription_id, confirmed=True
        )
    )
    assert confirmed.subscription.confirmed and confirmed.subscription.queue == "q"
    with pytest.raises(NotFound):
        await driver.subscription_confirm(
            s.SubscriptionConfirmRequest(
                project=project + "x",
                queue="q",
                subscription_id=made.subscription_id,
                confirmed=True,
            )
        )
    for sid in (made.subscription_id, made.subscription_id, "garbage"):
        await driver.subscription_delete(
            s.SubscriptionRequest(project=project, queue="q", subscription_id=sid)
        )
    assert await list_page(driver, project) == []


async def test_queue_delete_keeps_subscriptions_and_purge_removes_them(
    driver: SqlDriver, project: str
) -> None:
    made = await create(driver, project, "http://127.0.0.1/p")
    await driver.queue_delete(s.QueueScoped(project=project, queue="q"))
    assert [sub.id for sub in await list_page(driver, project)] == [made.subscription_id]
    await post(driver, project, "q", ["m"])
    await driver.queue_purge(
        s.QueuePurgeRequest(project=project, queue="q", resource_types=["messages"])
    )
    assert len(await list_page(driver, project)) == 1
    await driver.queue_purge(s.QueuePurgeRequest(project=project, queue="q"))
    assert await list_page(driver, project) == []


async def test_targets_carry_every_live_subscription_and_the_queue_policy(
    driver: SqlDriver, project: str
) -> None:
    policy = {"retries_with_no_delay": 1, "minimum_delay": 1, "maximum_delay": 20}
    await driver.queue_create(
        s.QueueCreateRequest(project=project, queue="q", metadata={"_retry_policy": policy})
    )
    ids = [
        (await create(driver, project, f"http://127.0.0.1/{i}")).subscription_id for i in range(25)
    ]
    targets = await driver.subscription_targets(s.QueueScoped(project=project, queue="q"))
    assert [sub.id for sub in targets.subscriptions] == ids  # no paging limit
    assert targets.queue_retry_policy == policy
    empty = await driver.subscription_targets(s.QueueScoped(project=project, queue="none"))
    assert empty == s.DeliveryTargetsReply(subscriptions=[], queue_retry_policy=None)


async def test_every_write_puts_an_event_in_the_outbox(
    make_driver: DriverFactory, fresh_database: str, project: str
) -> None:
    driver = await make_driver(url=fresh_database)
    handed: list[str] = []
    driver.on_outbox_written = lambda events: handed.extend(e.event_id for e in events)
    made = await create(driver, project, "http://127.0.0.1/e")
    await create(driver, project, "http://127.0.0.1/e")
    sid = made.subscription_id
    await driver.subscription_update(
        s.SubscriptionUpdateRequest(project=project, queue="q", subscription_id=sid, ttl=120)
    )
    await driver.subscription_confirm(
        s.SubscriptionConfirmRequest(
            project=project, queue="q", subscription_id=sid, confirmed=False
        )
    )
    await driver.subscription_delete(
        s.SubscriptionRequest(project=project, queue="q", subscription_id=sid)
    )
    async with driver.engine.connect() as conn:
        rows = (
            await conn.execute(sa.select(outbox.c.event_id, outbox.c.payload).order_by(outbox.c.id))
        ).all()
    events = [SubscriptionChangedEvent.model_validate_json(r.payload) for r in rows]
    assert [e.change for e in events] == [
        "created",
        "duplicate",
        "updated",
        "unsubscribed",
        "deleted",
    ]
    assert {e.subscription_id for e in events} == {sid}
    assert handed == [r.event_id for r in rows]  # the relay got each one after its commit


async def test_failed_deliveries_are_recorded_once_listed_and_expire(
    driver: SqlDriver, project: str, clock: ManualClock
) -> None:
    def record(delivery_id: str, subscription_id: str = "s1") -> s.FailedDeliveryRecordRequest:
        return s.FailedDeliveryRecordRequest(
            project=project,
            queue="q",
            retention=600,
            delivery=s.FailedDelivery(
                delivery_id=delivery_id,
                subscription_id=subscription_id,
                subscriber="http://127.0.0.1/down",
                message_id="m" * 32,
                attempts=13,
                last_error="connection refused",
            ),
        )

    for delivery_id in ("d1", "d1", "d2"):
        await driver.delivery_record_failure(record(delivery_id))
    await driver.delivery_record_failure(record("d3", "s2"))
    listed = await driver.delivery_list_failures(
        s.FailedDeliveryListRequest(project=project, queue="q", limit=2)
    )
    assert [d.delivery_id for d in listed.deliveries] == ["d1", "d2"]
    assert listed.deliveries[0].attempts == 13 and listed.deliveries[0].failed == clock.now
    rest = await driver.delivery_list_failures(
        s.FailedDeliveryListRequest(project=project, queue="q", marker=listed.marker)
    )
    assert [d.delivery_id for d in rest.deliveries] == ["d3"]
    only = await driver.delivery_list_failures(
        s.FailedDeliveryListRequest(project=project, queue="q", subscription_id="s2")
    )
    assert [d.delivery_id for d in only.deliveries] == ["d3"]
    nul = await driver.delivery_list_failures(  # PostgreSQL takes no NUL (it was a 503)
        s.FailedDeliveryListRequest(project=project, queue="q", subscription_id="s2\0")
    )
    assert nul.deliveries == []
    other = await driver.delivery_list_failures(
        s.FailedDeliveryListRequest(project=project + "x", queue="q")
    )
    assert other.deliveries == []
    clock.advance(601)
    gone = await driver.delivery_list_failures(
        s.FailedDeliveryListRequest(project=project, queue="q")
    )
    assert gone.deliveries == []
