"""Guarantee 5 as a property: no request reads or changes another project's data.

A hypothesis state machine drives two projects (``a`` and ``b``) over real HTTP against the
running suite: in noauth mode (fresh projects per sequence, named by ``X-Project-ID``) on
SQLite and on PostgreSQL, and in Keystone mode (alice's and bob's tokens; queue names get a
prefix per sequence there). Both use the same few queue names, so their queues often share a
name. Each sequence starts with queues, messages, a claim and a subscription in both projects;
each step is then one request by one project: create, delete or purge a queue, post, claim,
get/renew/release claims, delete messages by id (with and without the owner's claim id), bulk
delete, pop, get by id and by ids, metadata patch, subscriptions (create, get, update,
confirm, delete), and listings with markers. Rules
that address a resource by id draw the id from everything either project created, so a
project often uses the other's message, claim and subscription ids and listing markers.

A model per project predicts what that project sees. Every answer is checked against the
acting project's model (a request with the other project's id must answer as for an id that
does not exist: 404, 204 or an empty page, never the other's data), and after every step
both projects' whole views (queue list, metadata, stats, messages with claimed ones, claims,
subscriptions) must equal their models: what one project did never shows in, or changes,
the other's view.

Bounded and deterministic for CI: a fixed number of sequences and steps, derandomized. A
bigger campaign: ``TIDINGS_ISOLATION_EXAMPLES=200 TIDINGS_ISOLATION_STEPS=40``. A failure is
shrunk to a short sequence, which replays requests: allow it a few minutes.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.api.conftest import CLIENT_ID
from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.suite import API_APP, Suite
from tidings.common.validation import PATCH_CONTENT_TYPE

pytestmark = pytest.mark.slow

PROJECTS = ("a", "b")
QUEUE_NAMES = ("alpha", "beta", "gamma")
SUBSCRIBERS = ("http://127.0.0.1:9/one", "http://127.0.0.1:9/two")
PURGE_KINDS: tuple[list[str] | None, ...] = (
    None,
    ["messages"],
    ["subscriptions"],
    ["messages", "subscriptions"],
)
CLAIM_TTL = 600  # no claim or message expires during a run
MESSAGE_TTL = 3600

projects = st.sampled_from(PROJECTS)
names = st.sampled_from(QUEUE_NAMES)


@dataclass(frozen=True)
class Ref:
    """A resource one project created: its owner, its queue and its id (or marker)."""

    project: str
    queue: str
    id: str


@dataclass
class Subscription:
    subscriber: str
    options: dict[str, Any] = field(default_factory=dict)
    confirmed: bool = False


@dataclass
class QueueModel:
    metadata: dict[str, Any] = field(default_factory=dict)
    messages: dict[str, Any] = field(default_factory=dict)  # id -> body, in post order
    claims: dict[str, list[str]] = field(default_factory=dict)  # claim id -> its messages

    def claim_of(self, message_id: str) -> str | None:
        for claim_id, held in self.claims.items():
            if message_id in held:
                return claim_id
        return None

    def unclaimed(self) -> list[str]:
        held = {m for ids in self.claims.values() for m in ids}
        return [m for m in self.messages if m not in held]

    def remove(self, message_id: str) -> None:
        self.messages.pop(message_id, None)
        for held in self.claims.values():
            if message_id in held:
                held.remove(message_id)


@dataclass
class ProjectModel:
    queues: dict[str, QueueModel] = field(default_factory=dict)
    # Subscriptions outlive their queue (spec 2.5.5), so they are kept per queue name.
    subscriptions: dict[str, dict[str, Subscription]] = field(default_factory=dict)

    def queue(self, name: str) -> QueueModel:
        """The queue, created lazily as posting and subscribing do."""
        return self.queues.setdefault(name, QueueModel())

    def subs(self, name: str) -> dict[str, Subscription]:
        return self.subscriptions.setdefault(name, {})


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, (response.request.url, response.text)


@dataclass(frozen=True)
class Tenancy:
    """How the two projects authenticate, and whether their queue names need a prefix of
    their own (with fixed Keystone projects, each sequence must start from empty queues)."""

    api_url: str
    headers: Callable[[str, str], dict[str, str]]  # (project label, run id) -> headers
    prefixed: bool


class IsolationMachine(RuleBasedStateMachine):
    tenancy: ClassVar[Tenancy]
    steps_run: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        run = uuid.uuid4().hex[:10]
        self.prefix = f"{run}-" if self.tenancy.prefixed else ""
        self.http = {
            label: httpx.Client(
                base_url=self.tenancy.api_url,
                headers=self.tenancy.headers(label, run),
                timeout=10.0,
            )
            for label in PROJECTS
        }
        self.models = {label: ProjectModel() for label in PROJECTS}
        self.messages: list[Ref] = []
        self.claims: list[Ref] = []
        self.subscriptions: list[Ref] = []
        self.markers: list[Ref] = []
        self.counter = 0

    def path(self, name: str, suffix: str = "") -> str:
        return f"/v2/queues/{self.prefix}{name}{suffix}"

    def queue_filter(self) -> dict[str, str]:
        """Lists only this sequence's queues (``name`` matches a part of the name)."""
        return {"name": self.prefix} if self.prefix else {}

    def teardown(self) -> None:
        if self.prefix:  # the Keystone projects are shared with other tests: leave them clean
            for ref in self.subscriptions:
                self.http[ref.project].delete(self.path(ref.queue, f"/subscriptions/{ref.id}"))
            for label in PROJECTS:
                for name in QUEUE_NAMES:
                    self.http[label].delete(self.path(name))
        for http in self.http.values():
            http.close()

    @initialize(
        a_queues=st.sets(names, min_size=1), b_queues=st.sets(names, min_size=1), claimed=names
    )
    def populate(self, a_queues: set[str], b_queues: set[str], claimed: str) -> None:
        """Both projects start with queues (often of the same names) holding messages, a
        claim and a subscription, so that every rule finds something to read or change."""
        for p, chosen in (("a", a_queues), ("b", b_queues)):
            for name in sorted(chosen):
                self.create_queue(p, name, 0)
                self.post_messages(p, name, 3)
            self.claim(p, claimed, 2)
            self.subscribe(p, sorted(chosen)[0], SUBSCRIBERS[0])

    # ------------------------------------------------------------------ queues

    @rule(p=projects, name=names, tag=st.integers(0, 9))
    def create_queue(self, p: str, name: str, tag: int) -> None:
        model = self.models[p]
        response = self.http[p].put(self.path(name), json={"owner": p, "tag": tag})
        if name in model.queues:  # an existing queue keeps its metadata (spec 2.5.2)
            assert response.status_code == 204, response.text
        else:
            assert response.status_code == 201, response.text
            model.queues[name] = QueueModel(metadata={"owner": p, "tag": tag})

    @rule(p=projects, name=names, key=st.sampled_from(("owner", "tag", "extra")))
    def patch_metadata(self, p: str, name: str, key: str) -> None:
        self.counter += 1
        value = f"{p}-{self.counter}"
        response = self.http[p].patch(
            self.path(name),
            json=[{"op": "add", "path": f"/metadata/{key}", "value": value}],
            headers={"Content-Type": PATCH_CONTENT_TYPE},
        )
        queue = self.models[p].queues.get(name)
        if queue is None:
            assert_not_found(response)
            return
        assert response.status_code == 200, response.text
        queue.metadata[key] = value
        assert response.json()[key] == value

    @rule(p=projects, name=names, how=st.sampled_from(("delete", *PURGE_KINDS)))
    def destroy(self, p: str, name: str, how: str | list[str] | None) -> None:
        """Delete the queue, or purge it (of messages, subscriptions or both)."""
        if how == "delete":
            self.delete_queue(p, name)
        else:
            assert not isinstance(how, str)
            self.purge(p, name, how)

    def delete_queue(self, p: str, name: str) -> None:
        assert self.http[p].delete(self.path(name)).status_code == 204
        self.models[p].queues.pop(name, None)

    def purge(self, p: str, name: str, kinds: list[str] | None) -> None:
        body = None if kinds is None else {"resource_types": kinds}
        response = self.http[p].post(self.path(name, "/purge"), json=body)
        assert response.status_code == 204, response.text
        model = self.models[p]
        queue = model.queues.get(name)
        if queue is None:  # nothing is purged from a queue that does not exist
            return
        if kinds is None or "messages" in kinds:
            queue.messages.clear()
            queue.claims.clear()
        if kinds is None or "subscriptions" in kinds:
            model.subs(name).clear()

    @rule(p=projects, data=st.data())
    def list_queues_after_a_marker(self, p: str, data: st.DataObject) -> None:
        """Queue markers are names: any name, the other project's too, pages only mine."""
        marker = data.draw(st.sampled_from(QUEUE_NAMES))
        response = self.http[p].get(
            "/v2/queues",
            params={"marker": self.prefix + marker, "limit": "2", **self.queue_filter()},
        )
        assert response.status_code == 200, response.text
        listed = [queue["name"].removeprefix(self.prefix) for queue in response.json()["queues"]]
        assert listed == sorted(n for n in self.models[p].queues if n > marker)[:2]

    # ------------------------------------------------------------------ messages

    @rule(p=projects, name=names, count=st.integers(1, 4))
    def post_messages(self, p: str, name: str, count: int) -> None:
        bodies = []
        for _ in range(count):
            self.counter += 1
            bodies.append({"from": p, "n": self.counter})
        response = self.http[p].post(
            self.path(name, "/messages"),
            json={"messages": [{"body": body, "ttl": MESSAGE_TTL} for body in bodies]},
        )
        assert response.status_code == 201, response.text
        ids = [href.rsplit("/", 1)[1] for href in response.json()["resources"]]
        queue = self.models[p].queue(name)
        for message_id, body in zip(ids, bodies, strict=True):
            queue.messages[message_id] = body
            self.messages.append(Ref(p, name, message_id))

    def owned_message(self, p: str, ref: Ref) -> QueueModel | None:
        """The queue holding the referenced message if it is one of ``p``'s live messages."""
        if ref.project != p:
            return None
        queue = self.models[p].queues.get(ref.queue)
        return queue if queue is not None and ref.id in queue.messages else None

    @precondition(lambda self: self.messages)
    @rule(p=projects, data=st.data())
    def get_message(self, p: str, data: st.DataObject) -> None:
        ref = data.draw(st.sampled_from(self.messages))
        response = self.http[p].get(self.path(ref.queue, f"/messages/{ref.id}"))
        queue = self.owned_message(p, ref)
        if queue is None:
            assert_not_found(response)
        else:
            assert response.status_code == 200, response.text
            assert response.json()["body"] == queue.messages[ref.id]

    @precondition(lambda self: self.messages)
    @rule(p=projects, name=names, data=st.data())
    def get_messages_by_ids(self, p: str, name: str, data: st.DataObject) -> None:
        refs = data.draw(st.lists(st.sampled_from(self.messages), min_size=1, max_size=4))
        ids = list(dict.fromkeys(ref.id for ref in refs))
        response = self.http[p].get(self.path(name, "/messages"), params={"ids": ",".join(ids)})
        queue = self.models[p].queues.get(name)
        expected = {m: queue.messages[m] for m in ids if queue and m in queue.messages}
        if not expected:
            assert_not_found(response)
            return
        assert response.status_code == 200, response.text
        assert {m["id"]: m["body"] for m in response.json()["messages"]} == expected

    @precondition(lambda self: self.messages)
    @rule(p=projects, data=st.data(), with_claim=st.booleans())
    def delete_message(self, p: str, data: st.DataObject, with_claim: bool) -> None:
        ref = data.draw(st.sampled_from(self.messages))
        queue = self.owned_message(p, ref)
        # With a claim id: the owner's own claim, whichever project is asking.
        owner_queue = self.models[ref.project].queues.get(ref.queue)
        owner_claim = owner_queue.claim_of(ref.id) if owner_queue else None
        params = {"claim_id": owner_claim} if with_claim and owner_claim else {}
        response = self.http[p].delete(self.path(ref.queue, f"/messages/{ref.id}"), params=params)
        if queue is None:
            # Not mine: as for a message that does not exist. A 403 would tell that the other
            # project's message exists and is claimed.
            assert response.status_code in (204, 400), response.text
            return
        if owner_claim is not None and not params:
            assert response.status_code == 403, response.text
            return
        assert response.status_code == 204, response.text
        queue.remove(ref.id)

    @precondition(lambda self: self.messages)
    @rule(p=projects, name=names, data=st.data())
    def delete_messages_by_ids(self, p: str, name: str, data: st.DataObject) -> None:
        refs = data.draw(st.lists(st.sampled_from(self.messages), min_size=1, max_size=4))
        ids = list(dict.fromkeys(ref.id for ref in refs))
        response = self.http[p].delete(self.path(name, "/messages"), params={"ids": ",".join(ids)})
        assert response.status_code == 204, response.text
        queue = self.models[p].queues.get(name)
        for message_id in ids:  # regardless of claims (spec 2.7.4)
            if queue is not None:
                queue.remove(message_id)

    @rule(p=projects, name=names, count=st.integers(1, 3))
    def pop(self, p: str, name: str, count: int) -> None:
        response = self.http[p].delete(self.path(name, "/messages"), params={"pop": count})
        assert response.status_code == 200, response.text
        popped = [m["id"] for m in response.json()["messages"]]
        queue = self.models[p].queues.get(name)
        expected = queue.unclaimed()[:count] if queue else []
        assert popped == expected
        for message_id in popped:
            assert queue is not None
            queue.remove(message_id)

    @precondition(lambda self: self.markers)
    @rule(p=projects, data=st.data())
    def list_messages_after_a_marker(self, p: str, data: st.DataObject) -> None:
        """A marker from any listing, the other project's too: only my messages, in order."""
        ref = data.draw(st.sampled_from(self.markers))
        response = self.http[p].get(
            self.path(ref.queue, "/messages"),
            params={"marker": ref.id, "echo": "true", "include_claimed": "true"},
        )
        assert response.status_code == 200, response.text
        listed = [m["id"] for m in response.json()["messages"]]
        queue = self.models[p].queues.get(ref.queue)
        mine = list(queue.messages) if queue else []
        assert listed == [m for m in mine if m in set(listed)], "not mine or out of order"

    # ------------------------------------------------------------------ claims

    @rule(p=projects, name=names, limit=st.integers(1, 3))
    def claim(self, p: str, name: str, limit: int) -> None:
        response = self.http[p].post(
            self.path(name, "/claims"),
            params={"limit": limit},
            json={"ttl": CLAIM_TTL, "grace": 60},
        )
        queue = self.models[p].queues.get(name)
        expected = queue.unclaimed()[:limit] if queue else []
        if not expected:
            assert response.status_code == 204, response.text
            return
        assert response.status_code == 201, response.text
        assert [m["id"] for m in response.json()["messages"]] == expected
        assert queue is not None
        claim_id = response.headers["Location"].rsplit("/", 1)[1]
        queue.claims[claim_id] = list(expected)
        self.claims.append(Ref(p, name, claim_id))

    def owned_claim(self, p: str, ref: Ref) -> list[str] | None:
        """The messages still held by the referenced claim if it is one of ``p``'s."""
        if ref.project != p:
            return None
        queue = self.models[p].queues.get(ref.queue)
        return queue.claims.get(ref.id) if queue is not None else None

    @precondition(lambda self: self.claims)
    @rule(p=projects, data=st.data(), action=st.sampled_from(("get", "renew", "release")))
    def use_claim(self, p: str, data: st.DataObject, action: str) -> None:
        """Read, renew or release a claim, mine or the other project's."""
        ref = data.draw(st.sampled_from(self.claims))
        if action == "get":
            self.get_claim(p, ref)
        elif action == "renew":
            self.renew_claim(p, ref)
        else:
            self.release_claim(p, ref)

    def get_claim(self, p: str, ref: Ref) -> None:
        response = self.http[p].get(self.path(ref.queue, f"/claims/{ref.id}"))
        held = self.owned_claim(p, ref)
        if not held:  # not mine, released, or without messages (spec 2.8.2)
            assert_not_found(response)
            return
        assert response.status_code == 200, response.text
        assert sorted(m["id"] for m in response.json()["messages"]) == sorted(held)

    def renew_claim(self, p: str, ref: Ref) -> None:
        response = self.http[p].patch(
            self.path(ref.queue, f"/claims/{ref.id}"), json={"ttl": CLAIM_TTL, "grace": 60}
        )
        held = self.owned_claim(p, ref)
        if held:
            assert response.status_code == 204, response.text
        elif held is None:
            assert_not_found(response)
        else:  # my claim, but all its messages are gone: renewing it may or may not work
            assert response.status_code in (204, 404), response.text

    def release_claim(self, p: str, ref: Ref) -> None:
        response = self.http[p].delete(self.path(ref.queue, f"/claims/{ref.id}"))
        assert response.status_code == 204, response.text
        if self.owned_claim(p, ref) is not None:
            self.models[p].queues[ref.queue].claims.pop(ref.id)

    # ------------------------------------------------------------------ subscriptions

    @rule(p=projects, name=names, subscriber=st.sampled_from(SUBSCRIBERS))
    def subscribe(self, p: str, name: str, subscriber: str) -> None:
        model = self.models[p]
        response = self.http[p].post(
            self.path(name, "/subscriptions"),
            json={"subscriber": subscriber, "ttl": 3600, "options": {"owner": p}},
        )
        existing = [
            (sid, sub) for sid, sub in model.subs(name).items() if sub.subscriber == subscriber
        ]
        model.queue(name)  # queues are lazy: subscribing creates it
        if existing and existing[0][1].confirmed:
            assert response.status_code == 409, response.text
            return
        assert response.status_code == 201, response.text
        subscription_id = response.json()["subscription_id"]
        if existing:  # unconfirmed: the same subscription, unchanged (spec 2.9.2)
            assert subscription_id == existing[0][0]
            return
        model.subs(name)[subscription_id] = Subscription(subscriber, {"owner": p})
        self.subscriptions.append(Ref(p, name, subscription_id))

    def owned_subscription(self, p: str, ref: Ref) -> Subscription | None:
        if ref.project != p:
            return None
        return self.models[p].subs(ref.queue).get(ref.id)

    @precondition(lambda self: self.subscriptions)
    @rule(
        p=projects,
        data=st.data(),
        action=st.sampled_from(("get", "update", "confirm", "unconfirm", "delete")),
    )
    def use_subscription(self, p: str, data: st.DataObject, action: str) -> None:
        """Read, change, confirm or delete a subscription, mine or the other project's."""
        ref = data.draw(st.sampled_from(self.subscriptions))
        if action == "get":
            self.get_subscription(p, ref)
        elif action == "update":
            self.update_subscription(p, ref)
        elif action == "delete":
            self.delete_subscription(p, ref)
        else:
            self.confirm_subscription(p, ref, action == "confirm")

    def get_subscription(self, p: str, ref: Ref) -> None:
        response = self.http[p].get(self.path(ref.queue, f"/subscriptions/{ref.id}"))
        sub = self.owned_subscription(p, ref)
        if sub is None:
            assert_not_found(response)
            return
        assert response.status_code == 200, response.text
        got = response.json()
        assert (got["subscriber"], got["options"]) == (sub.subscriber, sub.options)

    def update_subscription(self, p: str, ref: Ref) -> None:
        self.counter += 1
        options = {"owner": p, "n": self.counter}
        response = self.http[p].patch(
            self.path(ref.queue, f"/subscriptions/{ref.id}"), json={"options": options}
        )
        sub = self.owned_subscription(p, ref)
        if sub is None:
            assert_not_found(response)
            return
        assert response.status_code == 204, response.text
        sub.options = options

    def confirm_subscription(self, p: str, ref: Ref, confirmed: bool) -> None:
        response = self.http[p].put(
            self.path(ref.queue, f"/subscriptions/{ref.id}/confirm"),
            json={"confirmed": confirmed},
        )
        sub = self.owned_subscription(p, ref)
        if sub is None:
            assert_not_found(response)
            return
        assert response.status_code == 204, response.text
        sub.confirmed = confirmed

    def delete_subscription(self, p: str, ref: Ref) -> None:
        response = self.http[p].delete(self.path(ref.queue, f"/subscriptions/{ref.id}"))
        assert response.status_code == 204, response.text
        if self.owned_subscription(p, ref) is not None:
            self.models[p].subs(ref.queue).pop(ref.id)

    # ------------------------------------------------------------------ the views

    @invariant()
    def each_project_sees_exactly_its_model(self) -> None:
        IsolationMachine.steps_run += 1
        for label in PROJECTS:
            self.check_view(label)

    def check_view(self, p: str) -> None:
        http, model = self.http[p], self.models[p]
        assert self.queue_names(http) == sorted(model.queues), p
        if not self.prefix:  # the project holds only this sequence's queues: count them
            counted = http.get("/v2/queues", params={"with_count": "true", "limit": "1"})
            assert counted.json().get("count", 0) == len(model.queues), p  # absent when 0
        for name in QUEUE_NAMES:
            queue = model.queues.get(name, QueueModel())
            base = self.path(name)
            metadata = http.get(base).json()
            assert {k: v for k, v in metadata.items() if not k.startswith("_")} == queue.metadata
            stats = http.get(f"{base}/stats").json()["messages"]
            claimed = sum(len(held) for held in queue.claims.values())
            assert (stats["total"], stats["claimed"]) == (len(queue.messages), claimed), (p, name)
            if queue.messages:  # the ends are mine too
                ends = [stats[end]["href"].rsplit("/", 1)[1] for end in ("oldest", "newest")]
                assert ends == [next(iter(queue.messages)), list(queue.messages)[-1]], (p, name)
            assert self.message_list(p, name) == list(queue.messages.items()), (p, name)
            for claim_id, held in queue.claims.items():
                got = http.get(f"{base}/claims/{claim_id}")
                if held:
                    assert got.status_code == 200, got.text
                    assert sorted(m["id"] for m in got.json()["messages"]) == sorted(held)
                else:  # a claim whose messages are all gone is gone too (spec 2.8.2)
                    assert_not_found(got)
            listed = http.get(f"{base}/subscriptions", params={"limit": 20}).json()
            subs = {s["id"]: (s["subscriber"], s["options"]) for s in listed["subscriptions"]}
            expected = {sid: (s.subscriber, s.options) for sid, s in model.subs(name).items()}
            assert subs == expected, (p, name)

    def queue_names(self, http: httpx.Client) -> list[str]:
        found: list[str] = []
        page = http.get("/v2/queues", params={"limit": "2", **self.queue_filter()}).json()
        while page["queues"]:
            found += [queue["name"].removeprefix(self.prefix) for queue in page["queues"]]
            page = http.get(page["links"][0]["href"]).json()
        return found

    def message_list(self, p: str, name: str) -> list[tuple[str, Any]]:
        """Every message of the queue, claimed ones too, paging by marker; the markers are
        kept for the other project to try."""
        found: list[tuple[str, Any]] = []
        params = {"echo": "true", "include_claimed": "true", "limit": "4"}
        page = self.http[p].get(self.path(name, "/messages"), params=params).json()
        while page["messages"]:
            found += [(m["id"], m["body"]) for m in page["messages"]]
            href = page["links"][0]["href"]
            marker = httpx.URL(href).params["marker"]
            self.markers.append(Ref(p, name, marker))
            page = self.http[p].get(href).json()
        return found


