"""The pool and flavor admin routes over REST (spec 2.10, 2.11) on a real suite.

One PostgreSQL suite in admin mode with pooling; pools are other databases of the same server.
"""

from __future__ import annotations

import uuid

import httpx

from tests.fixtures.postgres import PostgresServer
from tests.fixtures.suite import SuiteFactory

ADMIN = {"Client-ID": uuid.uuid4().hex, "X-Project-ID": "ops", "X-Roles": "admin"}
TENANT = {"Client-ID": uuid.uuid4().hex, "X-Project-ID": "tenant", "X-Roles": "member"}


def test_pool_and_flavor_routes(
    suite_factory: SuiteFactory, postgres_server: PostgresServer
) -> None:
    catalog = postgres_server.create_database("catalog")
    suite = suite_factory(
        database_url=catalog, env={"TIDINGS_ADMIN_MODE": "true", "TIDINGS_POOLING": "true"}
    )
    first, second = (postgres_server.create_database("pool") for _ in range(2))
    with httpx.Client(base_url=suite.api_url, headers=ADMIN, timeout=30) as http:
        # Admin only: a tenant is refused, flavors may be read by anyone.
        assert http.get("/v2/pools", headers=TENANT).status_code == 403
        assert http.get("/v2/flavors", headers=TENANT).status_code == 200
        assert http.get("/v2/pools").json() == {"pools": [], "links": []}
        home = http.get("/v2/").json()["resources"]
        assert home["rel/pool"]["href-template"] == "/v2/pools/{pool_name}"
        assert {"rel/pools", "rel/flavors", "rel/flavor", "rel/health"} <= set(home)

        created = http.put("/v2/pools/one", json={"uri": first, "weight": 10, "options": {"a": 1}})
        assert created.status_code == 201 and created.headers["Location"] == "/v2/pools/one"
        assert http.put("/v2/pools/one", json={"uri": first, "weight": 10}).status_code == 201
        assert http.put("/v2/pools/two", json={"uri": second, "weight": 0}).status_code == 201

        conflict = http.put("/v2/pools/three", json={"uri": first, "weight": 1})
        assert conflict.status_code == 409 and conflict.json()["title"] == "Resource conflict"
        unreachable = http.put(
            "/v2/pools/down", json={"uri": "postgresql://x@127.0.0.1:1/none", "weight": 1}
        )
        assert unreachable.status_code == 400
        assert unreachable.json()["description"].startswith("cannot connect to")
        for bad in (
            {"weight": 1},
            {"uri": first},
            {"uri": first, "weight": -1},
            {"uri": first, "weight": 2**32},
            {"uri": first, "weight": "1"},
            {"uri": first, "weight": 1, "extra": True},
            {"uri": 5, "weight": 1},
            {"uri": first, "weight": 1, "options": []},
        ):
            assert http.put("/v2/pools/bad", json=bad).status_code == 400, bad
        assert http.put("/v2/pools/bad", content=b"").status_code == 400

        page = http.get("/v2/pools", params={"limit": 1, "detailed": "true"})
        assert page.status_code == 200
        assert page.headers["Content-Location"] == "/v2/pools?limit=1&detailed=true"
        assert page.json()["pools"] == [
            {"name": "one", "uri": first, "weight": 10, "flavor": None,
             "href": "/v2/pools/one", "options": {}},
        ]  # fmt: skip
        assert "marker=one" in page.json()["links"][0]["href"]
        assert http.get("/v2/pools", params={"limit": 0}).status_code == 400
        assert http.get("/v2/pools", params={"limit": 21}).status_code == 400
        assert http.get("/v2/pools/one").json() == {
            "name": "one", "uri": first, "weight": 10, "flavor": None, "href": "/v2/pools/one",
        }  # fmt: skip
        assert http.get("/v2/pools/nope").status_code == 404

        # Queues go to the only pool with weight; they stay there when the weights change.
        for i in range(5):
            assert http.put(f"/v2/queues/q{i}", headers=TENANT).status_code == 201
        patched = http.patch("/v2/pools/one", json={"weight": 0})
        assert patched.status_code == 200 and patched.json()["weight"] == 0
        assert http.patch("/v2/pools/two", json={"weight": 5}).status_code == 200
        assert http.patch("/v2/pools/one", json={}).status_code == 400
        assert http.patch("/v2/pools/nope", json={"weight": 1}).status_code == 404
        posted = http.post(
            "/v2/queues/q0/messages", headers=TENANT, json={"messages": [{"body": 1}]}
        )
        assert posted.status_code == 201
        listed = http.get(
            "/v2/queues/q0/messages", headers={**TENANT, "Client-ID": ADMIN["Client-ID"]}
        )
        assert [m["body"] for m in listed.json()["messages"]] == [1]
        names = [q["name"] for q in http.get("/v2/queues", headers=TENANT).json()["queues"]]
        assert names == [f"q{i}" for i in range(5)]
        denied = http.delete("/v2/pools/one")
        assert denied.status_code == 403 and denied.json()["title"] == "Unable to delete"

        # Flavors.
        assert http.put("/v2/flavors/gold", json={"pool_list": ["two"]}).status_code == 201
        assert http.put("/v2/flavors/bad", json={"pool_list": []}).status_code == 400
        assert http.put("/v2/flavors/bad", json={"pool_list": ["nope"]}).status_code == 400
        assert http.put("/v2/flavors/bad", json={"pool_list": "two"}).status_code == 400
        assert http.put("/v2/flavors/bad", json={"pools": ["two"]}).status_code == 400
        assert (
            http.put("/v2/flavors/gold", json={"pool_list": ["two"]}, headers=TENANT).status_code
            == 403
        )
        gold = http.get("/v2/flavors/gold").json()
        assert gold["pool_list"] == ["two"] and "CLAIMS" in gold["capabilities"]
        assert http.get("/v2/pools/two").json()["flavor"] == "gold"
        assert http.get("/v2/flavors").json()["flavors"] == [
            {"name": "gold", "href": "/v2/flavors/gold", "pool_list": ["two"]}
        ]
        assert (
            http.put("/v2/queues/golden", headers=TENANT, json={"_flavor": "gold"}).status_code
            == 201
        )
        assert http.patch("/v2/flavors/gold", json={}).status_code == 400
        assert http.patch("/v2/flavors/nope", json={"pool_list": ["two"]}).status_code == 404
        last = http.delete("/v2/pools/two")
        assert last.status_code == 403 and "last pool of flavor gold" in last.json()["description"]
        assert http.delete("/v2/flavors/gold").status_code == 204
        assert http.get("/v2/flavors/gold").status_code == 404
        assert http.delete("/v2/pools/unknown").status_code == 204
        # The flavored queue is where the flavor put it, and readable through the api.
        assert http.get("/v2/queues/golden", headers=TENANT).json()["_flavor"] == "gold"


def test_pool_routes_are_absent_without_pooling(suite_factory: SuiteFactory) -> None:
    suite = suite_factory(env={"TIDINGS_ADMIN_MODE": "true"})
    with httpx.Client(base_url=suite.api_url, headers=ADMIN, timeout=30) as http:
        assert http.get("/v2/pools").status_code == 404
        assert http.get("/v2/flavors").status_code == 404
        assert "rel/pools" not in http.get("/v2/").json()["resources"]
