"""The request pipeline of spec 1.2: headers, content negotiation, routing, error bodies."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.api.conftest import CLIENT_ID, assert_error, headers_for, queue_name

REQUEST_ID = re.compile(r"^req-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_every_response_carries_a_request_id(client: httpx.Client) -> None:
    seen = set()
    for response in (client.get("/"), client.get("/v2/nowhere"), client.get("/v2/queues")):
        value = response.headers["X-OpenStack-Request-Id"]
        assert REQUEST_ID.match(value), value
        seen.add(value)
    assert len(seen) == 3


def test_version_document(api_url: str) -> None:
    # No Client-ID or project needed on "/".
    response = httpx.get(f"{api_url}/")
    assert response.status_code == 300
    version = response.json()["versions"][0]
    assert version["id"] == "2"
    assert version["updated"] == "2014-9-24T04:06:47Z"
    assert version["links"] == [{"href": "/v2/", "rel": "self"}]


def test_home_document(client: httpx.Client) -> None:
    response = client.get("/v2/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json-home")
    assert response.headers["cache-control"] == "max-age=86400"
    assert response.text.startswith('{\n    "resources"')  # 4-space indent
    resources = response.json()["resources"]
    for entry in resources.values():
        assert (entry.get("href") or entry["href-template"]).startswith("/v2")
    assert "rel/health" not in resources


@pytest.mark.parametrize("path", ["/v2", "/v2/queues/", "/v3/queues", "/v2/queues/q/nothing"])
def test_unknown_paths_are_404_with_a_json_body(client: httpx.Client, path: str) -> None:
    assert_error(client.get(path), 404)


def test_unknown_path_404_comes_before_header_checks(api_url: str) -> None:
    assert_error(httpx.get(f"{api_url}/v2/nowhere"), 404)


def test_ping(client: httpx.Client) -> None:
    assert client.get("/v2/ping").status_code == 204
    head = client.head("/v2/ping")
    assert head.status_code == 204
    assert head.content == b""


def test_ping_needs_client_id_and_project(api_url: str) -> None:
    assert_error(httpx.get(f"{api_url}/v2/ping", headers={"X-Project-ID": "p"}), 400)
    assert_error(
        httpx.get(f"{api_url}/v2/ping", headers={"Client-ID": CLIENT_ID}),
        400,
        "Project-Id Missing",
    )


def test_health_is_not_routed_without_admin_mode(client: httpx.Client) -> None:
    assert_error(client.get("/v2/health"), 404)


def test_health_in_admin_mode_needs_the_admin_role(admin_api_url: str) -> None:
    headers = headers_for("health-project")
    assert_error(
        httpx.get(f"{admin_api_url}/v2/health", headers=headers),
        403,
        "Not authorized",
        "You are not authorized to complete this action.",
    )
    response = httpx.get(
        f"{admin_api_url}/v2/health", headers={**headers, "X-Roles": "member, admin"}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["storage_reachable"] is True
    assert set(body["message_volume"]) == {"free", "claimed", "total"}
    home = httpx.get(f"{admin_api_url}/v2/", headers=headers).json()
    assert home["resources"]["rel/health"]["href"] == "/v2/health"


class TestClientId:
    @pytest.mark.parametrize(
        "value",
        [
            CLIENT_ID,
            "3381af92-2b9e-11e3-b191-71861300734c",
            "{3381AF92-2B9E-11E3-B191-71861300734C}",
        ],
    )
    def test_uuid_spellings_are_accepted(self, api_url: str, value: str) -> None:
        response = httpx.get(
            f"{api_url}/v2/ping", headers={"Client-ID": value, "X-Project-ID": "p"}
        )
        assert response.status_code == 204

    @pytest.mark.parametrize(
        "value", ["", "0xdeadbeef", "550893e0-2b6e-11e3-835a-5cf9dd72369", "textid"]
    )
    def test_malformed_uuids(self, api_url: str, value: str) -> None:
        response = httpx.get(
            f"{api_url}/v2/queues", headers={"Client-ID": value, "X-Project-ID": "p"}
        )
        assert_error(response, 400, "Wrong UUID value", "Malformed hexadecimal UUID.")

    def test_missing(self, api_url: str) -> None:
        response = httpx.get(f"{api_url}/v2/queues", headers={"X-Project-ID": "p"})
        assert_error(response, 400, "Missing header value", 'The "Client-Id" header is required.')

    def test_dashed_and_dashless_spellings_are_one_client_for_echo(
        self, client: httpx.Client
    ) -> None:
        queue = queue_name()
        client.post(f"/v2/queues/{queue}/messages", json={"messages": [{"body": 1}]})
        dashed = "3381af92-2b9e-11e3-b191-71861300734c"
        listed = client.get(f"/v2/queues/{queue}/messages", headers={"Client-ID": dashed})
        assert listed.json()["messages"] == []  # same client: echo=false hides its messages


class TestProject:
    def test_aliases(self, api_url: str) -> None:
        for header in ("X-Tenant-ID", "X-Tenant"):
            response = httpx.get(
                f"{api_url}/v2/queues", headers={"Client-ID": CLIENT_ID, header: "p"}
            )
            assert response.status_code == 200, header

    def test_empty(self, api_url: str) -> None:
        response = httpx.get(
            f"{api_url}/v2/queues", headers={"Client-ID": CLIENT_ID, "X-Project-ID": ""}
        )
        assert_error(response, 400, "Empty project header not allowed")

    def test_spaces_are_allowed(self, api_url: str) -> None:
        headers = {"Client-ID": CLIENT_ID, "X-Project-ID": "JAM Project"}
        assert httpx.put(f"{api_url}/v2/queues/{queue_name()}", headers=headers).status_code == 201

    def test_too_long_on_queue_routes(self, api_url: str) -> None:
        headers = {"Client-ID": CLIENT_ID, "X-Project-ID": "p" * 257}
        assert_error(
            httpx.get(f"{api_url}/v2/queues/q", headers=headers),
            400,
            "Invalid queue identification",
            "The format of the submitted queue name or project id is not valid.",
        )
        headers["X-Project-ID"] = "p" * 256
        assert httpx.get(f"{api_url}/v2/queues/q", headers=headers).status_code == 200


@pytest.mark.parametrize("name", ["a" * 65, "@$@^qw@", "qu\u00e9ue", "sp ace"])
def test_invalid_queue_names(client: httpx.Client, name: str) -> None:
    assert_error(client.put(f"/v2/queues/{name}"), 400, "Invalid queue identification")


@pytest.mark.parametrize("name", ["a" * 64, "12345", "with.dot", "a-b_c"])
def test_valid_queue_names(client: httpx.Client, name: str) -> None:
    assert client.put(f"/v2/queues/{name}").status_code in (201, 204)


class TestContentNegotiation:
    def test_form_content_type_is_refused(self, client: httpx.Client) -> None:
        response = client.post(
            f"/v2/queues/{queue_name()}/messages",
            content=b"a=b",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert_error(response, 400, "Invalid Content-Type")

    def test_other_content_types_are_parsed_as_json(self, client: httpx.Client) -> None:
        response = client.post(
            f"/v2/queues/{queue_name()}/messages",
            content=b'{"messages": [{"body": 1}]}',
            headers={"Content-Type": "text/plain"},
        )
        assert response.status_code == 201

    @pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
    def test_accept_without_json_is_406(self, client: httpx.Client, accept: str) -> None:
        response = client.get("/v2/queues", headers={"Accept": accept})
        body = assert_error(response, 406)
        assert body["link"]["rel"] == "help"

    @pytest.mark.parametrize(
        "accept", ["*/*", "application/*", "application/json", "text/html, application/json;q=0.5"]
    )
    def test_accept_with_json(self, client: httpx.Client, accept: str) -> None:
        assert client.get("/v2/queues", headers={"Accept": accept}).status_code == 200


class TestMethodNotAllowed:
    def test_head_on_a_queue(self, client: httpx.Client) -> None:
        response = client.head(f"/v2/queues/{queue_name()}")
        assert response.status_code == 405
        assert response.headers["Allow"] == "DELETE, GET, PATCH, PUT"

    def test_header_checks_come_first(self, api_url: str) -> None:
        response = httpx.head(f"{api_url}/v2/queues/q", headers={"X-Project-ID": "p"})
        assert response.status_code == 400
        response = httpx.post(f"{api_url}/v2/queues/{'x' * 65}", headers=headers_for("p"))
        assert_error(response, 400, "Invalid queue identification")

    @pytest.mark.parametrize(
        ("method", "path", "allow"),
        [
            ("POST", "/v2/queues", "GET"),
            ("PUT", "/v2/queues/q/messages", "DELETE, GET, POST"),
            ("PUT", "/v2/queues/q/claims", "POST"),
            ("POST", "/v2/queues/q/stats", "GET"),
            ("GET", "/v2/queues/q/purge", "POST"),
            ("PUT", "/v2/ping", "GET, HEAD"),
        ],
    )
    def test_allow_lists_every_method_of_the_path(
        self, client: httpx.Client, method: str, path: str, allow: str
    ) -> None:
        response = client.request(method, path)
        assert_error(response, 405)
        assert response.headers["Allow"] == allow


def test_openapi_describes_the_routes(api_url: str) -> None:
    spec = httpx.get(f"{api_url}/openapi.json").json()
    paths = spec["paths"]
    assert "/v2/queues/{queue_name}/messages" in paths
    post = paths["/v2/queues/{queue_name}/messages"]["post"]
    assert "requestBody" in post
    assert "201" in post["responses"]
    assert "422" not in post["responses"]
    assert "429" in post["responses"]  # quotas and rate limits
    listing = paths["/v2/queues/{queue_name}/messages"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"queue_name", "limit", "marker", "echo", "include_claimed", "Client-ID"} <= names
    for methods in paths.values():
        for op in methods.values():
            assert "422" not in op["responses"]
    assert "/v2/topics/{topic_name}" in paths


def test_openapi_parameters_are_described_as_the_routes_parse_them(api_url: str) -> None:
    """Found by tests/api/test_fuzz_openapi.py: every parameter was documented as any string,
    and bodyless 201s as JSON, so the document promised what the api refuses or never sends."""
    paths = httpx.get(f"{api_url}/openapi.json").json()["paths"]

    def parameter(path: str, method: str, name: str) -> dict[str, Any]:
        found = [p for p in paths[path][method]["parameters"] if p["name"] == name]
        assert len(found) == 1, found
        schema: dict[str, Any] = found[0]["schema"]
        return schema

    messages = "/v2/queues/{queue_name}/messages"
    name = parameter(messages, "get", "queue_name")
    assert (name["pattern"], name["minLength"], name["maxLength"]) == (r"^[a-zA-Z0-9_\-.]+$", 1, 64)
    assert parameter("/v2/topics/{topic_name}", "get", "topic_name") == name
    assert parameter(messages, "get", "limit") == {"type": "integer", "minimum": 1, "maximum": 20}
    assert parameter(messages, "get", "echo") == {"type": "boolean"}
    assert parameter(messages, "delete", "ids")["maxItems"] == 20
    assert parameter("/v2/queues", "get", "detailed") == {"type": "boolean"}
    assert parameter("/v2/queues/{queue_name}/claims", "post", "limit")["maximum"] == 20
    for collection in ("queues", "topics"):
        created = paths[f"/v2/{collection}/{{{collection[:-1]}_name}}"]["put"]["responses"]["201"]
        assert "content" not in created
    home = paths["/v2/"]["get"]["responses"]["200"]["content"]
    assert list(home) == ["application/json-home"]
    confirm = paths["/v2/queues/{queue_name}/subscriptions/{subscription_id}/confirm"]["put"]
    body = confirm["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["confirmed"]


def test_metrics_are_labelled_by_route_template(client: httpx.Client, api_url: str) -> None:
    queue = queue_name()
    client.get(f"/v2/queues/{queue}/stats")
    text = httpx.get(f"{api_url}/metrics").text
    assert 'route="/v2/queues/{queue_name}/stats"' in text
    assert queue not in text


def test_probes(api_url: str) -> None:
    assert httpx.get(f"{api_url}/healthz").status_code == 200
    ready = httpx.get(f"{api_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"nats": True, "storage": True}


def test_routes_leave_their_parameters_to_the_document_not_to_fastapi() -> None:
    """FastAPI re-inspects every declared parameter's annotation on each request (some 40 us
    for a route with a few): /v2 routes read theirs from the request (tidings.api.params) and
    declare them to the OpenAPI document only, where every path parameter must appear."""
    from fastapi.routing import APIRoute

    from tidings.api.app import create_app
    from tidings.api.settings import ApiSettings

    app = create_app(ApiSettings(admin_mode=True, pooling=True))
    document = app.openapi()["paths"]
    checked = 0
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/v2"):
            continue
        resolved = route.dependant
        declared = [*resolved.path_params, *resolved.query_params, *resolved.header_params]
        assert not declared and not resolved.dependencies, (route.path, route.methods)
        for method in route.methods or ():
            documented = {p["name"] for p in document[route.path][method.lower()]["parameters"]}
            assert set(re.findall(r"{(\w+)}", route.path)) <= documented, (route.path, method)
            assert {"Client-ID", "X-Project-ID"} <= documented, (route.path, method)
        checked += 1
    assert checked >= 38  # every /v2 route of the admin app with pools
