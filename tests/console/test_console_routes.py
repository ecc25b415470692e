"""The console's routes over a real socket: what is served, with which headers, and what not."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.fixtures.suite import Suite
from tidings.api.console.routes import STATIC, static_files

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def http(console_suite: Suite) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=console_suite.api_url, timeout=10) as client:
        yield client


async def test_every_static_file_is_served_with_its_type_and_the_policy(
    http: httpx.AsyncClient,
) -> None:
    files = static_files()
    assert {"index.html", "console.css", "js/main.js"} <= set(files)
    for name in files:
        response = await http.get("/console" if name == "index.html" else f"/console/{name}")
        assert response.status_code == 200, name
        assert response.content == (STATIC / name).read_bytes()
        expected = {".html": "text/html", ".css": "text/css", ".js": "text/javascript"}
        assert response.headers["content-type"].startswith(expected[(STATIC / name).suffix])
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_only_known_files(http: httpx.AsyncClient) -> None:
    for path in ("/console/index.html", "/console/nope.js", "/console/%2e%2e/routes.py",
                 "/console/js/../../routes.py", "/console/"):  # fmt: skip
        response = await http.get(path)
        assert response.status_code == 404, path
        assert response.json()["title"] == "404 Not Found"


async def test_config_in_noauth_mode(http: httpx.AsyncClient, console_suite: Suite) -> None:
    config = (await http.get("/console/config.json")).json()
    ws_url = console_suite.env["TIDINGS_CONSOLE_WEBSOCKET_URL"]
    assert config == {
        "auth_strategy": "noauth",
        "websocket_url": ws_url,
        "token_exchange": False,
        "admin_mode": False,
    }
    # No Keystone to exchange passwords with in noauth mode.
    refused = await http.post("/console/token", json={"username": "u"})
    assert refused.status_code == 404
