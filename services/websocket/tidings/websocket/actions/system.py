"""Actions Zaqar's WebSocket API lists but never implemented, served with REST semantics:
ping_node, check_node_health, get_home_doc. The pool/flavor actions are in
:mod:`tidings.websocket.actions.pools`."""

from __future__ import annotations

from tidings.common import schemas as s
from tidings.common.errors import NotFound, ServiceUnavailable
from tidings.common.homedoc import home_resources
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import ActionSchema
from tidings.websocket.settings import WebsocketSettings


async def ping_node(ctx: Context) -> Reply:
    reply = await ctx.call("health.ping", s.Empty(), s.PingReply)
    if not reply.reachable:
        raise ServiceUnavailable("Storage is unavailable.")
    return Reply(204, {})


def _admin_mode(settings: WebsocketSettings) -> None:
    if not settings.admin_mode:
        raise NotFound("Health checks are served in admin mode only.")


async def check_node_health(ctx: Context) -> Reply:
    # The admin role (by default) is the policy's rule health:get (tidings.websocket.rules).
    reply = await ctx.call("health.check", s.ProjectScoped(project=ctx.project), s.HealthReply)
    return Reply(200, reply.model_dump(mode="json"))


async def get_home_doc(ctx: Context) -> Reply:
    return Reply(200, home_resources(ctx.settings.admin_mode, ctx.settings.pooling))


ACTIONS: dict[str, Action] = {
    "ping_node": Action(ActionSchema(), ping_node),
    "check_node_health": Action(ActionSchema(), check_node_health, available=_admin_mode),
    "get_home_doc": Action(ActionSchema(), get_home_doc),
}
