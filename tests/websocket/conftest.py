"""A suite with two websocket replicas on its own NATS, and clients for it.

Replica 0 runs with ``admin_mode`` (for ``check_node_health``) and keepalive pings every
second (uvicorn reads ``UVICORN_WS_PING_*``), so a dead peer is found fast; replica 1 with a
small send buffer, so that a client that stops reading overflows it quickly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.nats import start_nats
from tests.fixtures.suite import ServiceProcess, Suite
from tests.websocket.client import CLIENT_ID, WsClient, new_project

WEBSOCKET_APP = "tidings.websocket.app:create_app"
SMALL_SEND_BUFFER = 20
PING_INTERVAL = 1.0
PING_TIMEOUT = 2.0


class WsSuite:
    def __init__(self, suite: Suite, replicas: list[ServiceProcess]) -> None:
        self.suite = suite
        self.replicas = replicas

    def ws_url(self, replica: int = 0, path: str = "/") -> str:
        return self.replicas[replica].url.replace("http://", "ws://") + path

    def metric(self, replica: int, name: str) -> float:
        """The value of an unlabelled metric of a replica's /metrics."""
        text = httpx.get(self.replicas[replica].url + "/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"{name} not in /metrics")

    @property
    def api_url(self) -> str:
        return self.suite.api_url


@pytest.fixture(scope="session")
def ws_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WsSuite]:
    root: Path = tmp_path_factory.mktemp("ws-suite")
    nats = start_nats(root / "nats")
    suite = Suite(root, nats.url)
    replicas = [
        suite.add(
            "websocket-0",
            WEBSOCKET_APP,
            env={
                "TIDINGS_ADMIN_MODE": "true",
                "UVICORN_WS_PING_INTERVAL": str(PING_INTERVAL),
                "UVICORN_WS_PING_TIMEOUT": str(PING_TIMEOUT),
            },
        ),
        suite.add(
            "websocket-1",
            WEBSOCKET_APP,
            env={"TIDINGS_SEND_BUFFER_FRAMES": str(SMALL_SEND_BUFFER)},
        ),
    ]
    try:
        suite.start()
        yield WsSuite(suite, replicas)
    finally:
        suite.stop()
        nats.stop()


ClientFactory = Callable[..., Awaitable[WsClient]]


@pytest.fixture
async def ws_factory(ws_suite: WsSuite) -> AsyncIterator[ClientFactory]:
    """``await ws_factory(replica=0, binary=False, project=None)``; all closed after the test."""
    opened: list[WsClient] = []

    async def make(
        replica: int = 0, binary: bool = False, project: str | None = None, **kwargs: object
    ) -> WsClient:
        client = await WsClient.open(ws_suite.ws_url(replica), project, binary, **kwargs)
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.close()


@pytest.fixture(params=["json", "msgpack"])
def binary(request: pytest.FixtureRequest) -> bool:
    return bool(request.param == "msgpack")


@pytest.fixture
async def ws(ws_factory: ClientFactory, binary: bool) -> WsClient:
    """A client of a fresh project, in the encoding of the test's parameter."""
    return await ws_factory(binary=binary)


@pytest.fixture
def rest(ws_suite: WsSuite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ws_suite.api_url, timeout=10) as client:
        yield client


def rest_headers(project: str) -> dict[str, str]:
    return {"Client-ID": CLIENT_ID, "X-Project-ID": project}


__all__ = ["CLIENT_ID", "ClientFactory", "WsSuite", "new_project", "rest_headers"]
