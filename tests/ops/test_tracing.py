"""Tracing: a suite exporting spans over OTLP/HTTP to a real receiver, and one trace that links
a post (api, its RPC, storage) to the notifier's delivery and the webhook receiver."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from tests.fixtures.nats import start_nats
from tests.fixtures.otlp import OtlpReceiver, ReceivedSpan
from tests.fixtures.suite import Suite
from tests.notifier.receivers import HttpReceiver
from tests.ops.conftest import NOTIFIER_APP, WEBSOCKET_APP, headers, new_project, wait_for
from tests.websocket.client import WsClient
from tidings.common.tracing import TraceHeaders, exporter_name
from tidings.websocket.dispatch import frame_trace_context

SERVER = ProtoSpan.SpanKind.SPAN_KIND_SERVER
CLIENT = ProtoSpan.SpanKind.SPAN_KIND_CLIENT
CONSUMER = ProtoSpan.SpanKind.SPAN_KIND_CONSUMER
SPAN_WAIT = 15.0


@pytest.fixture(scope="module")
def collector() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory, collector: OtlpReceiver) -> Iterator[Suite]:
    """Storage, api and a notifier with tracing on (only the endpoint is set: that is enough),
    exporting every 50 ms."""
    root = tmp_path_factory.mktemp("traced-suite")
    nats = start_nats(root / "nats")
    suite = Suite(
        root,
        nats.url,
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "TIDINGS_LOG_FORMAT": "json",
            "TIDINGS_LOG_LEVEL": "DEBUG",
        },
    )
    suite.add("notifier-0", NOTIFIER_APP)
    suite.add("websocket-0", WEBSOCKET_APP)
    try:
        suite.start()
        yield suite
    finally:
        suite.stop()
        nats.stop()


def one(spans: list[ReceivedSpan], service: str, name: str, trace_id: str) -> ReceivedSpan:
    found = [s for s in spans if (s.service, s.name, s.trace_id) == (service, name, trace_id)]
    assert len(found) == 1, [(s.service, s.name) for s in spans if s.trace_id == trace_id]
    return found[0]


def has(service: str, name: str, trace_id: str) -> Callable[[list[ReceivedSpan]], bool]:
    def check(spans: list[ReceivedSpan]) -> bool:
        return any((s.service, s.name, s.trace_id) == (service, name, trace_id) for s in spans)

    return check


def log_records(suite: Suite, name: str) -> list[dict[str, object]]:
    path: Path = suite.root / "logs" / f"{name}.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def test_one_trace_links_a_post_to_its_delivery_and_the_receiver(
    traced: Suite, collector: OtlpReceiver, receiver: HttpReceiver
) -> None:
    project, queue = new_project(), f"traced-{uuid.uuid4().hex[:6]}"
    trace_id, gateway_span = secrets.token_hex(16), secrets.token_hex(8)
    with httpx.Client(base_url=traced.api_url, timeout=10) as rest:
        subscribed = rest.post(
            f"/v2/queues/{queue}/subscriptions",
            json={"subscriber": f"{receiver.url}/hook", "ttl": 600},
            headers=headers(project),
        )
        assert subscribed.status_code == 201, subscribed.text
        posted = rest.post(
            f"/v2/queues/{queue}/messages",
            json={"messages": [{"body": {"n": 1}, "ttl": 300}]},
            headers=headers(
                project,
                traceparent=f"00-{trace_id}-{gateway_span}-01",
                tracestate="gateway=7f",
            ),
        )
    assert posted.status_code == 201, posted.text
    request_id = posted.headers["X-Openstack-Request-Id"]

    (delivered,) = receiver.wait_for(lambda got: len(got) == 1, timeout=SPAN_WAIT)
    # Each process exports its spans on its own schedule: wait for all of them.
    expected = [
        has("tidings-api", "POST /v2/queues/{queue_name}/messages", trace_id),
        has("tidings-api", "rpc message.post", trace_id),
        has("tidings-storage", "storage message.post", trace_id),
        has("tidings-notifier", f"notify {queue}", trace_id),
        has("tidings-notifier", "deliver webhook", trace_id),
    ]
    spans = collector.wait_for(lambda got: all(check(got) for check in expected), SPAN_WAIT)

    api = one(spans, "tidings-api", "POST /v2/queues/{queue_name}/messages", trace_id)
    assert (api.kind, api.parent_span_id) == (SERVER, gateway_span)
    assert api.attributes["http.response.status_code"] == 201
    assert api.attributes["tidings.request_id"] == request_id
    rpc = one(spans, "tidings-api", "rpc message.post", trace_id)
    assert (rpc.kind, rpc.parent_span_id) == (CLIENT, api.span_id)
    storage = one(spans, "tidings-storage", "storage message.post", trace_id)
    assert (storage.kind, storage.parent_span_id) == (SERVER, rpc.span_id)
    assert storage.attributes["tidings.request_id"] == request_id
    # The notifier learnt storage's span only from the event the outbox published.
    consumed = one(spans, "tidings-notifier", f"notify {queue}", trace_id)
    assert (consumed.kind, consumed.parent_span_id) == (CONSUMER, storage.span_id)
    assert consumed.attributes["tidings.deliveries"] == 1
    delivery = one(spans, "tidings-notifier", "deliver webhook", trace_id)
    assert (delivery.kind, delivery.parent_span_id) == (CLIENT, consumed.span_id)
    assert delivery.attributes["tidings.outcome"] == "ok"
    assert delivery.attributes["tidings.delivery_id"] == delivered.headers["X-Tidings-Delivery-Id"]

    # The receiver can join the trace as a child of the delivery; the gateway's state stays.
    assert delivered.headers["traceparent"] == f"00-{trace_id}-{delivery.span_id}-01"
    assert delivered.headers["tracestate"] == "gateway=7f"

    # Every log line of the post's handling names the trace (the api logs none of a success).
    for service in ("storage-0", "notifier-0"):
        lines = [r for r in log_records(traced, service) if r["request_id"] == request_id]
        assert lines, service
        assert {r.get("trace_id") for r in lines} == {trace_id}, lines


async def test_a_websocket_frame_joins_the_trace_its_headers_name(
    traced: Suite, collector: OtlpReceiver, receiver: HttpReceiver
) -> None:
    """The Zaqar WebSocket API carries headers in each frame: a post sent there with
    ``traceparent`` links to its storage call and its delivery like a REST post."""
    project, queue = new_project(), f"ws-traced-{uuid.uuid4().hex[:6]}"
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    async with httpx.AsyncClient(base_url=traced.api_url, timeout=10) as rest:
        subscribed = await rest.post(
            f"/v2/queues/{queue}/subscriptions",
            json={"subscriber": f"{receiver.url}/ws-hook", "ttl": 600},
            headers=headers(project),
        )
    assert subscribed.status_code == 201, subscribed.text
    (websocket,) = [service for service in traced.services if service.name == "websocket-0"]
    client = await WsClient.open(websocket.url.replace("http://", "ws://") + "/", project)
    try:
        status, _ = await client.call(
            "message_post",
            {"queue_name": queue, "messages": [{"body": {"n": 1}, "ttl": 300}]},
            client.headers(Traceparent=f"00-{trace_id}-{caller_span}-01"),
        )
    finally:
        await client.close()
    assert status == 201

    receiver.wait_for(lambda got: any(r.path == "/ws-hook" for r in got), timeout=SPAN_WAIT)
    expected = [
        has("tidings-websocket", "websocket message_post", trace_id),
        has("tidings-websocket", "rpc message.post", trace_id),
        has("tidings-storage", "storage message.post", trace_id),
        has("tidings-notifier", "deliver webhook", trace_id),
    ]
    spans = collector.wait_for(lambda got: all(check(got) for check in expected), SPAN_WAIT)
    frame = one(spans, "tidings-websocket", "websocket message_post", trace_id)
    assert (frame.kind, frame.parent_span_id) == (SERVER, caller_span)
    assert frame.attributes["tidings.status"] == 201
    rpc = one(spans, "tidings-websocket", "rpc message.post", trace_id)
    assert (rpc.kind, rpc.parent_span_id) == (CLIENT, frame.span_id)
    storage = one(spans, "tidings-storage", "storage message.post", trace_id)
    assert storage.parent_span_id == rpc.span_id


def test_frame_trace_headers_are_read_in_any_case_and_checked() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    found = frame_trace_context({"TraceParent": traceparent, "tracestate": "a=1", "x": 1})
    assert found == TraceHeaders(traceparent, "a=1")
    assert frame_trace_context({"traceparent": 7}) is None  # not a string: ignored
    assert frame_trace_context({"traceparent": "00-zz"}) is None
    assert frame_trace_context({}) is None


def test_a_request_without_traceparent_starts_a_trace(
    traced: Suite, collector: OtlpReceiver
) -> None:
    with httpx.Client(base_url=traced.api_url, timeout=10) as rest:
        response = rest.put(f"/v2/queues/fresh-{uuid.uuid4().hex[:6]}", headers=headers("p"))
    assert response.status_code == 201
    request_id = response.headers["X-Openstack-Request-Id"]

    def api_span(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [
            s
            for s in spans
            if s.service == "tidings-api" and s.attributes.get("tidings.request_id") == request_id
        ]

    spans = collector.wait_for(lambda got: bool(api_span(got)), SPAN_WAIT)
    (root,) = api_span(spans)
    assert root.parent_span_id == "" and root.name == "PUT /v2/queues/{queue_name}"
    spans = collector.wait_for(
        lambda got: (
            has("tidings-storage", "storage queue.create", root.trace_id)(got)
            and has("tidings-api", "rpc queue.create", root.trace_id)(got)
        ),
        SPAN_WAIT,
    )
    rpc = one(spans, "tidings-api", "rpc queue.create", root.trace_id)
    assert rpc.parent_span_id == root.span_id
    storage = one(spans, "tidings-storage", "storage queue.create", root.trace_id)
    assert storage.parent_span_id == rpc.span_id


def test_a_malformed_traceparent_is_ignored(traced: Suite, collector: OtlpReceiver) -> None:
    bad_trace = "0" * 32
    with httpx.Client(base_url=traced.api_url, timeout=10) as rest:
        response = rest.get(
            "/v2/queues",
            headers=headers(new_project(), traceparent=f"00-{bad_trace}-{'1' * 16}-01"),
        )
    assert response.status_code in (200, 204)
    request_id = response.headers["X-Openstack-Request-Id"]

    def api_span(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        return [
            s
            for s in spans
            if s.service == "tidings-api" and s.attributes.get("tidings.request_id") == request_id
        ]

    (root,) = api_span(collector.wait_for(lambda got: bool(api_span(got)), SPAN_WAIT))
    assert root.parent_span_id == "" and root.trace_id != bad_trace


def test_tracing_is_off_without_an_exporter_or_endpoint() -> None:
    assert exporter_name({}) is None
    assert exporter_name({"OTEL_TRACES_EXPORTER": "none"}) is None
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert exporter_name(endpoint) == "otlp"
    assert exporter_name({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x/v1/traces"}) == "otlp"
    assert exporter_name({**endpoint, "OTEL_TRACES_EXPORTER": "none"}) is None
    assert exporter_name({**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    assert exporter_name({"OTEL_TRACES_EXPORTER": "otlp"}) == "otlp"  # to localhost:4318
    assert exporter_name({"OTEL_TRACES_EXPORTER": "console"}) == "console"
    assert exporter_name({"OTEL_TRACES_EXPORTER": "zipkin"}) is None


@pytest.mark.parametrize(
    ("traceparent", "expected"),
    [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "same"),
        (
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
        ),
        # A later version may add fields: we read ours and speak version 00.
        (
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", None),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\nforged", None),
        ("", None),
    ],
)
def test_traceparent_validation(traceparent: str, expected: str | None) -> None:
    parsed = TraceHeaders.parse(traceparent, "vendor=1")
    if expected is None:
        assert parsed is None
        return
    assert parsed is not None
    assert parsed.traceparent == (traceparent if expected == "same" else expected)
    assert parsed.tracestate == "vendor=1"
    assert parsed.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_tracestate_that_could_forge_headers_is_dropped() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    for bad in ("a=1\r\nX-Evil: 1", "a=" + "x" * 600):
        parsed = TraceHeaders.parse(traceparent, bad)
        assert parsed is not None and parsed.tracestate is None


def test_log_lines_name_the_trace_a_request_started(traced: Suite) -> None:
    """A request without traceparent gets a new trace when tracing is on; its log lines
    name it."""
    with httpx.Client(base_url=traced.api_url, timeout=10) as rest:
        response = rest.get("/v2/queues", headers=headers(new_project()))
    request_id = response.headers["X-Openstack-Request-Id"]

    def served() -> list[dict[str, object]]:
        return [r for r in log_records(traced, "storage-0") if r["request_id"] == request_id]

    wait_for(lambda: bool(served()))
    (line,) = served()
    trace_id = line.get("trace_id")
    assert isinstance(trace_id, str) and len(trace_id) == 32
