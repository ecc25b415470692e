"""Actions Zaqar's WebSocket API lists but never implemented, served with REST semantics:
ping_node, check_node_health, get_home_doc. The pool/flavor actions are in
:mod:`tidings.websocket.actions.pools`."""

from __future__ import annotations

from tidings.common import schemas as s
from tidings.common.errors import Forbidden, NotFound, ServiceUnavailable
from tidings.common.homedoc import home_resources
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.protocol import Reply
from tidings.websocket.schema import ActionSchema

ADMIN_ROLE = "admin"


async def ping_node(ctx: Context) -> Reply:
    reply = await ctx.call("health.ping", s.Empty(), s.PingReply)
    if not reply.reachable:
        raise ServiceUnavailable("Storage is unavailable.")
    return Reply(204, {})


async def check_node_health(ctx: Context) -> Reply:
    if not ctx.settings.admin_mode:
        raise NotFound("Health checks are served in admin mode only.")
    if ADMIN_ROLE not in ctx.roles:
        raise Forbidden("You are not authorized to complete this action.")
    reply = await ctx.call("health.check", s.ProjectScoped(project=ctx.project), s.HealthReply)
    return Reply(200, reply.model_dump(mode="json"))


async def get_home_doc(ctx: Context) -> Reply:
    return Reply(200, home_resources(ctx.settings.admin_mode, ctx.settings.pooling))


ACTIONS: dict[str, Action] = {
    "ping_node": Action(ActionSchema(), ping_node),
    "check_node_health": Action(ActionSchema(), check_node_health),
    "get_home_doc": Action(ActionSchema(), get_home_doc),
}
