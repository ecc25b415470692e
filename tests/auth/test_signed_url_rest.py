"""Pre-signed URLs over REST in Keystone mode: ``share``, then requests without a token.

A signature grants exactly what was signed (project, paths and below, methods, until
expiry); every other use of it is 404, as in Zaqar, and a request that only looks signed
is an unauthenticated request (401).
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import httpx

from tests.auth.conftest import CLIENT_ID, SECRET_KEY, KeystoneSuite, auth_headers
from tests.fixtures.suite import Suite
from tidings.common import signed_url as su


def share(
    rest: httpx.Client, token: str, queue: str, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = rest.post(f"/v2/queues/{queue}/share", headers=auth_headers(token), json=body or {})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def signed_headers(data: dict[str, Any], **changes: str) -> dict[str, str]:
    headers = {
        "Client-ID": CLIENT_ID,
        "URL-Signature": data["signature"],
        "URL-Expires": data["expires"],
        "URL-Methods": ",".join(data["methods"]),
        "URL-Paths": ",".join(data["paths"]),
        "X-Project-ID": data["project"],
    }
    headers.update(changes)
    return headers


def test_share_signs_the_callers_project_paths_methods_and_expiry(
    rest: httpx.Client, tokens: dict[str, str], keystone_suite: KeystoneSuite
) -> None:
    data = share(
        rest,
        tokens["alice"],
        "shared",
        {"paths": ["messages", "claims"], "methods": ["POST", "GET"],
         "expires": "2099-01-01T01:00:00+01:00"},
    )  # fmt: skip
    assert data == {
        "project": keystone_suite.project("alice"),
        "paths": ["/v2/queues/shared/claims", "/v2/queues/shared/messages"],
        "methods": ["GET", "POST"],
        "expires": "2099-01-01T00:00:00",
        "signature": su.signature(
            SECRET_KEY,
            ["/v2/queues/shared/messages", "/v2/queues/shared/claims"],
            ["POST", "GET"],
            keystone_suite.project("alice"),
            datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC),
        ),
    }


def test_share_refuses_what_zaqar_refuses(rest: httpx.Client, tokens: dict[str, str]) -> None:
    headers = auth_headers(tokens["alice"])
    for body in [
        {"project_id": "someone-else"},  # python-zaqarclient may send it: never honoured
        {"paths": ["subscriptions", "queues"]},
        {"methods": "GET"},
        {"expires": "1735689600"},
        {"expires": "2001-01-01T00:00:00"},
    ]:
        response = rest.post("/v2/queues/q/share", headers=headers, json=body)
        assert response.status_code == 400, (body, response.text)
    assert rest.post("/v2/queues/q/share", headers=headers).status_code == 400  # no body
    assert rest.post("/v2/queues/bad$name/share", headers=headers, json={}).status_code == 400


def test_share_without_a_secret_key_is_400_and_signatures_are_refused(suite: Suite) -> None:
    headers = {"Client-ID": CLIENT_ID, "X-Project-ID": "p"}
    with httpx.Client(base_url=suite.api_url, timeout=10) as rest:
        response = rest.post("/v2/queues/q/share", headers=headers, json={})
        assert response.status_code == 400
        # A signature made with any key means nothing to a server that has none.
        expires = datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)
        forged = su.create("guess", ["/v2/queues/q/messages"], ["GET"], "p", expires)
        got = rest.get("/v2/queues/q/messages", headers=signed_headers(forged.to_json()))
        assert got.status_code == 404


def test_a_signed_request_needs_no_token_and_acts_for_the_signed_project(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    queue = f"s-{uuid.uuid4().hex[:8]}"
    data = share(rest, tokens["alice"], queue, {"methods": ["GET", "POST"]})
    posted = rest.post(
        f"/v2/queues/{queue}/messages",
        headers=signed_headers(data),
        json={"messages": [{"ttl": 300, "body": "via signed url"}]},
    )
    assert posted.status_code == 201, posted.text
    message_path = posted.json()["resources"][0]
    assert rest.get(message_path, headers=signed_headers(data)).status_code == 200
    listed = rest.get(
        f"/v2/queues/{queue}/messages", headers=signed_headers(data), params={"echo": "true"}
    )
    assert [m["body"] for m in listed.json()["messages"]] == ["via signed url"]
    # It landed in Alice's project: she sees it with her token.
    mine = rest.get(message_path, headers=auth_headers(tokens["alice"]))
    assert mine.status_code == 200


def test_a_signature_grants_nothing_beyond_what_was_signed(
    rest: httpx.Client, tokens: dict[str, str], keystone_suite: KeystoneSuite
) -> None:
    queue = "a.b"  # a dot: Zaqar's regex search would have matched aXb too
    data = share(rest, tokens["alice"], queue, {"methods": ["GET"]})
    assert rest.get(f"/v2/queues/{queue}/messages", headers=signed_headers(data)).is_success
    refused = [
        ("GET", "/v2/queues/aXb/messages", {}),
        ("GET", "/v2/queues/other/messages", {}),
        ("DELETE", f"/v2/queues/{queue}/messages?pop=1", {}),
        ("POST", f"/v2/queues/{queue}/messages", {}),
        ("GET", f"/v2/queues/{queue}", {}),
        ("GET", f"/v2/queues/{queue}/stats", {}),
        ("POST", f"/v2/queues/{queue}/share", {}),
        ("GET", "/v2/queues", {}),
        ("GET", "/v2/health", {}),
        # Bob's project with Alice's signature.
        ("GET", f"/v2/queues/{queue}/messages", {"X-Project-ID": keystone_suite.project("bob")}),
        # Widening what was signed.
        ("DELETE", f"/v2/queues/{queue}/messages?pop=1", {"URL-Methods": "DELETE,GET"}),
        ("GET", "/v2/queues/x/messages", {"URL-Paths": f"/v2/queues/{queue}/messages,"
                                                       "/v2/queues/x/messages"}),
        ("GET", f"/v2/queues/{queue}/messages", {"URL-Expires": "2199-01-01T00:00:00"}),
    ]  # fmt: skip
    for method, path, changes in refused:
        response = rest.request(method, path, headers=signed_headers(data, **changes))
        assert response.status_code == 404, (method, path, changes, response.text)


def test_forged_truncated_and_expired_signatures_are_404(
    rest: httpx.Client, tokens: dict[str, str], keystone_suite: KeystoneSuite
) -> None:
    data = share(rest, tokens["alice"], "sig", {"methods": ["GET"]})
    good = data["signature"]
    path = "/v2/queues/sig/messages"
    for bad in [good[:-1] + ("0" if good[-1] != "0" else "1"), good[:-1], good[:16],
                good.upper(), good + "00", "x" * 64]:  # fmt: skip
        response = rest.get(path, headers=signed_headers(data, **{"URL-Signature": bad}))
        assert response.status_code == 404, bad
    # A genuine signature (made with the server's key) that has expired.
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    expired = su.create(SECRET_KEY, [path], ["GET"], keystone_suite.project("alice"), past)
    assert rest.get(path, headers=signed_headers(expired.to_json())).status_code == 404


def test_looking_signed_is_not_being_signed(rest: httpx.Client, tokens: dict[str, str]) -> None:
    data = share(rest, tokens["alice"], "sig2", {"methods": ["GET"]})
    path = "/v2/queues/sig2/messages"
    # An empty signature with everything else in place: an unauthenticated request.
    response = rest.get(path, headers=signed_headers(data, **{"URL-Signature": ""}))
    assert response.status_code == 401
    missing = signed_headers(data)
    del missing["X-Project-ID"]
    assert rest.get(path, headers=missing).status_code == 404