def examples() -> int:
    return int(os.environ.get("TIDINGS_ISOLATION_EXAMPLES", "10"))


def steps() -> int:
    return int(os.environ.get("TIDINGS_ISOLATION_STEPS", "25"))


def run_isolation(tenancy: Tenancy, examples: int) -> None:
    IsolationMachine.tenancy = tenancy
    IsolationMachine.steps_run = 0
    started = time.monotonic()
    run_state_machine_as_test(
        IsolationMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps(),
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    elapsed = time.monotonic() - started
    print(
        f"\nisolation property: {examples} sequences, {IsolationMachine.steps_run} checked "
        f"states in {elapsed:.1f} s"
    )


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_no_request_reads_or_changes_another_projects_data(
    request: pytest.FixtureRequest, database: str
) -> None:
    """noauth: each sequence has two fresh projects, named by ``X-Project-ID``; on both
    databases (PostgreSQL runs its own compiled statements)."""
    running: Suite = request.getfixturevalue("suite" if database == "sqlite" else "pg_suite")

    def headers(label: str, run: str) -> dict[str, str]:
        return {"X-Project-ID": f"iso-{run}-{label}", "Client-ID": CLIENT_ID}

    run_isolation(Tenancy(running.api_url, headers, prefixed=False), examples())


@pytest.fixture(scope="module")
def keystone_api(
    suite: Suite, keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An api in Keystone mode on the session suite's storage (through its NATS)."""
    services = Suite(
        tmp_path_factory.mktemp("isolation-keystone"),
        suite.nats_url,
        storage_replicas=0,
        api_replicas=0,
    )
    api = services.add("api-keystone", API_APP, env=keystone.service_settings())
    try:
        services.start()
        yield api.url
    finally:
        services.stop()


def test_no_request_reads_or_changes_another_projects_data_with_keystone(
    keystone: KeystoneServer, keystone_api: str
) -> None:
    """Keystone: alice's and bob's tokens decide the projects. Both also send bob's project id
    in ``X-Project-ID``: an api that trusted the header over the token would put both in one
    project, and the views would show it."""
    users = {"a": "alice", "b": "bob"}
    tokens = {label: keystone.token(user) for label, user in users.items()}

    def headers(label: str, run: str) -> dict[str, str]:
        return {
            "X-Auth-Token": tokens[label],
            "X-Project-ID": keystone.project_ids["bob"],
            "Client-ID": CLIENT_ID,
        }

    # The projects are the fixture's, shared with tests/auth: names get a prefix per sequence.
    run_isolation(Tenancy(keystone_api, headers, prefixed=True), max(1, examples() // 2))
