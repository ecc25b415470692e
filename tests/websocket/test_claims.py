"""Claim actions (spec 5.3) in both encodings."""

from __future__ import annotations

from tests.websocket.client import WsClient


async def test_claim_lifecycle(ws: WsClient) -> None:
    await ws.call("message_post", {"queue_name": "c", "messages": [{"body": i} for i in range(3)]})
    status, body = await ws.call("claim_create", {"queue_name": "c", "limit": 2, "ttl": 120,
                                                  "grace": 60})  # fmt: skip
    assert status == 201
    claim_id = body["claim_id"]
    assert [m["body"] for m in body["messages"]] == [0, 1]
    assert all(m["claim_id"] == claim_id for m in body["messages"])

    status, got = await ws.call("claim_get", {"queue_name": "c", "claim_id": claim_id})
    assert status == 200
    assert set(got) == {"age", "ttl", "messages"} and got["ttl"] == 120
    assert len(got["messages"]) == 2

    assert await ws.call("claim_update", {"queue_name": "c", "claim_id": claim_id, "ttl": 300}) == (
        204,
        f"Claim {claim_id} updated.",
    )
    _, got = await ws.call("claim_get", {"queue_name": "c", "claim_id": claim_id})
    assert got["ttl"] == 300

    assert await ws.call("claim_delete", {"queue_name": "c", "claim_id": claim_id}) == (
        204,
        f"Claim {claim_id} deleted.",
    )
    status, _ = await ws.call("claim_get", {"queue_name": "c", "claim_id": claim_id})
    assert status == 404


async def test_nothing_to_claim(ws: WsClient) -> None:
    assert await ws.call("claim_create", {"queue_name": "empty"}) == (204, {"claim_id": None})


async def test_claim_validation(ws: WsClient) -> None:
    status, body = await ws.call("claim_create", {"queue_name": "c", "ttl": 30})
    assert status == 400
    assert body["exception"] == (
        "The TTL for a claim may not exceed 43200 seconds, and must be at least 60 seconds long."
    )
    status, body = await ws.call("claim_create", {"queue_name": "c", "grace": 50000})
    assert status == 400 and body["exception"].startswith("The grace for a claim")
    status, body = await ws.call("claim_create", {"queue_name": "c", "limit": 21})
    assert status == 400
    status, body = await ws.call("claim_update", {"queue_name": "c", "claim_id": "x", "ttl": 10})
    assert status == 400


async def test_unknown_claims(ws: WsClient) -> None:
    status, body = await ws.call("claim_get", {"queue_name": "c", "claim_id": "nope"})
    assert status == 404 and body["error"] == "Not found"
    status, _ = await ws.call("claim_update", {"queue_name": "c", "claim_id": "nope"})
    assert status == 404
    assert await ws.call("claim_delete", {"queue_name": "c", "claim_id": "nope"}) == (
        204,
        "Claim nope deleted.",
    )
