"""The pool_* and flavor_* WebSocket actions on a PostgreSQL suite with pooling."""

from __future__ import annotations

from tests.fixtures.postgres import PostgresServer
from tests.fixtures.suite import SuiteFactory
from tests.websocket.client import WsClient

WEBSOCKET_APP = "tidings.websocket.app:create_app"


async def test_pool_and_flavor_actions(
    suite_factory: SuiteFactory, postgres_server: PostgresServer
) -> None:
    catalog = postgres_server.create_database("catalog")
    env = {"TIDINGS_ADMIN_MODE": "true", "TIDINGS_POOLING": "true"}
    suite = suite_factory(database_url=catalog, env=env, start=False)
    replica = suite.add("websocket-0", WEBSOCKET_APP)
    suite.start()
    uri = postgres_server.create_database("pool")
    ws = await WsClient.open(replica.url.replace("http://", "ws://") + "/")
    try:
        admin = ws.headers(**{"X-Roles": "admin"})
        status, body = await ws.call("pool_list", {})
        assert (status, body["error"]) == (403, "Not authorized")
        assert await ws.call("pool_list", {}, admin) == (200, {"pools": []})
        status, body = await ws.call("get_home_doc")
        assert status == 200 and "rel/flavors" in body["resources"]
        status, body = await ws.call(
            "pool_create", {"pool_name": "one", "uri": uri, "weight": 3}, admin
        )
        assert (status, body) == (201, {"name": "one", "href": "/v2/pools/one"})
        status, body = await ws.call("pool_create", {"pool_name": "x", "uri": uri}, admin)
        assert status == 400
        status, body = await ws.call(
            "pool_create", {"pool_name": "two", "uri": uri, "weight": 1}, admin
        )
        assert status == 409
        status, body = await ws.call("pool_update", {"pool_name": "one", "weight": 5}, admin)
        assert (status, body["weight"]) == (200, 5)
        status, body = await ws.call("pool_get", {"pool_name": "one", "detailed": True}, admin)
        assert status == 200 and body["options"] == {} and body["uri"] == uri
        assert (await ws.call("pool_get", {"pool_name": "nope"}, admin))[0] == 404
        status, body = await ws.call(
            "flavor_create", {"flavor_name": "gold", "pool_list": ["one"]}, admin
        )
        assert status == 201
        status, body = await ws.call("flavor_get", {"flavor_name": "gold"})  # no role needed
        assert status == 200 and body["pool_list"] == ["one"]
        assert (await ws.call("flavor_delete", {"flavor_name": "gold"}))[0] == 403
        # A queue of the flavor is placed in its pool, then the pool cannot go.
        status, _ = await ws.call(
            "queue_create", {"queue_name": "q", "metadata": {"_flavor": "gold"}}
        )
        assert status == 201
        status, body = await ws.call("pool_delete", {"pool_name": "one"}, admin)
        assert (status, body["error"]) == (403, "Unable to delete")
        assert (await ws.call("flavor_delete", {"flavor_name": "gold"}, admin))[0] == 204
        assert await ws.call("flavor_list", {}) == (200, {"flavors": []})
    finally:
        await ws.ws.close()
