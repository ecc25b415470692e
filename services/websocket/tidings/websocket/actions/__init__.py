"""Every action of the WebSocket API (spec 5.3), by name."""

from __future__ import annotations

from tidings.websocket.actions import claims, messages, pools, queues, subscriptions, system
from tidings.websocket.actions.base import Action, Context
from tidings.websocket.schema import ActionSchema

AUTHENTICATE = "authenticate"
AUTHENTICATE_SCHEMA = ActionSchema(headers=("X-Auth-Token", "X-Project-ID"))

ACTIONS: dict[str, Action] = {
    **queues.ACTIONS,
    **messages.ACTIONS,
    **claims.ACTIONS,
    **subscriptions.ACTIONS,
    **system.ACTIONS,
    **pools.ACTIONS,
}

__all__ = ["ACTIONS", "AUTHENTICATE", "AUTHENTICATE_SCHEMA", "Action", "ActionSchema", "Context"]
