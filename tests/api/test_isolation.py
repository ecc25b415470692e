"""Guarantee 5: no request reads or changes another project's data."""

from __future__ import annotations

import httpx

from tests.api.conftest import assert_error, post_messages, queue_name


def test_projects_cannot_see_or_change_each_other(
    client: httpx.Client, other_client: httpx.Client
) -> None:
    queue = queue_name()
    client.put(f"/v2/queues/{queue}", json={"owner": "a"})
    ids = post_messages(client, queue, 1, 2, 3)
    claim = client.post(f"/v2/queues/{queue}/claims", params={"limit": 1})
    claim_path = claim.headers["Location"]
    base = f"/v2/queues/{queue}"

    # reads
    assert other_client.get("/v2/queues").json()["queues"] == []
    assert "owner" not in other_client.get(base).json()
    assert other_client.get(f"{base}/stats").json()["messages"]["total"] == 0
    listed = other_client.get(
        f"{base}/messages", params={"echo": "true", "include_claimed": "true"}
    )
    assert listed.json()["messages"] == []
    assert_error(other_client.get(f"{base}/messages/{ids[0]}"), 404)
    assert_error(other_client.get(f"{base}/messages", params={"ids": ",".join(ids)}), 404)
    assert_error(other_client.get(claim_path), 404)

    # changes
    patch = other_client.patch(
        base,
        json=[{"op": "add", "path": "/metadata/owner", "value": "b"}],
        headers={"Content-Type": "application/openstack-messaging-v2.0-json-patch"},
    )
    assert_error(patch, 404)
    assert_error(other_client.patch(claim_path, json={"ttl": 100}), 404)
    assert other_client.delete(claim_path).status_code == 204
    assert other_client.delete(f"{base}/messages/{ids[1]}").status_code == 204
    assert other_client.delete(f"{base}/messages", params={"ids": ids[2]}).status_code == 204
    assert other_client.delete(f"{base}/messages", params={"pop": 5}).json() == {"messages": []}
    assert other_client.post(f"{base}/claims").status_code == 204
    assert other_client.post(f"{base}/purge").status_code == 204
    assert other_client.delete(base).status_code == 204

    # project A still has everything
    assert client.get(base).json()["owner"] == "a"
    assert client.get(f"{base}/stats").json()["messages"] == {
        **client.get(f"{base}/stats").json()["messages"],
        "total": 3,
        "claimed": 1,
    }
    assert client.get(claim_path).status_code == 200
    got = client.get(f"{base}/messages", params={"ids": ",".join(ids)}).json()["messages"]
    assert len(got) == 3
