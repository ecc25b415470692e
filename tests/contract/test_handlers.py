"""The RPC handler table serves every operation, and the active health check works."""

from __future__ import annotations

from tests.contract.helpers import post
from tidings.common import schemas as s
from tidings.common.rpc import RpcServer
from tidings.storage.drivers import SqlDriver
from tidings.storage.handlers import build_handlers

HEALTH_STEPS = {
    "create_queue", "post_messages", "claim_messages", "list_messages", "delete_messages",
    "delete_claim", "bulk_delete_messages", "delete_queue",
}  # fmt: skip


async def test_every_operation_has_a_handler(driver: SqlDriver, project: str) -> None:
    handlers = build_handlers(driver)
    assert set(handlers) == set(s.OPERATIONS)
    RpcServer(handlers)  # refuses unknown operations
    ids = await post(driver, project, "q", ["x"])
    reply = await handlers["message.get"](
        s.MessageGetRequest(project=project, queue="q", message_id=ids[0])
    )
    assert isinstance(reply, s.MessageReply) and reply.message.body == "x"
    assert await handlers["health.ping"](s.Empty()) == s.PingReply(reachable=True)


async def test_active_health_check(driver: SqlDriver, project: str) -> None:
    reply = await build_handlers(driver)["health.check"](s.ProjectScoped(project=project))
    assert isinstance(reply, s.HealthReply)
    assert reply.storage_reachable is True
    assert set(reply.operation_status) == HEALTH_STEPS
    assert all(
        step["succeeded"] and step["ref"] is None for step in reply.operation_status.values()
    )
    assert reply.message_volume == {"free": 0, "claimed": 0, "total": 0}
    leftover = await driver.queue_list(s.QueueListRequest(project=project))
    assert leftover.queues == []  # the temporary queue is gone
