"""Real receivers for notifications: an HTTP server that records what it gets and can fail,
hang or refuse on demand, and an SMTP server (aiosmtpd) that keeps the mails it accepts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any

from aiosmtpd.controller import Controller

from tests.fixtures.http_server import serve_in_background
from tests.fixtures.ports import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when the request arrived


@dataclass
class Behaviour:
    """What the receiver answers: the next statuses of ``plan`` (then ``status``), or, when
    ``hang`` is set, nothing at all for as long as the request stays open."""

    status: int = 200
    plan: list[int] = field(default_factory=list)
    hang: bool = False


class HttpReceiver:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.behaviour = Behaviour()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._release = threading.Event()  # ends hanging requests on stop
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                status = receiver._record(
                    Received(self.path, dict(self.headers.items()), body, time.time())
                )
                if status is None:  # hang: hold the connection, never answer
                    receiver._release.wait(120)
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = serve_in_background(Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self._server.server_address[1]}"

    def _record(self, received: Received) -> int | None:
        with self._changed:
            self.received.append(received)
            self._changed.notify_all()
            behaviour = self.behaviour
            if behaviour.hang:
                return None
            return behaviour.plan.pop(0) if behaviour.plan else behaviour.status

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout: float
    ) -> list[Received]:
        """Wait until ``predicate(received)`` holds; return a copy of what arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self.received):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"receiver: condition not met; got {len(self.received)}")
                self._changed.wait(left)
            return list(self.received)

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


def refusing_url() -> str:
    """A loopback port nobody listens on: connections are refused."""
    return f"http://{HOST}:{free_port()}/refused"


class _MailHandler:
    def __init__(self, sink: SmtpReceiver) -> None:
        self._sink = sink

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self._sink.greeted()  # once per SMTP session: its count is the number of connections
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self._sink.accept(list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """aiosmtpd on a free loopback port, in its own thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.mails: list[tuple[list[str], Message]] = []
        self.sessions = 0
        self._changed = threading.Condition()
        self._controller = Controller(_MailHandler(self), hostname=HOST, port=self.port)
        self._controller.start()

    def greeted(self) -> None:
        with self._changed:
            self.sessions += 1

    def restart(self) -> None:
        """Stop the server (dropping its connections) and start it again on the same port."""
        self._controller.stop()
        self._controller = Controller(_MailHandler(self), hostname=HOST, port=self.port)
        self._controller.start()

    def accept(self, recipients: list[str], message: Message) -> None:
        with self._changed:
            self.mails.append((recipients, message))
            self._changed.notify_all()

    def wait_for(self, recipient: str, count: int, timeout: float) -> list[Message]:
        """The mails to ``recipient`` once there are ``count`` of them (the server is shared)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                mine = [mail for to, mail in self.mails if recipient in to]
                if len(mine) >= count:
                    return mine
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"smtp: {len(mine)} of {count} mails to {recipient}")
                self._changed.wait(left)

    def stop(self) -> None:
        self._controller.stop()
