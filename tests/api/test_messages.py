"""Message routes (spec 2.7, 3.6, 3.7) over real HTTP into storage."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_error, post_messages, queue_name

OTHER_CLIENT = uuid.uuid4().hex
ITEM_KEYS = {"id", "href", "ttl", "age", "body"}


class TestPost:
    def test_created_with_location_and_resources(self, client: httpx.Client) -> None:
        queue = queue_name()
        response = client.post(
            f"/v2/queues/{queue}/messages",
            json={"messages": [{"body": {"event": "a"}, "ttl": 300}, {"body": None}]},
        )
        assert response.status_code == 201
        resources = response.json()["resources"]
        assert len(resources) == 2
        ids = [r.rsplit("/", 1)[1] for r in resources]
        assert resources[0] == f"/v2/queues/{queue}/messages/{ids[0]}"
        assert response.headers["Location"] == f"/v2/queues/{queue}/messages?ids={','.join(ids)}"
        # The Location is usable as is.
        got = client.get(response.headers["Location"]).json()["messages"]
        assert [m["id"] for m in got] == ids
        assert got[0]["ttl"] == 300 and got[1]["ttl"] == 3600
        assert got[1]["body"] is None
        assert set(got[0]) == ITEM_KEYS

    def test_twenty_messages_and_any_body_type(self, client: httpx.Client) -> None:
        bodies: list[Any] = [{"i": i} for i in range(16)] + ["s", 1.5, [1, 2], True]
        assert len(post_messages(client, queue_name(), *bodies)) == 20

    @pytest.mark.parametrize(
        ("document", "title", "description"),
        [
            ([{"body": 1}], "Invalid API request", "No messages were found in the request body."),
            ({"other": 1}, "Invalid API request", "No messages were found in the request body."),
            ({"messages": []}, "Invalid API request", "No messages to enqueu."),
            ({"messages": {"body": 1}}, "Invalid request body", "Document type not supported."),
            ({"messages": [1]}, "Invalid request body", "Document type not supported."),
            ({"messages": [{"ttl": 60}]}, "Invalid request body", 'Missing "body" field.'),
            (
                {"messages": [{"body": 1, "ttl": 60.5}]},
                "Invalid request body",
                'The value of the "ttl" field must be a int.',
            ),
            (
                {"messages": [{"body": 1, "ttl": "60"}]},
                "Invalid request body",
                'The value of the "ttl" field must be a int.',
            ),
            (
                {"messages": [{"body": 1, "ttl": 59}]},
                "Invalid API request",
                "The TTL for a message may not exceed 1209600 seconds, and must be at least 60 "
                "seconds long.",
            ),
            (
                {"messages": [{"body": 1, "ttl": 1209601}]},
                "Invalid API request",
                "The TTL for a message may not exceed 1209600 seconds, and must be at least 60 "
                "seconds long.",
            ),
            ({"messages": [{"body": 1, "delay": 901}]}, "Invalid API request", None),
        ],
    )
    def test_invalid_documents(
        self, client: httpx.Client, document: Any, title: str, description: str | None
    ) -> None:
        response = client.post(f"/v2/queues/{queue_name()}/messages", json=document)
        assert_error(response, 400, title, description)

    @pytest.mark.parametrize("body", [b"", b"{", b"[", b".", b'"fail"', b"123", b"\xff\xfe"])
    def test_unparsable_bodies(self, client: httpx.Client, body: bytes) -> None:
        response = client.post(f"/v2/queues/{queue_name()}/messages", content=body)
        assert_error(response, 400, "Invalid request body")

    def test_chunked_body_counts_as_empty(self, client: httpx.Client) -> None:
        def chunks() -> Any:
            yield b'{"messages": [{"body": 1}]}'

        response = client.post(f"/v2/queues/{queue_name()}/messages", content=chunks())
        assert_error(response, 400, "Invalid request body", "Request body can not be empty")

    def test_integer_too_large(self, client: httpx.Client) -> None:
        response = client.post(
            f"/v2/queues/{queue_name()}/messages",
            content=b'{"messages": [{"body": 9223372036854775808}]}',
        )
        assert_error(
            response, 400, "Invalid request body", "JSON contains integer that is too large."
        )
        ok = client.post(
            f"/v2/queues/{queue_name()}/messages",
            content=b'{"messages": [{"body": 9223372036854775807}]}',
        )
        assert ok.status_code == 201

    def test_too_large(self, client: httpx.Client) -> None:
        body = b'{"messages": [{"body": "' + b"x" * 262144 + b'"}]}'
        response = client.post(f"/v2/queues/{queue_name()}/messages", content=body)
        assert_error(
            response,
            400,
            "Invalid API request",
            "Message collection size is too large. Max size 262144",
        )

    def test_queue_limit(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"_max_messages_post_size": 100})
        body = {"messages": [{"body": "x" * 200}]}
        body_error = assert_error(client.post(f"/v2/queues/{queue}/messages", json=body), 400)
        assert "max size for current queue is 100" in body_error["description"]
        assert (
            client.post(
                f"/v2/queues/{queue}/messages", json={"messages": [{"body": 1}]}
            ).status_code
            == 201
        )

    def test_post_creates_the_queue(self, client: httpx.Client) -> None:
        queue = queue_name()
        post_messages(client, queue, 1)
        names = [q["name"] for q in client.get("/v2/queues").json()["queues"]]
        assert queue in names


class TestList:
    def test_echo_and_client_id(self, client: httpx.Client) -> None:
        queue = queue_name()
        post_messages(client, queue, "mine")
        other = {"Client-ID": OTHER_CLIENT}
        client.post(
            f"/v2/queues/{queue}/messages", json={"messages": [{"body": "theirs"}]}, headers=other
        )
        own_view = client.get(f"/v2/queues/{queue}/messages").json()["messages"]
        assert [m["body"] for m in own_view] == ["theirs"]
        echoed = client.get(f"/v2/queues/{queue}/messages", params={"echo": "true"}).json()
        assert [m["body"] for m in echoed["messages"]] == ["mine", "theirs"]

    def test_pagination_sees_every_message_once(self, client: httpx.Client) -> None:
        queue = queue_name()
        ids = post_messages(client, queue, *range(25))
        seen: list[str] = []
        page = client.get(
            f"/v2/queues/{queue}/messages", params={"echo": "true", "limit": 7}
        ).json()
        rounds = 0
        while page["messages"] and rounds < 10:
            rounds += 1
            seen.extend(m["id"] for m in page["messages"])
            href = page["links"][0]["href"]
            assert "limit=7" in href and "echo=true" in href and "include_delayed=true" in href
            page = client.get(href).json()
        assert seen == ids
        assert page == {"messages": [], "links": []}

    def test_include_claimed(self, client: httpx.Client) -> None:
        queue = queue_name()
        post_messages(client, queue, 1, 2)
        client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
        listed = client.get(f"/v2/queues/{queue}/messages", params={"echo": "true"}).json()
        assert [m["body"] for m in listed["messages"]] == [2]
        everything = client.get(
            f"/v2/queues/{queue}/messages", params={"echo": "true", "include_claimed": "true"}
        ).json()["messages"]
        assert [m["body"] for m in everything] == [1, 2]
        assert "?claim_id=" in everything[0]["href"]
        assert "?" not in everything[1]["href"]

    def test_unknown_queue_and_bad_marker(self, client: httpx.Client) -> None:
        assert client.get(f"/v2/queues/{queue_name()}/messages").json() == {
            "messages": [],
            "links": [],
        }
        queue = queue_name()
        post_messages(client, queue, 1)
        response = client.get(f"/v2/queues/{queue}/messages", params={"marker": "abc", "echo": "1"})
        assert response.json()["messages"] == []

    @pytest.mark.parametrize("limit", ["0", "-1", "21"])
    def test_limit(self, client: httpx.Client, limit: str) -> None:
        response = client.get(f"/v2/queues/{queue_name()}/messages", params={"limit": limit})
        assert_error(
            response,
            400,
            "Invalid API request",
            "Limit must be at least 1 and may not be greater than 20.",
        )

    @pytest.mark.parametrize("param", ["echo", "include_claimed", "include_delayed"])
    def test_bad_bools(self, client: httpx.Client, param: str) -> None:
        response = client.get(f"/v2/queues/{queue_name()}/messages", params={param: "None"})
        assert_error(response, 400, "Invalid parameter")


class TestGetByIds:
    def test_known_unknown_and_malformed(self, client: httpx.Client) -> None:
        queue = queue_name()
        ids = post_messages(client, queue, 1, 2)
        wanted = ",".join([ids[0], uuid.uuid4().hex, "-1", ids[1]])
        body = client.get(f"/v2/queues/{queue}/messages", params={"ids": wanted}).json()
        assert [m["id"] for m in body["messages"]] == ids
        assert "links" not in body

    def test_none_found_is_404(self, client: httpx.Client) -> None:
        queue = queue_name()
        post_messages(client, queue, 1)
        assert_error(client.get(f"/v2/queues/{queue}/messages", params={"ids": "-1"}), 404)
        assert_error(
            client.get(f"/v2/queues/{queue_name()}/messages", params={"ids": uuid.uuid4().hex}), 404
        )

    def test_too_many(self, client: httpx.Client) -> None:
        ids = ",".join(uuid.uuid4().hex for _ in range(21))
        response = client.get(f"/v2/queues/{queue_name()}/messages", params={"ids": ids})
        assert_error(response, 400, "Invalid API request")

    def test_single_get(self, client: httpx.Client) -> None:
        queue = queue_name()
        (message_id,) = post_messages(client, queue, {"k": "v"})
        item = client.get(f"/v2/queues/{queue}/messages/{message_id}").json()
        assert item["id"] == message_id
        assert item["href"] == f"/v2/queues/{queue}/messages/{message_id}"
        assert item["body"] == {"k": "v"}
        assert set(item) == ITEM_KEYS
        assert_error(client.get(f"/v2/queues/{queue}/messages/{uuid.uuid4().hex}"), 404)
        assert_error(client.get(f"/v2/queues/{queue}/messages/not-an-id"), 404)
        assert_error(client.get(f"/v2/queues/{queue_name()}/messages/{message_id}"), 404)


class TestDelete:
    def test_bulk_delete_ignores_claims(self, client: httpx.Client) -> None:
        queue = queue_name()
        ids = post_messages(client, queue, 1, 2, 3)
        client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
        wanted = ",".join(ids[:2])
        assert (
            client.delete(f"/v2/queues/{queue}/messages", params={"ids": wanted}).status_code == 204
        )
        assert_error(client.get(f"/v2/queues/{queue}/messages", params={"ids": wanted}), 404)
        unknown = {"ids": uuid.uuid4().hex}
        assert client.delete(f"/v2/queues/{queue}/messages", params=unknown).status_code == 204
        assert (
            client.delete(f"/v2/queues/{queue_name()}/messages", params=unknown).status_code == 204
        )

    @pytest.mark.parametrize(
        ("params", "description"),
        [
            (
                {},
                'The request should have either "ids" or "pop" parameter in the request, to be '
                "able to delete.",
            ),
            (
                {"ids": "a", "pop": "1"},
                "pop and id params cannot be present together in the delete request.",
            ),
            ({"pop": "0"}, "Pop value must be at least 1 and may not be greater than 20."),
            ({"pop": "-1"}, "Pop value must be at least 1 and may not be greater than 20."),
            ({"pop": "1000000000"}, "Pop value must be at least 1 and may not be greater than 20."),
            ({"ids": ",".join(str(i) for i in range(21))}, None),
        ],
    )
    def test_bulk_parameters(
        self, client: httpx.Client, params: dict[str, str], description: str | None
    ) -> None:
        response = client.delete(f"/v2/queues/{queue_name()}/messages", params=params)
        assert_error(response, 400, "Invalid API request", description)

    def test_pop_of_blank_space_is_400(self, client: httpx.Client) -> None:
        assert_error(client.delete(f"/v2/queues/{queue_name()}/messages?pop=%20"), 400)

    def test_pop(self, client: httpx.Client) -> None:
        queue = queue_name()
        post_messages(client, queue, 1, 2, 3)
        client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
        popped = client.delete(f"/v2/queues/{queue}/messages", params={"pop": 5})
        assert popped.status_code == 200
        items = popped.json()["messages"]
        assert sorted(m["body"] for m in items) == [2, 3]  # the claimed one stays
        assert set(items[0]) == {"id", "age", "ttl", "claim_count", "claim_id", "body"}
        empty = client.delete(f"/v2/queues/{queue}/messages", params={"pop": 1}).json()
        assert empty == {"messages": []}

    def test_single_delete_claim_rules(self, client: httpx.Client) -> None:
        queue = queue_name()
        ids = post_messages(client, queue, 1, 2)
        claim = client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
        claim_id = claim.headers["Location"].rsplit("/", 1)[1]
        claimed_href = claim.json()["messages"][0]["href"]
        claimed_id = claimed_href.split("?")[0].rsplit("/", 1)[1]
        free_id = next(i for i in ids if i != claimed_id)
        base = f"/v2/queues/{queue}/messages"
        assert_error(
            client.delete(f"{base}/{claimed_id}"),
            403,
            "Unable to delete",
            "This message is claimed; it cannot be deleted without a valid claim ID.",
        )
        assert_error(
            client.delete(f"{base}/{free_id}", params={"claim_id": "123"}),
            400,
            "Unable to delete",
            "The specified claim does not exist or has expired.",
        )
        assert_error(
            client.delete(f"{base}/{free_id}", params={"claim_id": claim_id}),
            400,
            "Unable to delete",
            "A claim was specified, but the message is not currently claimed.",
        )
        assert client.delete(claimed_href).status_code == 204  # the href carries the claim id
        assert client.delete(f"{base}/{free_id}").status_code == 204
        assert client.delete(f"{base}/{free_id}").status_code == 204
        assert client.delete(f"{base}/not-an-id").status_code == 204
