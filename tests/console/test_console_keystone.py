"""The console's Keystone sign-in, in headless Chromium against a real Keystone.

An api and a websocket service in keystone mode join the storage of the console's suite. The
page exchanges user, password and project for a token through the api (``POST
/console/token``), shows Keystone's refusal of a wrong password, then works with the token:
REST calls and the live tail's ``authenticate`` frame.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import WEBSOCKET_APP, screenshot
from tests.fixtures.keystone import USERS, KeystoneServer
from tests.fixtures.ports import free_port
from tests.fixtures.suite import ServiceProcess, Suite

API_APP = "tidings.api.app:create_app"
CLIENT_ID = "5c0b6a3e-1f0e-4f7e-8a44-7d1c2b3a4f5e"
WAIT_MS = 15_000
QUEUE = "keystone-jobs"

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def keystone_api(
    console_suite: Suite, keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    root = tmp_path_factory.mktemp("console-keystone")
    ws_port = free_port()
    settings = keystone.service_settings(TIDINGS_CONSOLE_WEBSOCKET_URL=f"ws://127.0.0.1:{ws_port}/")
    services = Suite(root, console_suite.nats_url, storage_replicas=0, api_replicas=0)
    api = services.add("api-keystone", API_APP, env=settings)
    services.extra.append(
        ServiceProcess(
            "websocket-keystone",
            WEBSOCKET_APP,
            env={**services.env, **settings},
            log_dir=root / "logs",
            port=ws_port,
        )
    )
    try:
        services.start()
        yield api
    finally:
        services.stop()


@pytest.fixture
async def alice_queue_removed(
    keystone_api: ServiceProcess, keystone: KeystoneServer
) -> AsyncIterator[None]:
    """The Keystone projects are shared with tests/auth: leave alice's project as it was."""
    yield
    headers = {"Client-ID": CLIENT_ID, "X-Auth-Token": keystone.token("alice")}
    async with httpx.AsyncClient(base_url=keystone_api.url, timeout=10) as client:
        await client.delete(f"/v2/queues/{QUEUE}", headers=headers)


async def test_token_exchange_answers_like_keystone(keystone_api: ServiceProcess) -> None:
    alice = USERS["alice"]
    async with httpx.AsyncClient(base_url=keystone_api.url, timeout=10) as client:
        wrong = await client.post(
            "/console/token",
            json={"username": alice.name, "password": "nope", "project": alice.project},
        )
        assert wrong.status_code == 401
        assert wrong.json() == {
            "title": "Unauthorized",
            "description": "Keystone refused these credentials.",
        }
        missing = await client.post("/console/token", json={"username": alice.name})
        assert (missing.status_code, missing.json()["description"]) == (
            400,
            "Missing: password, project.",
        )
        issued = await client.post(
            "/console/token",
            json={"username": alice.name, "password": alice.password, "project": alice.project},
        )
        assert issued.status_code == 200, issued.text
        token = issued.json()["token"]
        assert "member" in issued.json()["roles"]
        # The token is a real Keystone token: the api accepts it.
        queues = await client.get(
            "/v2/queues", headers={"Client-ID": CLIENT_ID, "X-Auth-Token": token}
        )
        assert queues.status_code in (200, 204), queues.text


async def test_password_sign_in_then_rest_and_live_tail(
    page: Page, keystone_api: ServiceProcess, keystone: KeystoneServer, alice_queue_removed: None
) -> None:
    alice = USERS["alice"]
    await page.goto(f"{keystone_api.url}/console")
    await expect(page.locator("#sign-in-mode")).to_contain_text("Keystone")
    await expect(page.get_by_label("Project id")).to_be_hidden()

    await page.get_by_label("User").fill(alice.name)
    await page.get_by_label("Password").fill("wrong")
    await page.get_by_label("Project", exact=True).fill(alice.project)
    await page.get_by_role("button", name="Sign in with password").click()
    await expect(page.locator("#error")).to_have_text(
        "Unauthorized: Keystone refused these credentials.", timeout=WAIT_MS
    )
    await screenshot(page, "7-keystone-sign-in-refused")

    await page.get_by_label("Password").fill(alice.password)
    await page.get_by_role("button", name="Sign in with password").click()
    await expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()
    await expect(page.locator("#who")).to_have_text(f"{alice.name} in {alice.project}")
    session = await page.evaluate("sessionStorage.getItem('tidings-console-session')")
    assert alice.password not in session  # the token is kept, never the password

    await page.get_by_label("New queue name").fill(QUEUE)
    await page.get_by_role("button", name="Create queue").click()
    await page.get_by_role("button", name=QUEUE, exact=True).click()
    await page.get_by_role("button", name="Start live tail").click()
    await expect(page.locator("#tail-state")).to_have_text("live", timeout=WAIT_MS)
    await page.get_by_label("Bodies: one JSON value per line").fill('"signed in"')
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page.locator("#tail li")).to_contain_text('"signed in"', timeout=WAIT_MS)
    await screenshot(page, "8-keystone-queue")

    # The queue belongs to alice's Keystone project, as REST with her token sees it.
    token = keystone.token("alice")
    async with httpx.AsyncClient(base_url=keystone_api.url, timeout=10) as client:
        stats = await client.get(
            f"/v2/queues/{QUEUE}/stats", headers={"Client-ID": CLIENT_ID, "X-Auth-Token": token}
        )
    assert stats.status_code == 200 and stats.json()["messages"]["total"] == 1

    # Another tenant signs in with a token of its own and sees none of alice's queues.
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_label("Keystone token").fill(keystone.token("bob"))
    await page.get_by_role("button", name="Sign in with token").click()
    await expect(page.locator("#who")).to_have_text("Keystone token")
    await expect(page.locator("#queues-table tbody")).to_have_text(
        "No queues yet.", timeout=WAIT_MS
    )
