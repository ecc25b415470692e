"""REST in Keystone mode: who the caller is comes from the token and from nothing else.

Every refusal here is an attack on tenancy: no token, a forged, truncated or expired token,
the bypass headers of spec 9 item 17, headers naming another project or claiming roles, and
another tenant's message ids, markers and claim ids.
"""

from __future__ import annotations

import time
import uuid

import httpx

from tests.auth.conftest import KeystoneSuite, auth_headers
from tests.fixtures.keystone import KeystoneServer


def queue_name() -> str:
    return f"q-{uuid.uuid4().hex[:10]}"


def post_messages(rest: httpx.Client, token: str, queue: str, count: int = 2) -> list[str]:
    response = rest.post(
        f"/v2/queues/{queue}/messages",
        headers=auth_headers(token),
        json={"messages": [{"ttl": 300, "body": {"n": n}} for n in range(count)]},
    )
    assert response.status_code == 201, response.text
    return [href.rsplit("/", 1)[-1] for href in response.json()["resources"]]


def test_without_a_token_every_v2_route_is_401_with_www_authenticate(
    rest: httpx.Client, keystone_suite: KeystoneSuite
) -> None:
    for method, path in [
        ("GET", "/v2/"),
        ("GET", "/v2/ping"),
        ("GET", "/v2/queues"),
        ("PUT", "/v2/queues/q"),
        ("GET", "/v2/queues/q/messages"),
        ("POST", "/v2/queues/q/share"),
        ("GET", "/v2/health"),
    ]:
        response = rest.request(method, path, headers=auth_headers())
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == (
            f'Keystone uri="{keystone_suite.keystone.url}"'
        )
        assert response.json()["title"] == "Unauthorized"


def test_version_document_and_probes_need_no_token(
    rest: httpx.Client, keystone_suite: KeystoneSuite
) -> None:
    assert rest.get("/").status_code == 300
    assert rest.get("/healthz").status_code == 200
    assert rest.get("/readyz").status_code == 200


