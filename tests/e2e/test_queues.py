"""Queues through python-zaqarclient: create, exists, list with paging, metadata, stats,
purge, delete."""

from __future__ import annotations

from zaqarclient.queues import client as zaqar

from tests.e2e.conftest import ZaqarFactory

DEFAULT_METADATA = {
    "_max_messages_post_size": 262144,
    "_default_message_ttl": 3600,
    "_default_message_delay": 0,
    "_dead_letter_queue": None,
    "_dead_letter_queue_messages_ttl": None,
    "_max_claim_count": None,
    "_enable_encrypt_messages": False,
}


def test_create_exists_and_delete(cli: zaqar.Client) -> None:
    queue = cli.queue("orders", force_create=True)
    assert queue.exists()
    names = [q.name for q in cli.queues()[0]]
    assert names == ["orders"]
    queue.delete()
    assert [q.name for q in cli.queues()[0]] == []
    # Lazy queues: reading a deleted queue is not an error, it shows the defaults.
    assert cli.queue("orders", auto_create=False).metadata(force_reload=True) == DEFAULT_METADATA


def test_list_pages_follow_links_in_name_order(cli: zaqar.Client) -> None:
    names = sorted(f"q-{i:02d}" for i in range(23))
    for name in reversed(names):
        cli.queue(name, force_create=True)
    listing, count = cli.queues(limit=5, with_count=True)
    assert count == 23
    seen = [q.name for q in listing.stream()]  # follows links[rel=next] until an empty page
    assert seen == names


def test_detailed_list_carries_metadata(cli: zaqar.Client) -> None:
    cli.queue("detailed", force_create=True).metadata(new_meta={"colour": "blue"})
    queues = list(cli.queues(detailed=True)[0])
    assert [q.name for q in queues] == ["detailed"]
    assert queues[0].metadata()["colour"] == "blue"


def test_metadata_get_and_update_by_patch(cli: zaqar.Client) -> None:
    queue = cli.queue("meta", force_create=True)
    assert queue.metadata(force_reload=True) == DEFAULT_METADATA
    # The client turns a new dict into JSON-patch add/replace/remove operations.
    updated = queue.metadata(new_meta={"description": "billing", "_default_message_ttl": 120})
    assert updated["description"] == "billing"
    assert updated["_default_message_ttl"] == 120
    assert queue.metadata(force_reload=True) == updated
    replaced = queue.metadata(new_meta={"description": "invoices", "_default_message_ttl": 120})
    assert replaced["description"] == "invoices"
    # A message posted without ttl takes the queue's default.
    queue.post({"body": "x"})
    assert [m.ttl for m in queue.messages(echo=True)] == [120]


def test_stats_count_free_and_claimed(cli: zaqar.Client) -> None:
    queue = cli.queue("stats", force_create=True)
    assert queue.stats == {"messages": {"claimed": 0, "free": 0, "total": 0}}
    queue.post([{"body": i, "ttl": 300} for i in range(3)])
    queue.claim(ttl=60, grace=60, limit=1)
    stats = queue.stats["messages"]
    assert (stats["claimed"], stats["free"], stats["total"]) == (1, 2, 3)
    assert stats["oldest"]["href"].startswith("/v2/queues/stats/messages/")
    assert stats["newest"]["age"] >= 0


def test_purge_removes_messages_keeps_metadata(cli: zaqar.Client) -> None:
    queue = cli.queue("purged", force_create=True)
    queue.metadata(new_meta={"keep": "me"})
    queue.post([{"body": i} for i in range(5)])
    queue.claim(ttl=60, grace=60, limit=2)
    queue.purge(resource_types=["messages"])
    assert queue.stats["messages"]["total"] == 0
    assert queue.metadata(force_reload=True)["keep"] == "me"
    queue.post({"body": "again"})
    queue.purge()  # no body: messages and subscriptions
    assert queue.stats["messages"]["total"] == 0


def test_projects_are_isolated(zaqar_factory: ZaqarFactory) -> None:
    mine = zaqar_factory()
    other = zaqar_factory(project=f"other {id(mine)}")
    mine.queue("private", force_create=True).post({"body": "secret"})
    assert list(other.queues()[0]) == []
    assert list(other.queue("private", auto_create=False).messages(echo=True)) == []
    assert other.queue("private", auto_create=False).stats["messages"]["total"] == 0
