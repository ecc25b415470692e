"""Authorization rules (spec 7.2) with and without a policy file, and CORS settings."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from tests.auth.conftest import API_APP, WEBSOCKET_APP, KeystoneSuite, auth_headers
from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.suite import ServiceProcess, Suite
from tests.websocket.client import WsClient
from tidings.api.app import create_app
from tidings.api.auth import Identity
from tidings.api.policy import DEFAULT_RULES, Policy, rule_for
from tidings.api.settings import ApiSettings
from tidings.common.errors import Forbidden
from tidings.websocket.actions import ACTIONS
from tidings.websocket.rules import ACTION_RULES

ORIGIN = "https://dashboard.example"
POLICY = {
    "health:get": "role:admin or role:member",
    "queues:delete": "role:admin",
    "messages:create": "!",
    "queues:purge": "rule:queues:delete",
}


def who(*roles: str) -> Identity:
    return Identity(project="p", user="u", roles=frozenset(roles))


def allowed(policy: Policy, rule: str, identity: Identity) -> bool:
    try:
        policy.check(rule, identity)
    except Forbidden:
        return False
    return True


def test_every_v2_route_has_one_of_zaqars_rule_names() -> None:
    app = create_app(ApiSettings(admin_mode=True))
    seen: dict[tuple[str, str], str | None] = {}

    def walk(routes: Sequence[object]) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
                continue
            path = getattr(route, "path", "")
            for method in getattr(route, "methods", None) or ():
                if path.startswith("/v2"):
                    seen[(method, path)] = rule_for(method, path)

    walk(app.router.routes)
    assert seen[("GET", "/v2/")] is None  # the home document has no rule in Zaqar
    named = {key: rule for key, rule in seen.items() if key != ("GET", "/v2/")}
    assert all(rule in DEFAULT_RULES for rule in named.values()), named
    assert named[("GET", "/v2/health")] == "health:get"
    assert named[("PUT", "/v2/queues/{queue_name}")] == "queues:create"
    assert named[("POST", "/v2/queues/{queue_name}/share")] == "queues:share"
    assert named[("DELETE", "/v2/queues/{queue_name}/messages")] == "messages:delete_all"
    assert named[("PATCH", "/v2/queues/{queue_name}/claims/{claim_id}")] == "claims:update"
    assert named[("GET", "/v2/topics/{topic_name}/stats")] == "topics:stats"


def test_rule_names_of_routes_still_to_come() -> None:
    assert rule_for("PUT", "/v2/queues/{q}/subscriptions/{s}/confirm") == "subscription:confirm"
    assert rule_for("GET", "/v2/queues/{q}/subscriptions") == "subscription:get_all"
    assert rule_for("PATCH", "/v2/pools/{pool}") == "pools:update"
    assert rule_for("PUT", "/v2/flavors/{flavor}") == "flavors:create"
    assert rule_for("POST", "/v2/queues") is None  # no such rule: denied
    assert rule_for("GET", "/v2/unknown") is None


def test_the_defaults_protect_admin_routes_only() -> None:
    policy = Policy()
    assert not allowed(policy, "health:get", who("member"))
    assert allowed(policy, "health:get", who("admin"))
    assert not allowed(policy, "pools:create", who())
    assert allowed(policy, "flavors:get_all", who())
    assert not allowed(policy, "flavors:delete", who("member"))
    assert allowed(policy, "queues:create", who())
    assert not allowed(policy, "no:such_rule", who("admin"))


def test_a_policy_file_overrides_rules(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("".join(f'"{name}": "{check}"\n' for name, check in POLICY.items()))
    policy = Policy(str(path))
    assert allowed(policy, "health:get", who("member"))
    assert not allowed(policy, "queues:delete", who("member"))
    assert allowed(policy, "queues:purge", who("admin"))  # through rule:queues:delete
    assert not allowed(policy, "messages:create", who("admin"))
    assert allowed(policy, "queues:create", who())  # untouched defaults remain
    assert not allowed(policy, "pools:get", who())
    with pytest.raises(ValueError, match="does not exist"):
        Policy(str(tmp_path / "missing.yaml"))


def test_every_websocket_action_has_the_rule_of_its_rest_counterpart() -> None:
    assert set(ACTION_RULES) == set(ACTIONS)
    assert all(rule == "" or rule in DEFAULT_RULES for rule in ACTION_RULES.values())
    assert ACTION_RULES["get_home_doc"] == ""  # like GET /v2/, no rule
    assert ACTION_RULES["message_post"] == rule_for("POST", "/v2/queues/{q}/messages")
    assert ACTION_RULES["queue_get_stats"] == rule_for("GET", "/v2/queues/{q}/stats")
    assert ACTION_RULES["claim_update"] == rule_for("PATCH", "/v2/queues/{q}/claims/{c}")
    assert ACTION_RULES["flavor_create"] == rule_for("PUT", "/v2/flavors/{f}")


def _policed_service(
    name: str,
    app: str,
    suite: Suite,
    keystone: KeystoneServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServiceProcess]:
    """A service in keystone mode with the policy file above (and CORS for one origin)."""
    root = tmp_path_factory.mktemp(name)
    policy_file = root / "policy.json"
    policy_file.write_text(json.dumps(POLICY))
    env = keystone.service_settings(
        TIDINGS_NATS_URL=suite.nats_url,
        TIDINGS_ADMIN_MODE="true",
        TIDINGS_POLICY_FILE=str(policy_file),
        TIDINGS_CORS_ALLOWED_ORIGINS=json.dumps([ORIGIN]),
    )
    service = ServiceProcess(name, app, env=env, log_dir=root)
    service.start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="module")
def custom_api(
    suite: Suite, keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    yield from _policed_service("api-policy", API_APP, suite, keystone, tmp_path_factory)


@pytest.fixture(scope="module")
def custom_websocket(
    suite: Suite, keystone: KeystoneServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    yield from _policed_service(
        "websocket-policy", WEBSOCKET_APP, suite, keystone, tmp_path_factory
    )


def test_a_policy_file_governs_the_api(custom_api: ServiceProcess, tokens: dict[str, str]) -> None:
    alice, admin = auth_headers(tokens["alice"]), auth_headers(tokens["admin"])
    with httpx.Client(base_url=custom_api.url, timeout=10) as rest:
        assert rest.get("/v2/health", headers=alice).status_code == 200
        assert rest.put("/v2/queues/policed", headers=alice).status_code in (201, 204)
        refused = rest.delete("/v2/queues/policed", headers=alice)
        assert refused.status_code == 403
        assert refused.json() == {
            "title": "Not authorized",
            "description": "You are not authorized to complete this action.",
        }
        assert rest.delete("/v2/queues/policed", headers=admin).status_code == 204
        posted = rest.post(
            "/v2/queues/policed/messages", headers=admin, json={"messages": [{"body": 1}]}
        )
        assert posted.status_code == 403


async def test_the_same_policy_file_governs_the_websocket_api(
    custom_websocket: ServiceProcess, tokens: dict[str, str]
) -> None:
    url = custom_websocket.url.replace("http://", "ws://") + "/"
    alice = await WsClient.open(url, project="header-project")
    admin = await WsClient.open(url, project="header-project")
    try:
        for client, user in ((alice, "alice"), (admin, "admin")):
            token = client.headers(**{"X-Auth-Token": tokens[user]})
            assert (await client.call("authenticate", headers=token))[0] == 200
        assert (await alice.call("check_node_health"))[0] == 200  # member, by the file
        assert (await alice.call("queue_create", {"queue_name": "policed-ws"}))[0] == 201
        status, body = await alice.call("queue_delete", {"queue_name": "policed-ws"})
        assert (status, body["error"]) == (403, "Not authorized")
        assert (await admin.call("queue_delete", {"queue_name": "policed-ws"}))[0] == 204
        posted = await admin.call(
            "message_post", {"queue_name": "policed-ws", "messages": [{"body": 1}]}
        )
        assert posted[0] == 403  # "!" denies everyone
        assert (await alice.call("get_home_doc"))[0] == 200  # no rule governs it
    finally:
        await alice.close()
        await admin.close()


def test_cors_answers_the_configured_origin_only(
    custom_api: ServiceProcess, keystone_suite: KeystoneSuite
) -> None:
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "X-Auth-Token, Client-ID",
    }
    with httpx.Client(base_url=custom_api.url, timeout=10) as rest:
        answer = rest.options("/v2/queues/q", headers=preflight)
        assert answer.status_code == 200
        assert answer.headers["access-control-allow-origin"] == ORIGIN
        assert "PUT" in answer.headers["access-control-allow-methods"]
        other = rest.options(
            "/v2/queues/q", headers={**preflight, "Origin": "https://evil.example"}
        )
        assert "access-control-allow-origin" not in other.headers
        # Refusals carry CORS headers too, so a browser client can read the 401.
        refused = rest.get("/v2/queues", headers={"Origin": ORIGIN, **auth_headers()})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == ORIGIN
    # Without TIDINGS_CORS_ALLOWED_ORIGINS there is no CORS at all.
    with httpx.Client(base_url=keystone_suite.api_url, timeout=10) as rest:
        plain = rest.get("/v2/queues", headers={"Origin": ORIGIN, **auth_headers()})
        assert "access-control-allow-origin" not in plain.headers
