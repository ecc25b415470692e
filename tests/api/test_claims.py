"""Claim routes (spec 2.8) over real HTTP into storage."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.conftest import assert_error, post_messages, queue_name


def claim(http: httpx.Client, queue: str, **kwargs: object) -> httpx.Response:
    return http.post(f"/v2/queues/{queue}/claims", **kwargs)  # type: ignore[arg-type]


def test_create_get_renew_release(client: httpx.Client) -> None:
    queue = queue_name()
    post_messages(client, queue, 1, 2, 3)
    created = claim(client, queue, params={"limit": 2}, json={"ttl": 120, "grace": 60})
    assert created.status_code == 201
    location = created.headers["Location"]
    claim_id = location.rsplit("/", 1)[1]
    assert location == f"/v2/queues/{queue}/claims/{claim_id}"
    messages = created.json()["messages"]
    assert [m["body"] for m in messages] == [1, 2]
    assert all(m["href"].endswith(f"?claim_id={claim_id}") for m in messages)
    assert "claim_id" not in created.json()

    got = client.get(location).json()
    assert got["href"] == location
    assert got["ttl"] == 120 and got["age"] >= 0
    assert [m["body"] for m in got["messages"]] == [1, 2]

    assert client.patch(location, json={"ttl": 300}).status_code == 204
    assert client.get(location).json()["ttl"] == 300
    assert client.patch(location, json={}).status_code == 204  # config defaults

    assert client.delete(location).status_code == 204
    assert_error(client.get(location), 404)
    again = claim(client, queue, params={"limit": 5})
    assert [m["body"] for m in again.json()["messages"]] == [1, 2, 3]


def test_defaults_and_nothing_to_claim(client: httpx.Client) -> None:
    queue = queue_name()
    assert claim(client, queue).status_code == 204  # unknown queue
    post_messages(client, queue, *range(12))
    created = claim(client, queue)
    assert len(created.json()["messages"]) == 10  # default limit
    assert client.get(created.headers["Location"]).json()["ttl"] == 300
    assert claim(client, queue, json={}).status_code == 201
    response = claim(client, queue, params={"limit": 5})
    assert response.status_code == 204
    assert "Location" not in response.headers
    assert claim(client, queue, params={"unknown": "x"}).status_code == 204


@pytest.mark.parametrize("body", [b"[", b"[]", b".", b'"fail"', b"123", b'{"ttl": null}'])
def test_bad_bodies(client: httpx.Client, body: bytes) -> None:
    assert_error(claim(client, queue_name(), content=body), 400)


@pytest.mark.parametrize(
    ("body", "description"),
    [
        (
            {"ttl": 59},
            "The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds "
            "long.",
        ),
        (
            {"ttl": 43201},
            "The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds "
            "long.",
        ),
        (
            {"grace": 59},
            "The grace for a claim may not exceed 43200 seconds, and must be at least 60 seconds "
            "long.",
        ),
    ],
)
def test_ranges(client: httpx.Client, body: dict[str, int], description: str) -> None:
    assert_error(claim(client, queue_name(), json=body), 400, "Invalid API request", description)


@pytest.mark.parametrize("limit", ["0", "-1", "21", "200"])
def test_limit(client: httpx.Client, limit: str) -> None:
    assert_error(claim(client, queue_name(), params={"limit": limit}), 400)


def test_unknown_claims(client: httpx.Client) -> None:
    queue = queue_name()
    post_messages(client, queue, 1)
    for claim_id in (uuid.uuid4().hex, "123"):
        path = f"/v2/queues/{queue}/claims/{claim_id}"
        assert_error(client.get(path), 404)
        assert_error(client.patch(path, json={"ttl": 100}), 404)
        assert client.delete(path).status_code == 204


def test_renew_validation(client: httpx.Client) -> None:
    queue = queue_name()
    post_messages(client, queue, 1)
    location = claim(client, queue).headers["Location"]

    def stream() -> object:
        yield b"{}"

    assert_error(
        client.patch(location, content=stream()),  # type: ignore[arg-type]
        400,
        "Invalid request body",
        "Request body can not be empty",
    )
    assert_error(client.patch(location, content=b"{"), 400, "Invalid request body")
    assert_error(client.patch(location, json={"ttl": 10}), 400, "Invalid API request")
    # grace is not range-checked on renew (spec 2.8.3)
    assert client.patch(location, json={"ttl": 100, "grace": 10}).status_code == 204


def test_claim_of_deleted_queue(client: httpx.Client) -> None:
    queue = queue_name()
    post_messages(client, queue, 1)
    location = claim(client, queue).headers["Location"]
    client.delete(f"/v2/queues/{queue}")
    assert_error(client.get(location), 404)
    assert_error(client.patch(location, json={"ttl": 100}), 404)
