"""A suite with a notifier (own NATS, SQLite), an SMTP server, and HTTP receivers.

Retry delays are scaled down (``TIDINGS_RETRY_DELAY_SCALE``) and attempts time out after
``ATTEMPT_TIMEOUT`` seconds, so whole retry schedules run in a second or two.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.nats import start_nats
from tests.fixtures.suite import ServiceProcess, Suite
from tests.notifier.receivers import SmtpReceiver

NOTIFIER_APP = "tidings.notifier.app:create_app"
CLIENT_ID = "3381af922b9e11e3b19171861300734c"
ATTEMPT_TIMEOUT = 0.5
DELAY_SCALE = 0.01  # a default policy's 180 s of waits take 1.8 s
ACK_WAIT = 2.0


def notifier_env(smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        "TIDINGS_DELIVERY_TIMEOUT": str(ATTEMPT_TIMEOUT),
        "TIDINGS_RETRY_DELAY_SCALE": str(DELAY_SCALE),
        "TIDINGS_ACK_WAIT": str(ACK_WAIT),
        "TIDINGS_SMTP_PORT": str(smtp_port),
        "TIDINGS_SMTP_SENDER": "tidings@example.com",
        "TIDINGS_PER_SUBSCRIBER_CONCURRENCY": "4",
        **extra,
    }


class NotifierSuite:
    def __init__(self, suite: Suite, notifiers: list[ServiceProcess], smtp: SmtpReceiver) -> None:
        self.suite = suite
        self.notifiers = notifiers
        self.smtp = smtp

    @property
    def api_url(self) -> str:
        return self.suite.api_url


@pytest.fixture(scope="session")
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def notifier_suite(
    tmp_path_factory: pytest.TempPathFactory, smtp: SmtpReceiver
) -> Iterator[NotifierSuite]:
    root: Path = tmp_path_factory.mktemp("notifier-suite")
    nats = start_nats(root / "nats")
    suite = Suite(root, nats.url)
    notifiers = [
        suite.add(f"notifier-{i}", NOTIFIER_APP, env=notifier_env(smtp.port)) for i in range(2)
    ]
    try:
        suite.start()
        yield NotifierSuite(suite, notifiers, smtp)
    finally:
        suite.stop()
        nats.stop()


def new_project() -> str:
    return f"notify {uuid.uuid4().hex[:10]}"


class Tenant:
    """A project talking REST to the suite."""

    def __init__(self, api_url: str, project: str | None = None) -> None:
        self.project = project or new_project()
        self.http = httpx.Client(
            base_url=api_url,
            headers={"Client-ID": CLIENT_ID, "X-Project-ID": self.project},
            timeout=10.0,
        )

    def subscribe(self, queue: str, subscriber: str, **fields: Any) -> dict[str, Any]:
        response = self.http.post(
            f"/v2/queues/{queue}/subscriptions", json={"subscriber": subscriber, **fields}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def post(self, queue: str, *bodies: Any) -> list[str]:
        response = self.http.post(
            f"/v2/queues/{queue}/messages",
            json={"messages": [{"body": body, "ttl": 300} for body in bodies]},
        )
        assert response.status_code == 201, response.text
        return [href.rsplit("/", 1)[1] for href in response.json()["resources"]]

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def tenant(notifier_suite: NotifierSuite) -> Iterator[Tenant]:
    client = Tenant(notifier_suite.api_url)
    try:
        yield client
    finally:
        client.close()
