"""python-zaqarclient's WebSocket transport (v2), unchanged, drives queues, messages, claims.

The transport connects, sends ``authenticate`` first (accepted as a no-op in noauth mode), then
one frame per request with the request's ``content`` as the frame body (it cannot send query
parameters over a socket, so everything goes in the body).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from zaqarclient.transport import errors, get_transport_for
from zaqarclient.transport.request import Request

from tests.websocket.client import new_project
from tests.websocket.conftest import WsSuite


def _drive(endpoint: str, project: str) -> dict[str, Any]:
    conf = {"auth_opts": {"options": {"os_auth_token": "unused", "os_project_id": project}}}
    seen: dict[str, Any] = {}
    with get_transport_for(endpoint, version=2, options=conf) as transport:

        def send(operation: str, body: dict[str, Any]) -> Any:
            response = transport.send(Request(endpoint, operation, content=json.dumps(body)))
            seen.setdefault(operation, []).append(response.status_code)
            return response.deserialized_content

        send("queue_create", {"queue_name": "zq", "metadata": {"owner": "client"}})
        seen["metadata"] = send("queue_get", {"queue_name": "zq"})
        posted = send(
            "message_post",
            {"queue_name": "zq", "messages": [{"body": {"n": n}, "ttl": 300} for n in range(3)]},
        )
        seen["ids"] = posted["message_ids"]
        listed = send("message_list", {"queue_name": "zq", "echo": True})
        seen["listed"] = [m["id"] for m in listed["messages"]]
        claim = send("claim_create", {"queue_name": "zq", "limit": 2, "ttl": 60, "grace": 60})
        seen["claimed"] = [m["id"] for m in claim["messages"]]
        send("claim_update", {"queue_name": "zq", "claim_id": claim["claim_id"], "ttl": 120})
        seen["claim"] = send("claim_get", {"queue_name": "zq", "claim_id": claim["claim_id"]})
        for message_id in seen["claimed"]:
            send(
                "message_delete",
                {"queue_name": "zq", "message_id": message_id, "claim_id": claim["claim_id"]},
            )
        send("claim_delete", {"queue_name": "zq", "claim_id": claim["claim_id"]})
        seen["stats"] = send("queue_get_stats", {"queue_name": "zq"})
        with pytest.raises(errors.ResourceNotFound) as missing:
            send("message_get", {"queue_name": "zq", "message_id": seen["claimed"][0]})
        seen["missing"] = missing.value
        send("queue_delete", {"queue_name": "zq"})
        seen["queues"] = send("queue_list", {})
    return seen


async def test_zaqarclient_websocket_transport(ws_suite: WsSuite) -> None:
    endpoint = ws_suite.ws_url(1).rstrip("/")
    seen = await asyncio.to_thread(_drive, endpoint, new_project())
    assert seen["queue_create"] == [201]
    assert seen["metadata"] == {"owner": "client"}
    assert seen["listed"] == seen["ids"]
    assert seen["claimed"] == seen["ids"][:2]
    assert seen["claim_update"] == [204]
    assert seen["claim"]["ttl"] == 120 and len(seen["claim"]["messages"]) == 2
    assert seen["message_delete"] == [204, 204]
    assert seen["stats"]["messages"]["total"] == 1
    assert "Not found" in str(seen["missing"])
    assert seen["queue_delete"] == [204]
    assert seen["queues"] == {"queues": []}