def test_forged_truncated_and_empty_tokens_are_401(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    real = tokens["alice"]
    flipped = real[:-5] + ("A" if real[-5] != "A" else "B") + real[-4:]
    for token in ["", "nonsense", real[:-10], real[10:], flipped, real + "x", "gAAAAA" * 40]:
        response = rest.get("/v2/queues", headers=auth_headers(token))
        assert response.status_code == 401, (token, response.text)
        assert "www-authenticate" in response.headers


def test_an_expired_token_is_401(rest: httpx.Client, keystone: KeystoneServer) -> None:
    token = keystone.short_lived_token("alice", 2)
    assert rest.get("/v2/queues", headers=auth_headers(token)).status_code == 200
    time.sleep(3)
    # The validation cache never outlives the token: Keystone is not even asked again.
    response = rest.get("/v2/queues", headers=auth_headers(token))
    assert response.status_code == 401


def test_project_comes_from_the_token_not_from_headers(
    rest: httpx.Client, tokens: dict[str, str], keystone_suite: KeystoneSuite
) -> None:
    queue = queue_name()
    bob_project = keystone_suite.project("bob")
    # Alice names Bob's project in every header Zaqar reads a project from.
    spoofed = auth_headers(
        tokens["alice"], **{"X-Project-ID": bob_project, "X-Tenant-ID": bob_project}
    )
    assert rest.put(f"/v2/queues/{queue}", headers=spoofed).status_code == 201
    alice_queues = rest.get("/v2/queues", headers=auth_headers(tokens["alice"])).json()
    bob_queues = rest.get("/v2/queues", headers=auth_headers(tokens["bob"])).json()
    assert queue in [q["name"] for q in alice_queues["queues"]]
    assert queue not in [q["name"] for q in bob_queues["queues"]]
    # And no project header at all is fine: the token has one.
    assert rest.get(f"/v2/queues/{queue}/stats", headers=auth_headers(tokens["alice"])).is_success


def test_roles_come_from_the_token_not_from_headers(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    claimed_admin = auth_headers(tokens["alice"], **{"X-Roles": "admin", "X-Role": "admin"})
    response = rest.get("/v2/health", headers=claimed_admin)
    assert response.status_code == 403
    assert response.json()["title"] == "Not authorized"
    assert rest.get("/v2/health", headers=auth_headers(tokens["admin"])).status_code == 200


def test_bypass_headers_of_zaqar_do_not_skip_authentication(rest: httpx.Client) -> None:
    # Spec 9, item 17: an empty URL-Signature and any EXTRA-SPEC skipped Keystone in Zaqar.
    for extra in [
        {"URL-Signature": ""},
        {"URL-Signature": "", "URL-Expires": "2099-01-01T00:00:00", "URL-Methods": "GET",
         "URL-Paths": "/v2/queues/q/messages"},
        {"EXTRA-SPEC": "messagecode:x"},
        {"EXTRA-SPEC": "messagecode:x", "X-Roles": "admin"},
        {"X-Identity-Status": "Confirmed", "X-Project-ID": "p", "X-Roles": "admin"},
        {"X-Service-Token": "whatever"},
    ]:  # fmt: skip
        response = rest.get("/v2/queues/q/messages", headers=auth_headers(None, **extra))
        assert response.status_code == 401, (extra, response.text)


def test_another_tenants_messages_are_out_of_reach_by_id(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    queue = queue_name()
    alice, bob = auth_headers(tokens["alice"]), auth_headers(tokens["bob"])
    ids = post_messages(rest, tokens["alice"], queue, 3)
    base = f"/v2/queues/{queue}/messages"
    assert rest.get(f"{base}/{ids[0]}", headers=bob).status_code == 404
    assert rest.get(base, headers=bob, params={"ids": ",".join(ids)}).status_code == 404
    assert rest.delete(f"{base}/{ids[0]}", headers=bob).status_code == 204
    assert rest.delete(base, headers=bob, params={"ids": ",".join(ids)}).status_code == 204
    popped = rest.delete(base, headers=bob, params={"pop": 3})
    assert popped.status_code == 200 and popped.json()["messages"] == []
    assert rest.post(f"/v2/queues/{queue}/purge", headers=bob).status_code == 204
    assert rest.delete(f"/v2/queues/{queue}", headers=bob).status_code == 204
    # Nothing of Alice's moved.
    mine = rest.get(base, headers=alice, params={"ids": ",".join(ids)}).json()["messages"]
    assert sorted(m["id"] for m in mine) == sorted(ids)


def test_another_tenants_marker_shows_nothing_of_theirs(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    queue = queue_name()
    alice, bob = auth_headers(tokens["alice"]), auth_headers(tokens["bob"])
    ids = post_messages(rest, tokens["alice"], queue, 4)
    page = rest.get(
        f"/v2/queues/{queue}/messages", headers=alice, params={"limit": 2, "echo": "true"}
    ).json()
    next_href = page["links"][0]["href"]
    assert rest.get(next_href, headers=alice).json()["messages"]  # Alice's next page
    stolen = rest.get(next_href, headers=bob).json()
    assert stolen["messages"] == []
    listed = rest.get(
        f"/v2/queues/{queue}/messages", headers=bob, params={"echo": "true", "marker": "0"}
    ).json()
    assert not {m["id"] for m in listed["messages"]} & set(ids)
    queues = rest.get("/v2/queues", headers=bob, params={"marker": ""}).json()["queues"]
    assert queue not in [q["name"] for q in queues]


def test_another_tenants_claim_ids_are_out_of_reach(
    rest: httpx.Client, tokens: dict[str, str]
) -> None:
    queue = queue_name()
    alice, bob = auth_headers(tokens["alice"]), auth_headers(tokens["bob"])
    ids = post_messages(rest, tokens["alice"], queue, 2)
    claim = rest.post(f"/v2/queues/{queue}/claims", headers=alice, json={"ttl": 300})
    assert claim.status_code == 201
    claim_path = claim.headers["location"]
    claim_id = claim_path.rsplit("/", 1)[-1]
    assert rest.get(claim_path, headers=bob).status_code == 404
    assert rest.patch(claim_path, headers=bob, json={"ttl": 100}).status_code == 404
    assert rest.delete(claim_path, headers=bob).status_code == 204
    deleted = rest.delete(
        f"/v2/queues/{queue}/messages/{ids[0]}", headers=bob, params={"claim_id": claim_id}
    )
    assert deleted.status_code in (204, 400)
    # Bob's claim on the same queue name is on his own, empty queue.
    assert rest.post(f"/v2/queues/{queue}/claims", headers=bob, json={}).status_code == 204
    # Alice's claim is whole: same ttl, same messages.
    held = rest.get(claim_path, headers=alice)
    assert held.status_code == 200
    assert held.json()["ttl"] == 300
    assert sorted(m["id"] for m in held.json()["messages"]) == sorted(ids)


def test_keystone_unreachable_is_503(keystone_suite: KeystoneSuite, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=keystone_suite.unreachable_api.url, timeout=10) as client:
        response = client.get("/v2/queues", headers=auth_headers(tokens["alice"]))
        assert response.status_code == 503
        assert response.json()["title"] == "Service temporarily unavailable"
        # Without a token there is nothing to ask Keystone: still 401.
        assert client.get("/v2/queues", headers=auth_headers()).status_code == 401
