"""Actions Zaqar's WebSocket API lists but never implemented, served with REST semantics:
ping_node, check_node_health, get_home_doc; and the pool/flavor actions, which answer 404
because Tidings has no pooling yet (REST: the routes exist only with pooling, spec 1.1)."""

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
    return Reply(200, home_resources(ctx.settings.admin_mode))


async def no_pooling(ctx: Context) -> Reply:
    raise NotFound("Pools and flavors are not available: this deployment has no pooling.")


_POOL_ACTIONS = [f"pool_{verb}" for verb in ("list", "create", "update", "get", "delete")]
_FLAVOR_ACTIONS = [f"flavor_{verb}" for verb in ("list", "create", "update", "get", "delete")]

ACTIONS: dict[str, Action] = {
    "ping_node": Action(ActionSchema(), ping_node),
    "check_node_health": Action(ActionSchema(), check_node_health),
    "get_home_doc": Action(ActionSchema(), get_home_doc),
    **{name: Action(ActionSchema(), no_pooling) for name in _POOL_ACTIONS + _FLAVOR_ACTIONS},
}
