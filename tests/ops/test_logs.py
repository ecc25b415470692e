"""Logs: one JSON object a line in production (the ops suite), readable text in development
(the shared suite), and one request id (and trace id) from the gateway through the api and NATS
into storage and the notifier's deliveries."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from tests.fixtures.suite import Suite
from tests.notifier.receivers import HttpReceiver
from tests.ops.conftest import OpsSuite, headers, new_project, wait_for
from tidings.common.logging import UVICORN_LOGGERS, configure_logging, request_id_var

JSON_KEYS = {"ts", "level", "service", "logger", "request_id", "message"}


def json_lines(path: Path) -> list[dict[str, Any]]:
    """The records of a log: every line from the first JSON one on must be JSON.

    Lines before it are uvicorn's, written before the app set up logging (the images hide
    them with ``--log-level warning``)."""
    records: list[dict[str, Any]] = []
    for line in path.read_text().splitlines():
        if not records and not line.startswith("{"):
            continue
        record = json.loads(line)  # fails the test on a line that is not JSON
        assert isinstance(record, dict)
        records.append(record)
    return records


def test_production_logs_are_json_lines_naming_their_service(
    ops: OpsSuite, rest: httpx.Client
) -> None:
    rest.get("/v2/queues", headers=headers(new_project()))
    for name, service in ops.services.items():
        records = json_lines(ops.log_path(service))
        assert records, f"{name} wrote no JSON log line"
        for record in records:
            assert set(record) >= JSON_KEYS, record
            assert record["service"] == name
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", record["ts"])


def storage_records_with(ops: OpsSuite, request_id: str) -> list[dict[str, Any]]:
    return [r for r in json_lines(ops.log_path(ops.storage)) if r["request_id"] == request_id]


def test_one_request_id_from_the_gateway_through_nats_into_storage(
    ops: OpsSuite, rest: httpx.Client
) -> None:
    gateway_id = uuid.uuid4().hex  # as ingress-nginx sends it in X-Request-ID
    queue = f"traced-{uuid.uuid4().hex[:6]}"
    response = rest.put(
        f"/v2/queues/{queue}", headers=headers(new_project(), **{"X-Request-ID": gateway_id})
    )
    assert response.status_code == 201
    request_id = response.headers["X-Openstack-Request-Id"]
    assert request_id == f"req-{gateway_id}"
    wait_for(lambda: bool(storage_records_with(ops, request_id)))
    (served,) = storage_records_with(ops, request_id)
    assert served["logger"] == "tidings.common.rpc"
    assert served["message"].startswith("served queue.create: ok in ")


def test_without_a_gateway_id_the_api_makes_one_and_storage_logs_it(
    ops: OpsSuite, rest: httpx.Client
) -> None:
    # A malformed gateway id (a newline could forge log lines) is replaced, not adopted.
    response = rest.get("/v2/queues", headers=headers(new_project(), **{"X-Request-ID": "short"}))
    assert response.status_code in (200, 204)
    request_id = response.headers["X-Openstack-Request-Id"]
    assert re.match(r"^req-[0-9a-f-]{36}$", request_id)
    wait_for(lambda: bool(storage_records_with(ops, request_id)))


def records_with(ops: OpsSuite, service: str, request_id: str) -> list[dict[str, Any]]:
    log = ops.log_path(ops.services[service])
    return [r for r in json_lines(log) if r["request_id"] == request_id]


def test_the_request_id_and_trace_of_a_post_reach_its_deliveries(
    ops: OpsSuite, rest: httpx.Client, receiver: HttpReceiver
) -> None:
    """Tracing is off in this suite: the gateway's traceparent is passed along unchanged, to
    the webhook request and into every log line of the post, its storage call and delivery."""
    assert ops.notifier is not None, "the notifier is not installed"
    project, queue = new_project(), f"hooked-{uuid.uuid4().hex[:6]}"
    subscribed = rest.post(
        f"/v2/queues/{queue}/subscriptions",
        json={"subscriber": f"{receiver.url}/hook", "ttl": 600},
        headers=headers(project),
    )
    assert subscribed.status_code == 201, subscribed.text
    receiver.behaviour.plan = [503]  # the first attempt fails and is retried at once
    gateway_id = uuid.uuid4().hex
    trace_id = uuid.uuid4().hex
    traceparent = f"00-{trace_id}-{uuid.uuid4().hex[:16]}-01"
    posted = rest.post(
        f"/v2/queues/{queue}/messages",
        json={"messages": [{"body": {"order": 7}, "ttl": 300}]},
        headers=headers(project, **{"X-Request-ID": gateway_id, "traceparent": traceparent}),
    )
    assert posted.status_code == 201, posted.text
    request_id = f"req-{gateway_id}"
    assert posted.headers["X-Openstack-Request-Id"] == request_id

    attempts = receiver.wait_for(lambda got: len(got) >= 2, timeout=15)
    assert [a.headers["traceparent"] for a in attempts] == [traceparent, traceparent]
    delivery_id = attempts[0].headers["X-Tidings-Delivery-Id"]

    def notifier_lines() -> list[dict[str, Any]]:
        return records_with(ops, "notifier", request_id)

    wait_for(lambda: any(r["message"].startswith("delivered ") for r in notifier_lines()))
    lines = notifier_lines()
    assert all(r["trace_id"] == trace_id for r in lines), lines
    messages = [(r["logger"], r["level"], r["message"]) for r in lines]
    consumed = [m for m in messages if m[0] == "tidings.notifier.consumer"]
    assert len(consumed) == 1 and "1 messages posted to" in consumed[0][2], messages
    assert consumed[0][2].endswith(f"/{queue}, 1 deliveries")
    (retried,) = [m for m in messages if "next attempt in" in m[2]]
    assert retried[:2] == ("tidings.notifier.dispatcher", "INFO")
    assert f"delivery {delivery_id} to {receiver.url}/hook, attempt 1: HTTP 503" in retried[2]
    (delivered,) = [m for m in messages if m[2].startswith("delivered ")]
    assert delivered[2] == f"delivered {delivery_id} to {receiver.url}/hook (attempt 2)"

    (served,) = [
        r
        for r in records_with(ops, "storage", request_id)
        if r["message"].startswith("served message.post")
    ]
    assert served["trace_id"] == trace_id


async def test_a_websocket_push_logs_the_request_id_of_its_post(ops: OpsSuite) -> None:
    project, queue = new_project(), f"pushed-{uuid.uuid4().hex[:6]}"
    url = ops.websocket.url.replace("http://", "ws://") + "/"
    async with connect(url, additional_headers=headers(project)) as socket:
        subscribe = {"queue_name": queue, "ttl": 60}
        await socket.send(
            json.dumps(
                {"action": "subscription_create", "headers": headers(project), "body": subscribe}
            )
        )
        reply = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert reply["headers"]["status"] == 201, reply
        gateway_id = uuid.uuid4().hex
        async with httpx.AsyncClient(base_url=ops.api.url, timeout=10) as rest:
            posted = await rest.post(
                f"/v2/queues/{queue}/messages",
                json={"messages": [{"body": "hi", "ttl": 60}]},
                headers=headers(project, **{"X-Request-ID": gateway_id}),
            )
        assert posted.status_code == 201, posted.text
        push = json.loads(await asyncio.wait_for(socket.recv(), 5))
        assert push["body"] == "hi", push

    def pushed() -> list[dict[str, Any]]:
        return records_with(ops, "websocket", f"req-{gateway_id}")

    wait_for(lambda: bool(pushed()))
    (line,) = pushed()
    assert line["logger"] == "tidings.websocket.fanout"
    assert line["message"].endswith(": 1 messages to push to 1 sockets")


def test_development_logs_are_readable_text(suite: Suite) -> None:
    """The shared suite runs with the default TIDINGS_LOG_FORMAT=text."""
    response = httpx.get(f"{suite.api_url}/v2/queues", headers=headers(new_project()))
    assert response.status_code in (200, 204)
    for service in (suite.storage[0], suite.api[0]):
        text = (suite.root / "logs" / f"{service.name}.log").read_text()
        assert not any(line.startswith("{") for line in text.splitlines())
        pattern = rf"^\S+ \S+ {service.name.split('-')[0]} (INFO|WARNING) \S+ \[.+\] "
        assert re.search(pattern, text, re.MULTILINE), text[-2000:]


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state: put pytest's back afterwards."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    saved = {
        name: (lg.handlers[:], lg.propagate, lg.level)
        for name in UVICORN_LOGGERS
        for lg in [logging.getLogger(name)]
    }
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers[:], level = saved_root
        root.setLevel(level)
        for name, (handlers, propagate, lvl) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.propagate = propagate
            lg.setLevel(lvl)


@pytest.mark.usefixtures("restore_logging")
def test_uvicorn_records_share_the_format_unless_switched_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = False  # what `uvicorn --no-access-log` leaves behind
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler())
    configure_logging("api", "json", "INFO")
    token = request_id_var.set("req-abc")
    try:
        logging.getLogger("uvicorn.error").info("server says %s", "hi")
        access.info("an access line")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("careful", UserWarning, stacklevel=1)
    finally:
        request_id_var.reset(token)
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [r | {"ts": "-"} for r in records[:1]] == [
        {
            "ts": "-",
            "level": "INFO",
            "service": "api",
            "logger": "uvicorn.error",
            "request_id": "req-abc",
            "message": "server says hi",
        }
    ]
    assert len(records) == 2  # the access line stayed off
    assert records[1]["logger"] == "py.warnings"
    assert "UserWarning: careful" in records[1]["message"]
