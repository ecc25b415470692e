"""Storage RPC over NATS request/reply: the client the transports use and the server storage runs.

Requests are the schema models of :mod:`tidings.common.schemas`, sent as JSON to
``tidings.rpc.<operation>``; every storage replica subscribes in one queue group so replicas
share the load. A reply is an :class:`~tidings.common.schemas.RpcReply`. The request id of the
incoming HTTP request travels in the ``Tidings-Request-Id`` header, its trace context in
``traceparent``/``tracestate`` (with tracing on, a client span around the call and a server
span around its handling in storage).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import ConnectionClosedError, NoRespondersError, OutboundBufferLimitError
from nats.errors import TimeoutError as NatsTimeoutError
from opentelemetry.trace import SpanKind
from pydantic import ValidationError

from tidings.common import metrics, tracing
from tidings.common.errors import ServiceUnavailable, TidingsError
from tidings.common.logging import request_id_var
from tidings.common.nats_connection import NatsConnection
from tidings.common.schemas import OPERATIONS, RpcReply, Schema
from tidings.common.subjects import RPC_PREFIX, RPC_QUEUE_GROUP, rpc_subject

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Schema)
REQUEST_ID_HEADER = "Tidings-Request-Id"
# A successful reply is exactly this, the result's JSON, and "}": an RpcReply with a result.
RESULT_PREFIX = b'{"result":'

MAX_REQUEST_ID = 128  # characters of a request id taken from a message header


class StorageClient:
    """Calls storage operations; every failure to get an answer becomes ServiceUnavailable."""

    def __init__(self, connection: NatsConnection, timeout: float) -> None:
        self._connection = connection
        self._timeout = timeout

    async def call(self, operation: str, request: Schema, reply_type: type[R]) -> R:
        client = self._connection.client
        if client is None:
            metrics.RPC_CALLS.labels(operation, "unavailable").inc()
            raise ServiceUnavailable("The message broker is unavailable.")
        if tracing.enabled():
            with tracing.span(
                f"rpc {operation}", kind=SpanKind.CLIENT, continue_current=True
            ) as span:
                reply = await self._call(client, operation, request, reply_type)
                if span is not None:
                    span.set_attribute("messaging.system", "nats")
                    span.set_attribute("rpc.method", operation)
                return reply
        return await self._call(client, operation, request, reply_type)

    async def _call(self, client: NATS, operation: str, request: Schema, reply_type: type[R]) -> R:
        headers = {REQUEST_ID_HEADER: request_id_var.get()}
        tracing.inject(headers)
        started = time.perf_counter()
        try:
            msg = await client.request(
                rpc_subject(operation),
                request.model_dump_json().encode(),
                timeout=self._timeout,
                headers=headers,
            )
        except NoRespondersError:
            metrics.RPC_CALLS.labels(operation, "no_responders").inc()
            raise ServiceUnavailable("Storage is unavailable.") from None
        except (NatsTimeoutError, TimeoutError):
            metrics.RPC_CALLS.labels(operation, "timeout").inc()
            raise ServiceUnavailable("Storage did not answer in time.") from None
        except (ConnectionClosedError, OutboundBufferLimitError, OSError):
            metrics.RPC_CALLS.labels(operation, "unavailable").inc()
            raise ServiceUnavailable("The message broker is unavailable.") from None
        finally:
            metrics.RPC_LATENCY.labels(operation).observe(time.perf_counter() - started)
        data = msg.data
        if data.startswith(RESULT_PREFIX) and data.endswith(b"}"):
            # The result's JSON validated in one pass straight from the wire (RpcServer writes
            # exactly this envelope).
            metrics.RPC_CALLS.labels(operation, "ok").inc()
            return reply_type.model_validate_json(data[len(RESULT_PREFIX) : -1])
        reply = RpcReply.model_validate_json(data)
        if reply.error is not None:
            metrics.RPC_CALLS.labels(operation, "error").inc()
            raise TidingsError.from_payload(reply.error)
        metrics.RPC_CALLS.labels(operation, "ok").inc()
        return reply_type.model_validate(reply.result or {})


Handler = Callable[[Schema], Awaitable[Schema]]


class RpcServer:
    """Serves storage operations from ``tidings.rpc.>`` in the storage queue group."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        unknown = set(handlers) - set(OPERATIONS)
        if unknown:
            raise ValueError(f"handlers for unknown operations: {sorted(unknown)}")
        self._handlers = handlers
        self._inflight: set[asyncio.Task[None]] = set()

    async def subscribe(self, client: NATS) -> None:
        await client.subscribe(
            f"{RPC_PREFIX}.>", queue=RPC_QUEUE_GROUP, cb=self._on_message, pending_msgs_limit=-1
        )

    async def _on_message(self, msg: Msg) -> None:
        # nats-py runs callbacks one after another; hand each request to its own task so a slow
        # query does not hold up the requests behind it (and group commit can gather them).
        task = asyncio.create_task(self._serve(msg))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _serve(self, msg: Msg) -> None:
        operation = msg.subject[len(RPC_PREFIX) + 1 :]
        # Any NATS client may publish under tidings.rpc.>: only known operations become label
        # values, so a stray subject cannot grow the metric series without bound.
        label = operation if operation in OPERATIONS else "unknown"
        headers = msg.headers or {}
        request_id = headers.get(REQUEST_ID_HEADER, "-")[:MAX_REQUEST_ID]
        token = request_id_var.set(request_id)
        parent = tracing.from_headers(headers)
        try:
            if tracing.enabled():
                with tracing.span(f"storage {label}", parent, kind=SpanKind.SERVER) as span:
                    outcome = await self._answer(msg, operation, label)
                    if span is not None:
                        span.set_attribute("rpc.method", label)
                        span.set_attribute("tidings.request_id", request_id)
                        span.set_attribute("tidings.outcome", outcome)
                return
            passing = tracing.pass_on(parent)
            try:
                await self._answer(msg, operation, label)
            finally:
                tracing.stop_passing_on(passing)
        finally:
            request_id_var.reset(token)

    async def _answer(self, msg: Msg, operation: str, label: str) -> str:
        """Run the operation and answer ``msg``; return the outcome (a metric label)."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            reply = await self._dispatch(operation, msg.data)
            if isinstance(reply, RpcReply):
                outcome = reply.error.kind.value if reply.error is not None else outcome
                answer = reply.model_dump_json(exclude_none=True).encode()
            else:
                # Written around the result's own JSON: dumping it to a dict and validating
                # that into an RpcReply first would walk every message twice more.
                answer = RESULT_PREFIX + reply.model_dump_json().encode() + b"}"
            if msg.reply:
                await msg.respond(answer)
        except Exception:  # the connection went away while answering: the caller times out
            outcome = "respond_failed"
            log.exception("could not answer %s", operation)
        finally:
            elapsed = time.perf_counter() - started
            metrics.RPC_SERVED.labels(label, outcome).inc()
            metrics.RPC_SERVE_LATENCY.labels(label).observe(elapsed)
            log.debug("served %s: %s in %.1f ms", label, outcome, elapsed * 1000)
        return outcome

    async def _dispatch(self, operation: str, data: bytes) -> RpcReply | Schema:
        """The handler's result, or an RpcReply carrying the error."""
        handler = self._handlers.get(operation)
        if handler is None:
            unknown = ServiceUnavailable(f"Unknown operation {operation}.")
            return RpcReply(error=unknown.to_payload())
        request_type, _ = OPERATIONS[operation]
        try:
            request = request_type.model_validate_json(data)
        except ValidationError as exc:
            log.warning("malformed %s request: %s", operation, exc)
            return RpcReply(error=ServiceUnavailable("Malformed storage request.").to_payload())
        try:
            result = await handler(request)
        except TidingsError as exc:
            return RpcReply(error=exc.to_payload())
        except Exception:
            log.exception("storage operation %s failed", operation)
            return RpcReply(error=ServiceUnavailable("Storage failed.").to_payload())
        return result

    async def drain(self, timeout: float = 5.0) -> None:
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=timeout)
