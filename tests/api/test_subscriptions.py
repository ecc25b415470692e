"""Subscription routes (spec 2.9) and the failed-deliveries extension, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import assert_error, queue_name

HOOK = "http://127.0.0.1:9/hook"
SUPPORTED = "['http', 'https', 'mailto', 'trust+http', 'trust+https']"


def subscribe(http: httpx.Client, queue: str, **body: object) -> httpx.Response:
    return http.post(f"/v2/queues/{queue}/subscriptions", json=body)


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    sid: str = response.json()["subscription_id"]
    return sid


def test_create_get_list_update_delete(client: httpx.Client) -> None:
    queue = queue_name()
    response = subscribe(client, queue, subscriber=HOOK, ttl=600, options={"name": "t"})
    sid = created_id(response)
    assert response.headers["Location"] == f"/v2/queues/{queue}/subscriptions"
    secret = response.json()["signing_secret"]
    assert len(secret) == 64
    assert client.get(f"/v2/queues/{queue}").status_code == 200  # lazily created

    item = client.get(f"/v2/queues/{queue}/subscriptions/{sid}").json()
    assert item == {
        "id": sid,
        "source": queue,
        "subscriber": HOOK,
        "ttl": 600,
        "age": item["age"],
        "options": {"name": "t"},
        "confirmed": False,
        "signing_secret": secret,
    }
    listed = client.get(f"/v2/queues/{queue}/subscriptions").json()
    assert [s["id"] for s in listed["subscriptions"]] == [sid]
    assert "signing_secret" not in listed["subscriptions"][0]
    assert listed["links"] == [
        {"rel": "next", "href": f"/v2/queues/{queue}/subscriptions?marker={sid}"}
    ]

    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    patched = client.patch(path, json={"options": {"other": 1}, "ttl": 120})
    assert patched.status_code == 204 and patched.headers["Location"] == path
    item = client.get(path).json()
    assert (item["options"], item["ttl"]) == ({"other": 1}, 120)  # replaced, not merged

    assert client.delete(path).status_code == 204
    assert_error(client.get(path), 404, "Not found")
    assert client.delete(path).status_code == 204  # always 204
    assert client.delete(f"/v2/queues/{queue}/subscriptions/nonsense").status_code == 204
    empty = client.get(f"/v2/queues/{queue}/subscriptions").json()
    assert empty == {"subscriptions": [], "links": []}


def test_list_pages_with_marker_and_limit(client: httpx.Client) -> None:
    queue = queue_name()
    sids = [created_id(subscribe(client, queue, subscriber=f"{HOOK}/{i}")) for i in range(4)]
    page = client.get(f"/v2/queues/{queue}/subscriptions", params={"limit": 3}).json()
    assert [s["id"] for s in page["subscriptions"]] == sids[:3]
    following = client.get(page["links"][0]["href"]).json()
    assert [s["id"] for s in following["subscriptions"]] == sids[3:]
    assert all(s["source"] == queue for s in page["subscriptions"])
    for bad in ("0", "21"):
        assert_error(
            client.get(f"/v2/queues/{queue}/subscriptions", params={"limit": bad}),
            400,
            "Invalid API request",
            "Limit must be at least 1 and may not be greater than 20.",
        )
    assert_error(
        client.get(f"/v2/queues/{queue}/subscriptions", params={"limit": "x"}),
        400,
        "Invalid parameter",
    )
    assert client.get("/v2/queues/never-made/subscriptions").json() == {
        "subscriptions": [],
        "links": [],
    }


def test_duplicates_201_with_the_same_id_until_confirmed_then_409(client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber="mailto:a@example.com", ttl=600))
    assert created_id(subscribe(client, queue, subscriber="mailto:a@example.com", ttl=900)) == sid
    assert client.get(f"/v2/queues/{queue}/subscriptions/{sid}").json()["ttl"] == 600
    confirm = client.put(
        f"/v2/queues/{queue}/subscriptions/{sid}/confirm", json={"confirmed": True}
    )
    assert confirm.status_code == 204
    assert confirm.headers["Location"] == f"/v2/queues/{queue}/subscriptions/{sid}/confirm"
    assert client.get(f"/v2/queues/{queue}/subscriptions/{sid}").json()["confirmed"] is True
    conflict = subscribe(client, queue, subscriber="mailto:a@example.com")
    assert_error(
        conflict,
        409,
        "Resource conflict",
        "Such subscription already exists.Subscriptions are unique by project + queue + "
        "subscriber URI.",
    )
    assert conflict.headers["Location"] == f"/v2/queues/{queue}/subscriptions"


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({}, "Missing parameter subscriber in body."),
        ({"ttl": 600}, "Missing parameter subscriber in body."),
        (
            {"subscriber": "fake"},
            f"The subscriber type of subscription must be supported in the list {SUPPORTED}.",
        ),
        (
            {"subscriber": "email://fake"},
            f"The subscriber type of subscription must be supported in the list {SUPPORTED}.",
        ),
        ({"subscriber": HOOK, "options": "x"}, "Options must be a dict."),
        ({"subscriber": HOOK, "ttl": "x"}, "TTL must be an integer."),
        (
            {"subscriber": HOOK, "ttl": 59},
            "The TTL for a subscription must be at least 60 seconds long.",
        ),
        (
            {"subscriber": HOOK, "ttl": 99999999999999999},
            "The TTL seconds for a subscription plus current time must be less than "
            "9999-12-31 23:59:59.999999.",
        ),
        ({"subscriber": HOOK, "options": {"_retry_policy": 1}}, "retry_policy must be a dict."),
        (
            {"subscriber": HOOK, "options": {"_retry_policy": {"retry_backoff_function": "x"}}},
            "invalid retry_backoff_function.",
        ),
        (
            {"subscriber": HOOK, "options": {"_retry_policy": {"minimum_delay": 25}}},
            "invalid minimum_delay and maximum_delay.",
        ),
    ],
)
def test_create_validation(client: httpx.Client, body: dict[str, object], description: str) -> None:
    assert_error(subscribe(client, queue_name(), **body), 400, "Invalid API request", description)


def test_create_with_unparsable_or_missing_body(client: httpx.Client) -> None:
    path = f"/v2/queues/{queue_name()}/subscriptions"
    assert_error(
        client.post(path, content=b"{nope"),
        400,
        "Invalid request body",
        "Request body could not be parsed.",
    )
    assert_error(
        client.post(path), 400, "Invalid API request", "Missing parameter subscriber in body."
    )
    assert_error(
        client.post(path, json=[1]), 400, "Invalid API request", "Subscriptions must be a dict."
    )
    assert_error(
        client.post("/v2/queues/bad%20name/subscriptions", json={"subscriber": HOOK}),
        400,
        "Invalid queue identification",
    )


def test_update_validation_conflict_and_not_found(client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK))
    created_id(subscribe(client, queue, subscriber="mailto:b@example.com"))
    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    assert_error(
        client.patch(path, json={}), 400, "Invalid API request", "No subscription to create."
    )
    assert_error(client.patch(path), 400, "Invalid API request", "No subscription to create.")
    assert_error(
        client.patch(path, json=[1]), 400, "Invalid API request", "Subscriptions must be a dict."
    )
    assert_error(client.patch(path, json={"other": 1}), 400, "Unable to update subscription")
    assert_error(client.patch(path, json={"ttl": 10}), 400, "Invalid API request")
    assert_error(client.patch(path, json={"subscriber": "fake"}), 400, "Invalid API request")
    assert_error(
        client.patch(path, json={"subscriber": "mailto:b@example.com"}), 409, "Resource conflict"
    )
    assert client.patch(path, json={"subscriber": "https://127.0.0.1:9/x"}).status_code == 204
    assert client.get(path).json()["subscriber"] == "https://127.0.0.1:9/x"
    for missing in (
        f"/v2/queues/{queue}/subscriptions/{'f' * 32}",
        f"/v2/queues/{queue}/subscriptions/not-an-id",
        f"/v2/queues/other-{queue}/subscriptions/{sid}",
    ):
        assert_error(client.patch(missing, json={"ttl": 120}), 404, "Not found")
        assert_error(client.get(missing), 404, "Not found")


def test_update_treats_null_fields_as_not_given(client: httpx.Client) -> None:
    # What `openstack messaging subscription update q id --ttl 7200 --options ...` sends:
    # Zaqar skips falsy fields in validation and drops None ones in storage.
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK, ttl=600, options={"a": 1}))
    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    body: dict[str, object] = {"subscriber": None, "ttl": 7200, "options": {"b": 2}}
    assert client.patch(path, json=body).status_code == 204
    item = client.get(path).json()
    assert (item["subscriber"], item["ttl"], item["options"]) == (HOOK, 7200, {"b": 2})
    body = {"subscriber": f"{HOOK}/moved", "ttl": None, "options": None}
    assert client.patch(path, json=body).status_code == 204
    item = client.get(path).json()
    assert (item["subscriber"], item["ttl"], item["options"]) == (f"{HOOK}/moved", 7200, {"b": 2})
    nothing = {"subscriber": None, "ttl": None, "options": None}
    assert_error(client.patch(path, json=nothing), 400, "Unable to update subscription")


def test_confirm_validation_and_not_found(client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK))
    path = f"/v2/queues/{queue}/subscriptions/{sid}/confirm"
    for body in ({"confirmed": "yes"}, {"confirmed": 1}, {}):
        assert_error(
            client.put(path, json=body),
            400,
            "Invalid API request",
            "The 'confirmed' should be boolean.",
        )
    assert_error(client.put(path, content=b"[nope"), 400, "Invalid request body")
    assert client.put(path, json={"confirmed": False}).status_code == 204
    missing = f"/v2/queues/{queue}/subscriptions/{'e' * 32}/confirm"
    assert_error(client.put(missing, json={"confirmed": True}), 404, "Not found")
    assert_error(client.post(path, json={"confirmed": True}), 405)  # PUT, as the code has it


def test_projects_are_isolated(client: httpx.Client, other_client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK))
    path = f"/v2/queues/{queue}/subscriptions/{sid}"
    assert_error(other_client.get(path), 404)
    assert_error(other_client.patch(path, json={"ttl": 120}), 404)
    assert_error(other_client.put(f"{path}/confirm", json={"confirmed": True}), 404)
    assert other_client.delete(path).status_code == 204
    assert other_client.get(f"/v2/queues/{queue}/subscriptions").json()["subscriptions"] == []
    assert client.get(path).status_code == 200  # the other tenant's delete did nothing
    assert created_id(subscribe(other_client, queue, subscriber=HOOK)) != sid


def test_purge_removes_subscriptions_and_queue_delete_keeps_them(client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK))
    assert client.delete(f"/v2/queues/{queue}").status_code == 204
    assert client.get(f"/v2/queues/{queue}/subscriptions/{sid}").status_code == 200
    assert client.put(f"/v2/queues/{queue}").status_code == 201
    purge = client.post(f"/v2/queues/{queue}/purge", json={"resource_types": ["subscriptions"]})
    assert purge.status_code == 204
    assert_error(client.get(f"/v2/queues/{queue}/subscriptions/{sid}"), 404)


def test_failed_deliveries_extension_starts_empty(client: httpx.Client) -> None:
    queue = queue_name()
    sid = created_id(subscribe(client, queue, subscriber=HOOK))
    listed = client.get(f"/v2/queues/{queue}/subscriptions/{sid}/failed_deliveries")
    assert listed.status_code == 200
    assert listed.json() == {"failed_deliveries": [], "links": []}
