"""W3C trace context through the suite, and OpenTelemetry spans when an exporter is set.

One trace links a post to its deliveries: the api takes ``traceparent``/``tracestate`` from the
gateway, the RPC client sends them to storage in NATS headers, storage writes them into the
``messages_posted`` event (so the outbox row and the JetStream message carry them), and the
notifier continues the trace in a span per delivery attempt and sends ``traceparent`` on the
webhook request.

Tracing is off unless the standard ``OTEL_*`` variables name an exporter
(:func:`configure_tracing`). Off, nothing is recorded and no ids are made: the context a request
came with is only passed along, as the two header strings in a context variable, so the hot
path pays one header comparison and a context variable set. On, each hop is an OpenTelemetry
span (SDK, batch processor, OTLP/HTTP exporter) and what is passed along is the current span.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    Tracer,
    TraceState,
)

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
TRACESTATE = "tracestate"
MAX_TRACESTATE = 512  # characters; the W3C limit a vendor may rely on

# version-trace_id-parent_id-flags; a later version may append fields after another "-".
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$")
_TRACESTATE = re.compile(r"^[\x20-\x7e]*$")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16

# FastAPI (0.142 and newer) has telemetry of its own, on by default: it looks up the global
# tracer, meter and logger providers on every request (environment reads included) and, once
# configure_tracing installs a provider, would record a second server span beside ours. The
# suite's spans, metrics (prometheus-client) and logs are its own, so every app turns it off.
FASTAPI_TELEMETRY_OFF: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}

# The exporters this build can run (OTEL_TRACES_EXPORTER); "none" or unset with no endpoint:
# tracing off.
EXPORTERS = ("otlp", "console")


@dataclass(frozen=True, slots=True)
class TraceHeaders:
    """A validated W3C trace context, normalised to version 00."""

    traceparent: str
    tracestate: str | None = None

    @staticmethod
    def parse(traceparent: str | None, tracestate: str | None = None) -> TraceHeaders | None:
        """The context the headers carry, or None when ``traceparent`` is absent or invalid
        (then the W3C rules say: start afresh, and drop ``tracestate`` with it)."""
        if not traceparent:
            return None
        found = _TRACEPARENT.match(traceparent.strip().lower())
        if found is None:
            return None
        version, trace_id, span_id, flags, rest = found.groups()
        if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE:
            return None
        if span_id == _ZERO_SPAN:
            return None
        state = tracestate.strip() if tracestate else None
        if state and (len(state) > MAX_TRACESTATE or not _TRACESTATE.match(state)):
            state = None
        return TraceHeaders(f"00-{trace_id}-{span_id}-{flags}", state or None)

    @property
    def trace_id(self) -> str:
        return self.traceparent[3:35]

    @property
    def span_id(self) -> str:
        return self.traceparent[36:52]

    def headers(self) -> dict[str, str]:
        if self.tracestate:
            return {TRACEPARENT: self.traceparent, TRACESTATE: self.tracestate}
        return {TRACEPARENT: self.traceparent}

    def span_context(self) -> SpanContext:
        return SpanContext(
            trace_id=int(self.trace_id, 16),
            span_id=int(self.span_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(int(self.traceparent[53:55], 16)),
            trace_state=TraceState.from_header([self.tracestate]) if self.tracestate else None,
        )


def from_headers(headers: Mapping[str, str] | None) -> TraceHeaders | None:
    """The context in a NATS message's (or any str-keyed) headers."""
    if not headers:
        return None
    traceparent = headers.get(TRACEPARENT)
    if traceparent is None:
        return None
    return TraceHeaders.parse(traceparent, headers.get(TRACESTATE))


# Tracing off: the context being passed along. Tracing on: unused (OpenTelemetry's own context
# holds the current span).
_passed_on: contextvars.ContextVar[TraceHeaders | None] = contextvars.ContextVar(
    "trace_headers", default=None
)
_tracer: Tracer | None = None
_provider: Any = None  # the SDK's TracerProvider, for the flush at shutdown


def enabled() -> bool:
    return _tracer is not None


def pass_on(parent: TraceHeaders | None) -> contextvars.Token[TraceHeaders | None]:
    """Tracing off: make ``parent`` the context passed on from here (what :func:`span` does,
    without its generator, for the hottest paths); undo with :func:`stop_passing_on`."""
    return _passed_on.set(parent)


def stop_passing_on(token: contextvars.Token[TraceHeaders | None]) -> None:
    _passed_on.reset(token)


