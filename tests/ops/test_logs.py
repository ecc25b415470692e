"""Logs: one JSON object a line in production (the ops suite), readable text in development
(the shared suite), and one request id from the gateway through the api and NATS into storage."""

from __future__ import annotations

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

from tests.fixtures.suite import Suite
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
