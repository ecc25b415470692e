"""Which authorization rule governs each REST route, applied on every ``/v2`` request.

Every ``/v2`` route maps to one of Zaqar's rule names (``queues:create``, ``health:get``, ...)
derived from its path template and method; the rules and their evaluation, shared with the
WebSocket service, are in :mod:`tidings.common.policy`. Routes the table cannot name are
denied, so a new route is closed until it gets a rule. The check wraps the authenticator
(:class:`PolicyEnforced`), so every route that asks who is calling
(``tidings.api.pipeline.admit``) is covered, whoever adds it.
"""

from __future__ import annotations

from starlette.requests import Request

from tidings.api.auth import Authenticator, Identity
from tidings.common.errors import Forbidden
from tidings.common.policy import DEFAULT_RULES, NOT_AUTHORIZED
from tidings.common.policy import Policy as RulePolicy

# Rule prefix of each resource segment of a path.
_RESOURCES = {
    "queues": "queues",
    "topics": "topics",
    "messages": "messages",
    "claims": "claims",
    "subscriptions": "subscription",
    "pools": "pools",
    "flavors": "flavors",
}
_COLLECTION_ACTIONS = {"GET": "get_all", "POST": "create", "DELETE": "delete_all"}
_ITEM_ACTIONS = {"GET": "get", "PUT": "create", "PATCH": "update", "DELETE": "delete"}
# Collections whose items are created by PUT on the item, and listed, not posted to.
_PUT_CREATED = {"queues", "topics", "pools", "flavors"}
_ACTION_SEGMENTS = {
    "stats": "stats",
    "purge": "purge",
    "share": "share",
    "confirm": "confirm",
    # Tidings' extension .../subscriptions/{id}/failed_deliveries reads a subscription.
    "failed_deliveries": "get",
}


def rule_for(method: str, template: str) -> str | None:
    """The rule name of a route (``/v2/queues/{queue_name}/messages``, ``POST``), or None
    for routes no rule governs (the home document)."""
    segments = template.strip("/").split("/")
    if not segments or segments[0] != "v2":
        return None
    segments = segments[1:]
    if segments in ([], [""]):
        return None  # GET /v2/: Zaqar's home document has no rule
    if segments == ["ping"]:
        return "ping:get"
    if segments == ["health"]:
        return "health:get"
    last = segments[-1]
    is_param = last.startswith("{")
    if not is_param and last in _ACTION_SEGMENTS and len(segments) >= 3:
        resource = _RESOURCES.get(segments[-3] if last != "confirm" else "subscriptions")
        return f"{resource}:{_ACTION_SEGMENTS[last]}" if resource else None
    name = segments[-2] if is_param else last
    resource = _RESOURCES.get(name)
    if resource is None:
        return None
    actions = _ITEM_ACTIONS if is_param else _COLLECTION_ACTIONS
    action = actions.get(method)
    if action is None or (not is_param and name in _PUT_CREATED and action != "get_all"):
        return None
    return f"{resource}:{action}"


class Policy(RulePolicy):
    """The rules, and which of them governs a route."""

    def check_route(self, method: str, template: str, identity: Identity) -> None:
        rule = rule_for(method, template)
        if rule is None:
            if template.rstrip("/") == "/v2":
                return
            raise Forbidden(NOT_AUTHORIZED)
        self.check(rule, identity)


class PolicyEnforced:
    """An authenticator that also applies the matched route's rule to the identity.

    Wrapping the authenticator puts the check on every route that asks who is calling,
    including routes added later. Requests that matched no route (404, 405) have no rule.
    """

    def __init__(self, authenticator: Authenticator, policy: Policy) -> None:
        self._authenticator = authenticator
        self._policy = policy

    async def identify(self, request: Request) -> Identity:
        identity = await self._authenticator.identify(request)
        route = request.scope.get("route")
        template = getattr(route, "path", None)
        # A path matched with another method (405) is in the scope too; it has no rule.
        if isinstance(template, str) and request.method in getattr(route, "methods", ()):
            self._policy.check_route(request.method, template, identity)
        return identity


__all__ = ["DEFAULT_RULES", "Policy", "PolicyEnforced", "rule_for"]