@contextlib.contextmanager
def span(
    name: str,
    parent: TraceHeaders | None = None,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, str | int | float | bool] | None = None,
    continue_current: bool = False,
) -> Iterator[Span | None]:
    """A span under ``parent`` (a context from the wire), or, with ``continue_current``, under
    the current span, made current for the block; None when tracing is off, which only passes
    ``parent`` along (or, continuing, what is already being passed).

    With no parent and tracing on, the span starts a new trace (the sampler decides whether it
    is recorded). An exception leaving the block marks the span as failed.
    """
    tracer = _tracer
    if tracer is None:
        if continue_current:
            yield None
            return
        token = _passed_on.set(parent)
        try:
            yield None
        finally:
            _passed_on.reset(token)
        return
    if continue_current:
        context = None  # the current one
    elif parent is not None:
        context = trace.set_span_in_context(NonRecordingSpan(parent.span_context()))
    else:
        context = otel_context.Context()  # a new trace, whatever is current
    current = tracer.start_span(name, context=context, kind=kind, attributes=attributes)
    token_otel = otel_context.attach(trace.set_span_in_context(current))
    try:
        yield current
    except BaseException as exc:
        if isinstance(exc, Exception):
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        raise
    finally:
        otel_context.detach(token_otel)
        current.end()


def current() -> TraceHeaders | None:
    """The context to pass on from here: the current span's when tracing is on, else the one
    the work at hand came with."""
    if _tracer is None:
        return _passed_on.get()
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    state = context.trace_state.to_header() if context.trace_state else None
    return TraceHeaders(
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}",
        state or None,
    )


def inject(headers: dict[str, str]) -> None:
    """Add ``traceparent`` (and ``tracestate``) of :func:`current` to outgoing headers."""
    passed = current()
    if passed is not None:
        headers.update(passed.headers())


def current_trace_id() -> str | None:
    """For log lines: the trace id of the work at hand, if it has one."""
    if _tracer is None:
        passed = _passed_on.get()
        return passed.trace_id if passed is not None else None
    context = trace.get_current_span().get_span_context()
    return f"{context.trace_id:032x}" if context.is_valid else None


# ------------------------------------------------------------ set-up


def exporter_name(env: Mapping[str, str]) -> str | None:
    """Which exporter the ``OTEL_*`` variables ask for; None: tracing off.

    Unlike the OpenTelemetry default (``otlp``), an unset ``OTEL_TRACES_EXPORTER`` means off
    unless an OTLP endpoint is given, so development and benchmarks record nothing."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = [n.strip().lower() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",")]
    names = [n for n in names if n]
    if not names:
        endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        return "otlp" if endpoint else None
    if names == ["none"]:
        return None
    chosen = next((n for n in names if n in EXPORTERS), None)
    if chosen is None:
        log.warning("OTEL_TRACES_EXPORTER=%s: none of these is supported; tracing off", names)
    return chosen


def configure_tracing(service: str, env: Mapping[str, str] | None = None) -> bool:
    """Set up spans for this process as the ``OTEL_*`` variables say; True when on.

    The sampler (``OTEL_TRACES_SAMPLER``, ``OTEL_TRACES_SAMPLER_ARG``), the batch processor
    (``OTEL_BSP_*``) and the OTLP exporter (``OTEL_EXPORTER_OTLP_*``) read their own variables;
    ``service.name`` defaults to ``tidings-<service>`` (``OTEL_SERVICE_NAME`` overrides it).
    """
    global _tracer, _provider
    shutdown_tracing()  # an app made again in this process starts from its own settings
    variables = os.environ if env is None else env
    name = exporter_name(variables)
    if name is None:
        return False
    protocol = variables.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", variables.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if name == "otlp" and protocol and protocol != "http/protobuf":
        log.warning("OTLP protocol %s is not available; exporting with http/protobuf", protocol)

    # The SDK is imported only when tracing is on.
    from opentelemetry.sdk.resources import (
        SERVICE_INSTANCE_ID,
        SERVICE_NAME,
        OTELResourceDetector,
        Resource,
    )
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    ours = Resource.create(
        {
            SERVICE_NAME: f"tidings-{service}",
            SERVICE_INSTANCE_ID: f"{socket.gethostname()}-{os.getpid()}",
        }
    )
    # The operator's OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over our defaults.
    resource = ours.merge(OTELResourceDetector().detect())
    exporter: SpanExporter
    if name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter()
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _provider = provider
    _tracer = provider.get_tracer("tidings")
    log.info("tracing on: %s exporter, service %s", name, resource.attributes.get(SERVICE_NAME))
    return True


def shutdown_tracing() -> None:
    """Export the spans still queued and stop; tracing is off afterwards."""
    global _tracer, _provider
    provider, _provider, _tracer = _provider, None, None
    if provider is not None:
        try:
            provider.shutdown()
        except Exception:  # the collector may be gone; the process is stopping anyway
            log.warning("exporting the last spans failed", exc_info=True)
