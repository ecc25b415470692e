"""Services in Keystone mode against the real Keystone of ``tests.fixtures.keystone``.

``keystone_suite`` adds to the session ``suite`` (whose storage it uses through the session
NATS, so no second database starts) an api and a websocket service with
``TIDINGS_AUTH_STRATEGY=keystone``, admin mode and a signed-URL key, plus an api whose
Keystone is a closed port (for the 503 answers). Keystone project ids are fresh uuids, so
these tests cannot meet the noauth tests' data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.ports import free_port
from tests.fixtures.suite import ServiceProcess, Suite
from tests.websocket.client import WsClient

WEBSOCKET_APP = "tidings.websocket.app:create_app"
API_APP = "tidings.api.app:create_app"
SECRET_KEY = "test-signing-key"
CLIENT_ID = "3381af92-2b9e-11e3-b191-71861300734c"


@dataclass
class KeystoneSuite:
    keystone: KeystoneServer
    api: ServiceProcess
    websocket: ServiceProcess
    unreachable_api: ServiceProcess

    @property
    def api_url(self) -> str:
        return self.api.url

    @property
    def ws_url(self) -> str:
        return self.websocket.url.replace("http://", "ws://") + "/"

    def project(self, user: str) -> str:
        return self.keystone.project_ids[user]


@pytest.fixture(scope="session")
def keystone_suite(
    suite: Suite, keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[KeystoneSuite]:
    root = tmp_path_factory.mktemp("keystone-suite")
    services = Suite(root, suite.nats_url, storage_replicas=0, api_replicas=0)
    settings = keystone.service_settings(
        TIDINGS_ADMIN_MODE="true", TIDINGS_SIGNED_URL_SECRET_KEY=SECRET_KEY
    )
    api = services.add("api-keystone", API_APP, env=settings)
    websocket = services.add("websocket-keystone", WEBSOCKET_APP, env=settings)
    dead_keystone = f"http://127.0.0.1:{free_port()}/v3"  # nothing listens there
    unreachable = services.add(
        "api-no-keystone",
        API_APP,
        env={**settings, "TIDINGS_KEYSTONE_AUTH_URL": dead_keystone},
    )
    try:
        services.start()
        yield KeystoneSuite(keystone, api, websocket, unreachable)
    finally:
        services.stop()


@pytest.fixture(scope="session")
def tokens(keystone: KeystoneServer) -> dict[str, str]:
    """One token per user of the fixture, fetched once."""
    return {user: keystone.token(user) for user in ("alice", "bob", "admin")}


@pytest.fixture
def rest(keystone_suite: KeystoneSuite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=keystone_suite.api_url, timeout=10) as client:
        yield client


def auth_headers(token: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Client-ID": CLIENT_ID, **extra}
    if token is not None:
        headers["X-Auth-Token"] = token
    return headers


@pytest.fixture
async def ws_open(keystone_suite: KeystoneSuite) -> AsyncIterator[list[WsClient]]:
    """Sockets a test opens (append to the list) are closed after it."""
    opened: list[WsClient] = []
    yield opened
    for client in opened:
        await client.close()
