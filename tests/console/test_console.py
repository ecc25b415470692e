"""The console in real headless Chromium against the running suite.

The tests run in file order on one page (one browser for the module): sign in, queues with
stats, a queue's live tail and claim state, metadata validation, webhook subscriptions and
their failed deliveries, pools and flavors, the phone layout. Each main screen is saved as a
screenshot under tests/output/console/.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.console.conftest import screenshot
from tests.fixtures.suite import Suite
from tests.notifier.receivers import HttpReceiver, Received

CLIENT_ID = "0f2c1d7e-6a55-4a3b-9d7e-2b1f3c4d5e6f"
PROJECT = f"console-{uuid.uuid4().hex[:8]}"
QUEUE = "orders"
WAIT_MS = 15_000  # the longest a screen may take to show what the API already has

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
async def rest(console_suite: Suite) -> AsyncIterator[httpx.AsyncClient]:
    """The same project, straight through REST (what another client would do)."""
    async with httpx.AsyncClient(
        base_url=console_suite.api_url,
        headers={"Client-ID": CLIENT_ID, "X-Project-ID": PROJECT},
        timeout=10.0,
    ) as client:
        yield client


async def test_sign_in_with_the_keyboard(page: Page, console_suite: Suite) -> None:
    response = await page.goto(f"{console_suite.api_url}/console")
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await screenshot(page, "1-sign-in")
    await page.get_by_label("Project id").focus()
    await page.keyboard.type(PROJECT)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Queues", exact=True)).to_be_visible()
    await expect(page.locator("#who")).to_have_text(f"project {PROJECT}")
    # Only the tab's sessionStorage holds the sign-in: no cookies, nothing in localStorage.
    assert await page.evaluate("localStorage.length") == 0
    assert await page.context.cookies() == []
    assert PROJECT in await page.evaluate("sessionStorage.getItem('tidings-console-session')")


async def test_create_a_queue_and_watch_its_stats_refresh(
    page: Page, rest: httpx.AsyncClient
) -> None:
    await page.get_by_label("New queue name").fill(QUEUE)
    await page.get_by_role("button", name="Create queue").click()
    row = page.locator(f'#queues-table tr[data-queue="{QUEUE}"]')
    await expect(row.locator('[data-stat="total"]')).to_have_text("0", timeout=WAIT_MS)
    assert (await rest.get(f"/v2/queues/{QUEUE}/stats")).json()["messages"]["total"] == 0
    # Posted elsewhere: the list refreshes by itself.
    posted = await rest.post(
        f"/v2/queues/{QUEUE}/messages", json={"messages": [{"body": "from rest"}]}
    )
    assert posted.status_code == 201, posted.text
    await expect(row.locator('[data-stat="free"]')).to_have_text("1", timeout=WAIT_MS)
    await screenshot(page, "2-queues")


async def test_live_tail_shows_posts_and_the_list_shows_a_claim(
    page: Page, rest: httpx.AsyncClient
) -> None:
    await page.get_by_role("button", name=QUEUE, exact=True).click()
    await expect(page.locator("#queue-name")).to_have_text(QUEUE)
    await page.get_by_role("button", name="Start live tail").click()
    await expect(page.locator("#tail-state")).to_have_text("live", timeout=WAIT_MS)

    # Two messages from the console's own form, one line each.
    await page.get_by_label("Bodies: one JSON value per line").fill('{"n": 1}\n{"n": 2}')
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page.locator("#status")).to_have_text("Posted 2 message(s).")
    tail = page.locator("#tail li")
    await expect(tail.filter(has_text='{"n":2}')).to_have_count(1, timeout=WAIT_MS)
    # And one from REST, which the tail sees through the WebSocket API too.
    posted = await rest.post(
        f"/v2/queues/{QUEUE}/messages", json={"messages": [{"body": {"n": 3}}]}
    )
    message_id = posted.json()["resources"][0].rsplit("/", 1)[1]
    await expect(page.locator(f'#tail li[data-message-id="{message_id}"]')).to_contain_text(
        '{"n":3}', timeout=WAIT_MS
    )

    # Claimed from REST: with "include claimed" the browse list shows the new state.
    await page.get_by_label("include claimed").check()
    await page.get_by_role("button", name="Refresh messages").click()
    row = page.locator(f'#messages-table tr[data-message-id="{message_id}"]')
    await expect(row.locator('[data-field="state"]')).to_have_text("free", timeout=WAIT_MS)
    claimed = await rest.post(f"/v2/queues/{QUEUE}/claims?limit=10", json={"ttl": 300, "grace": 60})
    assert claimed.status_code == 201, claimed.text
    await expect(row.locator('[data-field="state"]')).to_have_text("claimed", timeout=WAIT_MS)

    await page.get_by_role("button", name=f"Peek {message_id}").click()
    await expect(page.locator("#peeked")).to_contain_text('"state": "claimed"')
    await screenshot(page, "3-queue-live-tail")

    # Deleting the claimed message uses its claim id; the API agrees it is gone.
    await page.get_by_role("button", name=f"Delete message {message_id}").click()
    await expect(row).to_have_count(0, timeout=WAIT_MS)
    assert (await rest.get(f"/v2/queues/{QUEUE}/messages/{message_id}")).status_code == 404


async def test_metadata_shows_the_api_validation_message(
    page: Page, rest: httpx.AsyncClient
) -> None:
    metadata = page.get_by_label("Metadata (JSON object")
    await metadata.fill('{"_default_message_ttl": 10}')
    await page.get_by_role("button", name="Save metadata").click()
    await expect(page.locator("#error")).to_contain_text(
        "_default_message_ttl can not exceed", timeout=WAIT_MS
    )
    await metadata.fill('{"_default_message_ttl": 300, "owner": "ops"}')
    await page.get_by_role("button", name="Save metadata").click()
    await expect(page.locator("#status")).to_have_text("Metadata saved.", timeout=WAIT_MS)
    await expect(page.locator("#error")).to_be_empty()
    stored = (await rest.get(f"/v2/queues/{QUEUE}")).json()
    assert stored["_default_message_ttl"] == 300 and stored["owner"] == "ops"


async def test_webhook_subscriptions_and_their_failed_deliveries(
    page: Page, rest: httpx.AsyncClient, receiver: HttpReceiver, refusing_receiver: HttpReceiver
) -> None:
    for url in (receiver.url, refusing_receiver.url):
        await page.get_by_label("Kind").select_option("webhook")
        await page.get_by_label("Subscriber (URL or e-mail address)").fill(url)
        await page.get_by_role("button", name="Create subscription").click()
        await expect(page.locator("#subscriptions-table")).to_contain_text(url, timeout=WAIT_MS)
    # E-mail subscribers get their mailto: from the form.
    await page.get_by_label("Kind").select_option("email")
    await page.get_by_label("Subscriber (URL or e-mail address)").fill("ops@example.com")
    await page.get_by_role("button", name="Create subscription").click()
    await expect(page.locator("#subscriptions-table")).to_contain_text("mailto:ops@example.com")

    # Edit: the TTL the API stores is the one typed.
    await page.get_by_role("button", name="Edit mailto:ops@example.com").click()
    await page.get_by_label("Subscription TTL (s)").fill("7200")
    await page.get_by_role("button", name="Save subscription").click()
    await expect(page.locator("#status")).to_have_text("Subscription saved.", timeout=WAIT_MS)
    subscriptions = (await rest.get(f"/v2/queues/{QUEUE}/subscriptions")).json()["subscriptions"]
    assert {s["subscriber"]: s["ttl"] for s in subscriptions}["mailto:ops@example.com"] == 7200

    await page.get_by_label("Bodies: one JSON value per line").fill('{"order": 42}')
    await page.get_by_role("button", name="Post", exact=True).click()

    def order_42(received: Received) -> bool:
        payload: dict[str, object] = json.loads(received.body)
        return payload.get("body") == {"order": 42}

    got = await asyncio.to_thread(receiver.wait_for, lambda r: any(map(order_42, r)), 15)
    delivered = next(filter(order_42, got))
    assert delivered.headers.get("X-Tidings-Delivery-Id")

    # The accepting webhook has no failed deliveries; the refusing one gets a record.
    await page.get_by_role("button", name=f"Deliveries of {receiver.url}").click()
    await expect(page.locator("#deliveries-table")).to_contain_text("No failed deliveries")
    records = page.locator("#deliveries-table tbody tr[data-delivery-id]")
    for _ in range(30):  # the record is written once the notifier gives up (~at once for 410)
        await page.get_by_role("button", name=f"Deliveries of {refusing_receiver.url}").click()
        await expect(page.locator("#deliveries-of")).to_have_text(refusing_receiver.url)
        if await records.count():
            break
        await page.wait_for_timeout(500)
    await expect(records.first.locator(".last-error")).to_contain_text("410")
    await screenshot(page, "4-subscriptions")

    await page.get_by_role("button", name="Delete subscription mailto:ops@example.com").click()
    await expect(page.locator("#subscriptions-table")).not_to_contain_text(
        "mailto:", timeout=WAIT_MS
    )


async def test_delayed_messages_show_only_when_asked(page: Page) -> None:
    # Zaqar delays messages only on delayed queues (a non-zero _default_message_delay).
    metadata = page.get_by_label("Metadata (JSON object")
    current = json.loads(await metadata.input_value())
    await metadata.fill(json.dumps({**current, "_default_message_delay": 30}))
    await page.get_by_role("button", name="Save metadata").click()
    await expect(page.locator("#status")).to_have_text("Metadata saved.", timeout=WAIT_MS)
    await page.get_by_label("Bodies: one JSON value per line").fill('"later"')
    await page.get_by_label("Message delay (s)").fill("120")
    await page.get_by_role("button", name="Post", exact=True).click()
    await expect(page.locator("#status")).to_have_text("Posted 1 message(s).")
    await page.get_by_label("Message delay (s)").fill("")
    table = page.locator("#messages-table tbody")
    await page.get_by_label("include delayed").uncheck()
    await page.get_by_role("button", name="Refresh messages").click()
    await expect(table).not_to_contain_text('"later"', timeout=WAIT_MS)
    await page.get_by_label("include delayed").check()
    await page.get_by_role("button", name="Refresh messages").click()
    await expect(table).to_contain_text('"later"', timeout=WAIT_MS)


async def test_purge_and_delete_from_the_list(page: Page, rest: httpx.AsyncClient) -> None:
    spare = "spare"
    assert (await rest.put(f"/v2/queues/{spare}")).status_code == 201
    posted = await rest.post(f"/v2/queues/{spare}/messages", json={"messages": [{"body": 1}]})
    assert posted.status_code == 201
    await page.get_by_role("button", name="Back to queues").click()
    row = page.locator(f'#queues-table tr[data-queue="{spare}"]')
    await expect(row.locator('[data-stat="total"]')).to_have_text("1", timeout=WAIT_MS)
    await page.get_by_role("button", name=f"Purge {spare}").click()
    await expect(row.locator('[data-stat="total"]')).to_have_text("0", timeout=WAIT_MS)
    await page.get_by_role("button", name=f"Delete {spare}").click()
    await expect(row).to_have_count(0, timeout=WAIT_MS)
    listed = (await rest.get("/v2/queues")).json()["queues"]
    assert spare not in [queue["name"] for queue in listed]


async def test_pools_and_flavors_show_what_the_api_answers(
    page: Page, rest: httpx.AsyncClient
) -> None:
    await page.get_by_role("button", name="Pools & flavors").click()
    for kind in ("pools", "flavors"):
        # The same request the page makes (this project, no admin role): whatever the API
        # answers, list or refusal, is what the page must show.
        answer = await rest.get(f"/v2/{kind}", params={"detailed": "true"})
        if answer.status_code == 200:
            items = answer.json()[kind]
            expected = items[0]["name"] if items else f"No {kind}."
        else:
            title = answer.json()["title"]
            status = "" if title.startswith(str(answer.status_code)) else f"{answer.status_code} "
            expected = f"The API answered {status}{title}"
        await expect(page.locator(f"#{kind}")).to_contain_text(expected, timeout=WAIT_MS)
    await screenshot(page, "5-pools-and-flavors")


async def test_readable_on_a_phone(page: Page) -> None:
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.get_by_role("button", name="Queues", exact=True).click()
    await expect(page.locator(f'#queues-table tr[data-queue="{QUEUE}"]')).to_be_visible()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    await screenshot(page, "6-phone-queues")
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert await page.evaluate("sessionStorage.length") == 0
