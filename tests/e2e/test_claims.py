"""Claims through python-zaqarclient: create with ttl and grace, get, update, release,
delete a claimed message with its claim."""

from __future__ import annotations

import pytest
from zaqarclient.queues import client as zaqar
from zaqarclient.queues.v2 import core
from zaqarclient.queues.v2.claim import Claim
from zaqarclient.transport import errors


def test_claim_lifecycle(cli: zaqar.Client) -> None:
    queue = cli.queue("work", force_create=True)
    queue.post([{"body": {"job": i}, "ttl": 600} for i in range(6)])

    claim = queue.claim(ttl=120, grace=60, limit=4)
    claimed = list(claim)
    assert len(claimed) == 4
    assert claim.id and all(m.claim_id == claim.id for m in claimed)
    assert claim.ttl == 120

    # GET the claim by id, as another worker holding only the id would.
    fetched = Claim(queue, id=claim.id)
    assert sorted(m.id for m in fetched) == sorted(m.id for m in claimed)
    assert fetched.age >= 0

    # Claimed messages are hidden from plain lists, shown with include_claimed.
    visible = {m.id for m in queue.messages(echo=True)}
    assert visible.isdisjoint(m.id for m in claimed)
    assert len(visible) == 2
    assert len(list(queue.messages(echo=True, include_claimed=True))) == 6

    claim.update(ttl=300, grace=60)
    assert Claim(queue, id=claim.id).ttl == 300

    # A second claim gets only what is left.
    second = list(queue.claim(ttl=60, grace=60, limit=10))
    assert {m.id for m in second} == visible

    # Deleting a claimed message needs its claim id; the client takes it from the href.
    with pytest.raises(errors.ForbiddenError):
        delete_without_claim(cli, "work", claimed[0].id)
    claimed[0].delete()
    with pytest.raises(errors.ResourceNotFound):
        queue.message(claimed[0].id)

    claim.delete()  # release: the rest are free again
    assert {m.id for m in queue.messages(echo=True)} == {m.id for m in claimed[1:]}
    with pytest.raises(errors.ResourceNotFound):
        Claim(queue, id=claim.id).ttl  # noqa: B018


def delete_without_claim(cli: zaqar.Client, queue: str, message_id: str) -> None:
    req, trans = cli._request_and_transport()
    core.message_delete(trans, req, queue, message_id)


def test_claim_on_empty_queue_holds_nothing(cli: zaqar.Client) -> None:
    queue = cli.queue("idle", force_create=True)
    claim = queue.claim(ttl=60, grace=60)
    assert claim.id is None
    assert list(claim) == []


def test_claim_without_ttl_is_refused(cli: zaqar.Client) -> None:
    # The client sends null for unset values, which the server answers with 400.
    queue = cli.queue("nulls", force_create=True)
    queue.post({"body": 1})
    with pytest.raises(errors.MalformedRequest):
        queue.claim(limit=1)
