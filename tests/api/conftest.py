"""Fixtures for the REST tests: real HTTP into the api, through NATS, into storage.

``api_url`` is the suite's api (``suite.api_url``); setting ``TIDINGS_TEST_API_URL`` points
the tests at an api started by hand instead. ``admin_api_url`` starts one more api process in
admin mode on the suite's NATS, for ``/v2/health``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.ports import free_port

CLIENT_ID = "3381af922b9e11e3b19171861300734c"  # dashless, as python-zaqarclient sends it


@pytest.fixture(scope="session")
def api_url(request: pytest.FixtureRequest) -> str:
    override = os.environ.get("TIDINGS_TEST_API_URL")
    if override:
        return override.rstrip("/")
    suite: Any = request.getfixturevalue("suite")
    url: str = suite.api_url
    return url.rstrip("/")


@pytest.fixture(scope="session")
def suite_nats_url(request: pytest.FixtureRequest) -> str:
    override = os.environ.get("TIDINGS_TEST_NATS_URL")
    if override:
        return override
    url: str = request.getfixturevalue("nats_url")
    return url


def wait_until_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"api at {url} not ready after {timeout}s")


@pytest.fixture(scope="session")
def admin_api_url(suite_nats_url: str, api_url: str) -> Iterator[str]:
    # api_url first: the suite (and its storage) must be up before this api can be ready.
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update({"TIDINGS_NATS_URL": suite_nats_url, "TIDINGS_ADMIN_MODE": "true"})
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "tidings.api.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def new_project() -> str:
    return f"proj-{uuid.uuid4().hex[:12]}"


def headers_for(project: str, client_id: str = CLIENT_ID) -> dict[str, str]:
    return {"Client-ID": client_id, "X-Project-ID": project}


@pytest.fixture
def project() -> str:
    return new_project()


@pytest.fixture
def client(api_url: str, project: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, headers=headers_for(project), timeout=10.0) as http:
        yield http


@pytest.fixture
def other_client(api_url: str) -> Iterator[httpx.Client]:
    """A second tenant, for isolation tests."""
    with httpx.Client(base_url=api_url, headers=headers_for(new_project()), timeout=10.0) as http:
        yield http


def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def post_messages(
    http: httpx.Client, queue: str, *bodies: Any, ttl: int | None = None
) -> list[str]:
    messages = [{"body": b} if ttl is None else {"body": b, "ttl": ttl} for b in bodies]
    response = http.post(f"/v2/queues/{queue}/messages", json={"messages": messages})
    assert response.status_code == 201, response.text
    return [href.rsplit("/", 1)[1] for href in response.json()["resources"]]


def assert_error(
    response: httpx.Response, status: int, title: str | None = None, description: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert "title" in body
    if title is not None:
        assert body["title"] == title, body
    if description is not None:
        assert body.get("description") == description, body
    return body
