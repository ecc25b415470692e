"""``limited_suite``: the suite with quotas and a rate limit configured, two api replicas and a
websocket service, on SQLite and its own NATS (module scope: the tests share it).

Limits apply to chosen projects only (through the overrides), so each test picks the project
whose limits it exercises and the others run unlimited.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fixtures.nats import start_nats
from tests.fixtures.suite import ServiceProcess, Suite

WEBSOCKET_APP = "tidings.websocket.app:create_app"

MESSAGE_QUOTA = 5
QUEUE_QUOTA = 3
BYTE_QUOTA = 60
RATE = 20  # requests a second, over both api replicas
SYNC_INTERVAL = 0.2
RECOUNT_INTERVAL = 2  # seconds; also the Retry-After of quota refusals


@dataclass
class LimitedSuite:
    suite: Suite
    websocket: ServiceProcess
    # project ids whose limits the overrides set
    messages_project: str
    queues_project: str
    bytes_project: str
    rate_project: str

    @property
    def api(self) -> list[ServiceProcess]:
        return self.suite.api

    @property
    def storage(self) -> ServiceProcess:
        return self.suite.storage[0]


@pytest.fixture(scope="module")
def limited_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedSuite]:
    root = tmp_path_factory.mktemp("limited")
    nats = start_nats(root / "nats")
    tag = uuid.uuid4().hex[:8]
    projects = {kind: f"{kind} {tag}" for kind in ("messages", "queues", "bytes", "rate")}
    quotas = {
        projects["messages"]: {"messages": MESSAGE_QUOTA},
        projects["queues"]: {"queues": QUEUE_QUOTA},
        projects["bytes"]: {"bytes": BYTE_QUOTA},
    }
    suite = Suite(
        root,
        nats.url,
        api_replicas=2,
        env={
            "TIDINGS_QUOTA_OVERRIDES": json.dumps(quotas),
            "TIDINGS_QUOTA_RECOUNT_INTERVAL": str(RECOUNT_INTERVAL),
            "TIDINGS_RATE_LIMIT_OVERRIDES": json.dumps({projects["rate"]: RATE}),
            "TIDINGS_RATE_LIMIT_SYNC_INTERVAL": str(SYNC_INTERVAL),
        },
    )
    websocket = suite.add("websocket-0", WEBSOCKET_APP)
    try:
        suite.start()
        yield LimitedSuite(
            suite,
            websocket,
            projects["messages"],
            projects["queues"],
            projects["bytes"],
            projects["rate"],
        )
    finally:
        suite.stop()
        nats.stop()
