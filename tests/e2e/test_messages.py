"""Messages through python-zaqarclient: post, list with paging, get, get_many, delete,
delete_many, pop, echo."""

from __future__ import annotations

import pytest
from zaqarclient.queues import client as zaqar
from zaqarclient.transport import errors

from tests.e2e.conftest import ZaqarFactory


def ids_of(resources: list[str]) -> list[str]:
    return [href.rsplit("/", 1)[-1] for href in resources]


def test_post_returns_resources_in_order(cli: zaqar.Client) -> None:
    queue = cli.queue("posted", force_create=True)
    result = queue.post([{"body": {"n": i}, "ttl": 300} for i in range(3)])
    assert len(result["resources"]) == 3
    assert all(r.startswith("/v2/queues/posted/messages/") for r in result["resources"])
    bodies = [m.body for m in queue.messages(*ids_of(result["resources"]))]
    assert sorted(b["n"] for b in bodies) == [0, 1, 2]


def test_listing_pages_by_marker_see_every_message_once_in_order(cli: zaqar.Client) -> None:
    queue = cli.queue("paged", force_create=True)
    posted: list[str] = []
    for start in range(0, 45, 9):  # several posts, so order spans requests
        result = queue.post([{"body": start + i} for i in range(9)])
        posted += ids_of(result["resources"])
    listing = queue.messages(echo=True, limit=7).stream()
    seen = [(m.id, m.body) for m in listing]
    assert [message_id for message_id, _ in seen] == posted
    assert [body for _, body in seen] == list(range(45))


def test_echo_hides_own_messages_from_lists(zaqar_factory: ZaqarFactory) -> None:
    producer = zaqar_factory()
    consumer = zaqar_factory()
    producer.queue("echo", force_create=True).post({"body": "hello"})
    assert list(producer.queue("echo", auto_create=False).messages()) == []
    assert [m.body for m in producer.queue("echo", auto_create=False).messages(echo=True)] == [
        "hello"
    ]
    assert [m.body for m in consumer.queue("echo", auto_create=False).messages()] == ["hello"]


def test_get_one_and_many(cli: zaqar.Client) -> None:
    queue = cli.queue("getting", force_create=True)
    ids = ids_of(queue.post([{"body": {"k": i}, "ttl": 600} for i in range(4)])["resources"])
    message = queue.message(ids[2])
    assert (message.id, message.body, message.ttl) == (ids[2], {"k": 2}, 600)
    assert message.age >= 0
    many = {m.id: m.body for m in queue.messages(ids[0], ids[3], "0" * 32)}
    assert many == {ids[0]: {"k": 0}, ids[3]: {"k": 3}}
    with pytest.raises(errors.ResourceNotFound):
        queue.message("f" * 32)


def test_delete_one_and_many(cli: zaqar.Client) -> None:
    queue = cli.queue("deleting", force_create=True)
    ids = ids_of(queue.post([{"body": i} for i in range(5)])["resources"])
    queue.message(ids[0]).delete()
    with pytest.raises(errors.ResourceNotFound):
        queue.message(ids[0])
    queue.delete_messages(ids[1], ids[2])
    assert [m.id for m in queue.messages(*ids)] == ids[3:]
    queue.delete_messages(*ids[3:])
    with pytest.raises(errors.ResourceNotFound):
        list(queue.messages(*ids))


def test_pop_takes_unclaimed_messages(cli: zaqar.Client) -> None:
    queue = cli.queue("popping", force_create=True)
    queue.post([{"body": i} for i in range(4)])
    claimed = list(queue.claim(ttl=60, grace=60, limit=1))
    popped = list(queue.pop(count=2))
    assert len(popped) == 2
    assert claimed[0].id not in {m.id for m in popped}
    assert queue.stats["messages"]["total"] == 2
    rest = list(queue.pop(count=5))
    assert [m.id for m in rest] != [claimed[0].id]  # the claimed one is never popped
    assert queue.stats["messages"]["total"] == 1


def test_bad_requests_raise_client_errors(cli: zaqar.Client) -> None:
    queue = cli.queue("bad", force_create=True)
    with pytest.raises(errors.MalformedRequest):
        queue.post({"body": "x", "ttl": 5})  # below the 60 s minimum
    with pytest.raises(errors.MalformedRequest):
        list(queue.messages(limit=21))
