"""The console's browser tests: one suite (storage, api, websocket, notifier on their own NATS)
and one headless Chromium for the package, driven by Playwright's async API (the tests share
pytest-asyncio's session loop with the rest of the suite). Each test module gets its own page
in a fresh browser context (empty sessionStorage, no cookies).

Screenshots go to ``tests/output/console/`` (gitignored), one per main screen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, ConsoleMessage, Dialog, Page, async_playwright

from tests.console.chromium import FLAGS, ChromiumUnavailable, ensure_chromium
from tests.fixtures.nats import start_nats
from tests.fixtures.ports import free_port
from tests.fixtures.suite import ServiceProcess, Suite
from tests.notifier.receivers import HttpReceiver

WEBSOCKET_APP = "tidings.websocket.app:create_app"
NOTIFIER_APP = "tidings.notifier.app:create_app"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "console"
NOTIFIER_ENV = {
    "TIDINGS_DELIVERY_TIMEOUT": "0.5",
    "TIDINGS_RETRY_DELAY_SCALE": "0.01",  # a default retry policy runs in ~2 s
    "TIDINGS_ACK_WAIT": "2",
}


@pytest.fixture(scope="package")
def console_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    root = tmp_path_factory.mktemp("console-suite")
    nats = start_nats(root / "nats")
    ws_port = free_port()
    # The page learns where the WebSocket API is from the api's console settings.
    suite = Suite(
        root, nats.url, env={"TIDINGS_CONSOLE_WEBSOCKET_URL": f"ws://127.0.0.1:{ws_port}/"}
    )
    suite.extra.append(
        ServiceProcess(
            "websocket-0", WEBSOCKET_APP, env=suite.env, log_dir=root / "logs", port=ws_port
        )
    )
    suite.add("notifier-0", NOTIFIER_APP, env=NOTIFIER_ENV)
    try:
        suite.start()
        yield suite
    finally:
        suite.stop()
        nats.stop()


@pytest.fixture(scope="package")
def chromium_path() -> str:
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(f"the console's browser tests need Chromium: {exc}", pytrace=False)


@pytest.fixture(scope="package")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # Playwright gives every launch a fresh, empty --user-data-dir of its own.
        launched = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    opened = await context.new_page()

    async def accept(dialog: Dialog) -> None:  # the console confirms deletes and purges
        await dialog.accept()

    # Script errors and Content-Security-Policy refusals would mean a broken or CSP-unsafe
    # page; API refusals (4xx on purpose) only log "Failed to load resource" and are fine.
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(message.text)

    opened.on("dialog", accept)
    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    try:
        yield opened
    finally:
        await context.close()
    assert not problems, f"the console logged errors: {problems}"


@pytest.fixture(scope="module")
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def refusing_receiver() -> Iterator[HttpReceiver]:
    """Answers 410 Gone: the notifier gives up at once and records a failed delivery."""
    server = HttpReceiver()
    server.behaviour.status = 410
    try:
        yield server
    finally:
        server.stop()


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
