"""Logging set-up: readable text in development, one JSON object a line in production.

Every record carries the request id of the request being served (``request_id_var``), which
the api sets from ``X-OpenStack-Request-Id`` handling and the RPC layer carries through NATS,
and JSON records the trace id of the work at hand when it belongs to a trace
(:mod:`tidings.common.tracing`).
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time

from tidings.common import tracing

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.trace_id = tracing.current_trace_id()
        return True


# uvicorn's own loggers, which it gives handlers of its own in its text format.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str = "-") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": record.getMessage(),
        }
        trace_id = getattr(record, "trace_id", None)
        if trace_id is not None:
            entry["trace_id"] = trace_id
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, fmt: str = "text", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(
            logging.Formatter(
                f"%(asctime)s {service} %(levelname)s %(name)s [%(request_id)s] %(message)s"
            )
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Python warnings and uvicorn's records (errors, access lines) go through the same
    # handler and format, so a production log is JSON throughout.
    logging.captureWarnings(True)
    for name in UVICORN_LOGGERS:
        server_logger = logging.getLogger(name)
        if not server_logger.handlers and not server_logger.propagate:
            continue  # switched off (uvicorn --no-access-log): keep it off
        server_logger.handlers.clear()
        server_logger.propagate = True
        server_logger.setLevel(logging.NOTSET)
