"""Queue routes (spec 2.5, 2.6) and the laziness table (spec 3.10) for queues."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import assert_error, post_messages, queue_name

PATCH_TYPE = "application/openstack-messaging-v2.0-json-patch"
DEFAULTS = {
    "_max_messages_post_size": 262144,
    "_default_message_ttl": 3600,
    "_default_message_delay": 0,
    "_dead_letter_queue": None,
    "_dead_letter_queue_messages_ttl": None,
    "_max_claim_count": None,
    "_enable_encrypt_messages": False,
}


def patch(http: httpx.Client, queue: str, ops: Any, **kwargs: Any) -> httpx.Response:
    headers = {"Content-Type": PATCH_TYPE, **kwargs.pop("headers", {})}
    return http.patch(f"/v2/queues/{queue}", json=ops, headers=headers, **kwargs)


class TestCreate:
    def test_created_then_existing(self, client: httpx.Client) -> None:
        queue = queue_name()
        first = client.put(f"/v2/queues/{queue}", json={"description": "billing"})
        assert first.status_code == 201
        assert first.headers["Location"] == f"/v2/queues/{queue}"
        assert first.content == b""
        second = client.put(f"/v2/queues/{queue}", json={"description": "changed"})
        assert second.status_code == 204
        # An existing queue keeps its metadata (spec 2.5.2).
        assert client.get(f"/v2/queues/{queue}").json()["description"] == "billing"

    def test_metadata_defaults_filled(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"a": 1, "_default_message_ttl": 120})
        assert client.get(f"/v2/queues/{queue}").json() == {
            **DEFAULTS,
            "a": 1,
            "_default_message_ttl": 120,
        }

    @pytest.mark.parametrize("body", [b"[]", b"[1]", b"  ", b"{", b'"fail"', b"123", b"null"])
    def test_bad_bodies(self, client: httpx.Client, body: bytes) -> None:
        assert_error(client.put(f"/v2/queues/{queue_name()}", content=body), 400)

    def test_array_is_document_type_not_supported(self, client: httpx.Client) -> None:
        response = client.put(f"/v2/queues/{queue_name()}", content=b"[]")
        assert_error(response, 400, "Invalid request body", "Document type not supported.")

    @pytest.mark.parametrize(
        ("metadata", "description"),
        [
            ({"_default_message_ttl": "x"}, "_default_message_ttl must be integer."),
            (
                {"_default_message_ttl": 0},
                "_default_message_ttl can not exceed 1209600 seconds, and must be at least 60 "
                "seconds long.",
            ),
            ({"_max_messages_post_size": 1.5}, "_max_messages_post_size must be integer."),
            (
                {"_max_messages_post_size": 262145},
                "_max_messages_post_size can not exceed 262144,  and must be at least greater "
                "than 0.",
            ),
            ({"_max_claim_count": "2"}, "_max_claim_count must be integer."),
            (
                {"_dead_letter_queue_messages_ttl": "x"},
                "_dead_letter_queue_messages_ttl must be integer.",
            ),
            ({"_default_message_delay": "x"}, "_default_message_delay must be integer."),
            ({"_enable_encrypt_messages": "yes"}, "_enable_encrypt_messages must be boolean."),
            ({"_retry_policy": [1]}, "retry_policy must be a dict."),
            (
                {"_retry_policy": {"minimum_delay": "5"}},
                "Retry policy: minimum_delay must be a integer.",
            ),
            (
                {"_retry_policy": {"retry_backoff_function": 3}},
                "retry_backoff_function must be a string.",
            ),
            (
                {"_retry_policy": {"retry_backoff_function": "cubic"}},
                "invalid retry_backoff_function.",
            ),
            (
                {"_retry_policy": {"ignore_subscription_override": "y"}},
                "ignore_subscription_override must be a boolean.",
            ),
            (
                {"_retry_policy": {"minimum_delay": 40}},
                "minimum_delay must less than maximum_delay.",
            ),
            (
                {"_retry_policy": {"minimum_delay": 25}},
                "invalid minimum_delay and maximum_delay.",
            ),
        ],
    )
    def test_reserved_metadata_validation(
        self, client: httpx.Client, metadata: dict[str, Any], description: str
    ) -> None:
        response = client.put(f"/v2/queues/{queue_name()}", json=metadata)
        assert_error(response, 400, "Invalid API request", description)

    def test_valid_reserved_metadata(self, client: httpx.Client) -> None:
        metadata = {
            "_max_claim_count": 0,
            "_enable_encrypt_messages": True,
            "_retry_policy": {"minimum_delay": 5, "maximum_delay": 60},
            "_dead_letter_queue": "dlq",
        }
        assert client.put(f"/v2/queues/{queue_name()}", json=metadata).status_code == 201

    def test_metadata_too_large_is_refused_by_length(self, client: httpx.Client) -> None:
        body = b'{"a": "' + b"x" * 65536 + b'"}'
        assert_error(
            client.put(f"/v2/queues/{queue_name()}", content=body),
            400,
            "Invalid API request",
            "Queue metadata is too large. Max size: 65536",
        )


class TestGet:
    def test_missing_queue_is_200_with_defaults(self, client: httpx.Client) -> None:
        response = client.get(f"/v2/queues/{queue_name()}")
        assert response.status_code == 200
        assert response.json() == DEFAULTS

    def test_falsy_reserved_values_show_defaults(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"_max_claim_count": 0})
        assert client.get(f"/v2/queues/{queue}").json()["_max_claim_count"] is None


class TestPatch:
    def test_add_replace_remove(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"keep": 1, "drop": 2})
        response = patch(
            client,
            queue,
            [
                {"op": "add", "path": "/metadata/new", "value": "n"},
                {"op": "replace", "path": "/metadata/keep", "value": 10},
                {"op": "remove", "path": "/metadata/drop"},
                {"op": "replace", "path": "/metadata/_max_claim_count", "value": 3},
                {"op": "add", "path": "/metadata/a~1b~0c", "value": True},
            ],
        )
        assert response.status_code == 200, response.text
        expected = {**DEFAULTS, "keep": 10, "new": "n", "_max_claim_count": 3, "a/b~c": True}
        assert response.json() == expected
        assert client.get(f"/v2/queues/{queue}").json() == expected

    def test_remove_absent_reserved_key_is_a_no_op(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        response = patch(client, queue, [{"op": "remove", "path": "/metadata/_max_claim_count"}])
        assert response.status_code == 200

    def test_conflicts(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        for op in ("replace", "remove"):
            change: dict[str, Any] = {"op": op, "path": "/metadata/missing", "value": 1}
            response = patch(client, queue, [change])
            assert_error(response, 409, "Resource conflict")

    def test_missing_queue_is_404(self, client: httpx.Client) -> None:
        response = patch(client, queue_name(), [{"op": "add", "path": "/metadata/a", "value": 1}])
        assert_error(response, 404)

    @pytest.mark.parametrize(
        "content_type", [None, "application/json", PATCH_TYPE + "; charset=utf-8"]
    )
    def test_wrong_content_type_is_415(
        self, client: httpx.Client, content_type: str | None
    ) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = client.patch(
            f"/v2/queues/{queue}",
            content=b'[{"op": "add", "path": "/metadata/a", "value": 1}]',
            headers=headers,
        )
        body = assert_error(response, 415)
        assert "Accepted media type for PATCH" in body["description"]

    def test_empty_body(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        response = client.patch(f"/v2/queues/{queue}", headers={"Content-Type": PATCH_TYPE})
        assert_error(
            response, 400, "Invalid request body", "PATCH body could not be empty for update."
        )

    @pytest.mark.parametrize(
        "ops",
        [
            {"op": "add"},
            [{"path": "/metadata/a", "value": 1}],
            [{"op": "move", "path": "/metadata/a", "value": 1}],
            [{"op": "add", "path": "/a", "value": 1}],
            [{"op": "add", "path": "metadata/a", "value": 1}],
            [{"op": "add", "path": "/metadata//a", "value": 1}],
            [{"op": "add", "path": "/metadata/a/", "value": 1}],
            [{"op": "add", "path": "/metadata/a~2", "value": 1}],
            [{"op": "add", "path": "/other/a", "value": 1}],
            [{"op": "add", "path": "/metadata/a"}],
            [{"op": "add", "path": 5, "value": 1}],
            [{"op": "add", "value": 1}],
            ["add"],
            [{"op": "add", "path": "/metadata/_default_message_ttl", "value": 10}],
        ],
    )
    def test_invalid_operations(self, client: httpx.Client, ops: Any) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        assert_error(patch(client, queue, ops), 400, "Invalid request body")

    def test_too_large(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}")
        body = b'[{"op": "add", "path": "/metadata/a", "value": "' + b"x" * 65536 + b'"}]'
        response = client.patch(
            f"/v2/queues/{queue}", content=body, headers={"Content-Type": PATCH_TYPE}
        )
        assert_error(response, 400, description="Queue metadata is too large. Max size: 65536")


class TestList:
    def test_pagination_detailed_and_count(self, client: httpx.Client) -> None:
        names = sorted(queue_name() for _ in range(3))
        for name in names:
            client.put(f"/v2/queues/{name}", json={"n": name})
        first = client.get(
            "/v2/queues", params={"limit": 2, "detailed": "true", "with_count": "true"}
        )
        body = first.json()
        assert [q["name"] for q in body["queues"]] == names[:2]
        assert body["queues"][0]["href"] == f"/v2/queues/{names[0]}"
        assert body["queues"][0]["metadata"] == {**DEFAULTS, "n": names[0]}
        assert body["count"] == 3
        link = body["links"][0]
        assert link["rel"] == "next"
        assert link["href"] == (
            f"/v2/queues?marker={names[1]}&limit=2&detailed=true&with_count=true"
        )
        second = client.get(link["href"]).json()
        assert [q["name"] for q in second["queues"]] == names[2:]
        assert len(second["links"]) == 1  # a next link even on the last page
        third = client.get(second["links"][0]["href"]).json()
        assert third == {"queues": [], "links": [], "count": 3}  # count is of the project

    def test_default_page_is_ten_and_no_metadata(self, client: httpx.Client) -> None:
        for _ in range(11):
            client.put(f"/v2/queues/{queue_name()}")
        body = client.get("/v2/queues").json()
        assert len(body["queues"]) == 10
        assert "metadata" not in body["queues"][0]
        assert "count" not in body

    def test_empty(self, client: httpx.Client) -> None:
        response = client.get("/v2/queues", params={"with_count": "true"})
        assert response.json() == {"queues": [], "links": []}

    def test_name_and_metadata_filters(self, client: httpx.Client) -> None:
        client.put("/v2/queues/alpha-one", json={"tier": 1, "team": "x"})
        client.put("/v2/queues/alpha-two", json={"tier": 2})
        client.put("/v2/queues/beta", json={"tier": 1})
        by_name = client.get("/v2/queues", params={"name": "alpha"}).json()
        assert [q["name"] for q in by_name["queues"]] == ["alpha-one", "alpha-two"]
        by_meta = client.get("/v2/queues", params={"tier": "1"}).json()
        assert [q["name"] for q in by_meta["queues"]] == ["alpha-one", "beta"]
        # filters are not carried into the next link
        assert "tier" not in by_meta["links"][0]["href"]
        both = client.get("/v2/queues", params={"tier": "1", "team": "x"}).json()
        assert [q["name"] for q in both["queues"]] == ["alpha-one"]

    @pytest.mark.parametrize("limit", ["0", "-1", "21", "200"])
    def test_limit_range(self, client: httpx.Client, limit: str) -> None:
        assert_error(
            client.get("/v2/queues", params={"limit": limit}),
            400,
            "Invalid API request",
            "Limit must be at least 1 and no greater than 20.",
        )

    @pytest.mark.parametrize(
        ("param", "value"), [("limit", "abc"), ("detailed", "None"), ("with_count", "TRUE")]
    )
    def test_unparsable_params(self, client: httpx.Client, param: str, value: str) -> None:
        assert_error(client.get("/v2/queues", params={param: value}), 400, "Invalid parameter")

    def test_blank_params_are_ignored(self, client: httpx.Client) -> None:
        assert client.get("/v2/queues?limit=&detailed").status_code == 200

    def test_int_params_parse_like_python(self, client: httpx.Client) -> None:
        assert client.get("/v2/queues", params={"limit": " 5"}).status_code == 200
        assert client.get("/v2/queues", params={"limit": "+5"}).status_code == 200


class TestDeleteStatsPurge:
    def test_delete_is_idempotent_and_lazy_get_after(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"a": 1})
        post_messages(client, queue, 1)
        assert client.delete(f"/v2/queues/{queue}").status_code == 204
        assert client.delete(f"/v2/queues/{queue}").status_code == 204
        assert client.get(f"/v2/queues/{queue}").json() == DEFAULTS
        assert client.get(f"/v2/queues/{queue}/messages?echo=true").json()["messages"] == []

    def test_stats(self, client: httpx.Client) -> None:
        queue = queue_name()
        zeros = {"messages": {"claimed": 0, "free": 0, "total": 0}}
        assert client.get(f"/v2/queues/{queue}/stats").json() == zeros
        ids = post_messages(client, queue, 1, 2, 3)
        client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
        stats = client.get(f"/v2/queues/{queue}/stats").json()["messages"]
        assert (stats["claimed"], stats["free"], stats["total"]) == (1, 2, 3)
        assert stats["oldest"]["href"] == f"/v2/queues/{queue}/messages/{ids[0]}"
        assert stats["newest"]["href"] == f"/v2/queues/{queue}/messages/{ids[2]}"
        assert stats["oldest"]["age"] >= 0
        import re

        assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", stats["oldest"]["created"])

    def test_purge(self, client: httpx.Client) -> None:
        queue = queue_name()
        client.put(f"/v2/queues/{queue}", json={"keep": True})
        post_messages(client, queue, 1, 2)
        assert client.post(f"/v2/queues/{queue}/purge").status_code == 204
        assert client.get(f"/v2/queues/{queue}/stats").json()["messages"]["total"] == 0
        assert client.get(f"/v2/queues/{queue}").json()["keep"] is True
        post_messages(client, queue, 3)
        response = client.post(f"/v2/queues/{queue}/purge", json={"resource_types": ["messages"]})
        assert response.status_code == 204
        assert client.get(f"/v2/queues/{queue}/stats").json()["messages"]["total"] == 0
        assert client.post(f"/v2/queues/{queue_name()}/purge").status_code == 204

    @pytest.mark.parametrize(
        ("body", "description"),
        [
            ({}, 'Post body must contain key "resource_types".'),
            ({"resource_types": ["queues"]}, None),
        ],
    )
    def test_purge_validation(
        self, client: httpx.Client, body: dict[str, Any], description: str | None
    ) -> None:
        response = client.post(f"/v2/queues/{queue_name()}/purge", json=body)
        assert_error(response, 400, "Invalid API request", description)
