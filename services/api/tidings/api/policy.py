"""Authorization by policy rules, as operators configure any OpenStack service (spec 7.2).

Every ``/v2`` route maps to one of Zaqar's rule names (``queues:create``, ``health:get``, ...)
derived from its path template and method. The defaults are Zaqar's; a policy file
(``TIDINGS_POLICY_FILE``, oslo.policy's YAML or JSON: ``"health:get": "role:admin or
role:operator"``) overrides any of them. A denial is 403 "Not authorized". Routes the table
cannot name are denied, so a new route is closed until it gets a rule.
The check wraps the authenticator (:class:`PolicyEnforced`), so every route that asks who is
calling (``tidings.api.pipeline.admit``) is covered, whoever adds it.

The file is read once at start (restart the api to change it; a missing or unparsable file
stops the start); rules are evaluated with oslo.policy's own checks on credentials built from
the request's identity only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oslo_config import cfg
from oslo_policy import policy as oslo_policy
from starlette.requests import Request

from tidings.api.auth import Authenticator, Identity
from tidings.common.errors import Forbidden

UNPROTECTED = ""
ADMIN = "role:admin"
NOT_AUTHORIZED = "You are not authorized to complete this action."

DEFAULT_RULES: dict[str, str] = {
    **{f"queues:{a}": UNPROTECTED for a in (
        "get_all", "create", "get", "delete", "update", "stats", "share", "purge")},
    **{f"messages:{a}": UNPROTECTED for a in (
        "get_all", "create", "get", "delete", "delete_all")},
    **{f"claims:{a}": UNPROTECTED for a in ("create", "get", "update", "delete")},
    **{f"subscription:{a}": UNPROTECTED for a in (
        "get_all", "create", "get", "delete", "update", "confirm")},
    **{f"topics:{a}": UNPROTECTED for a in (
        "get_all", "create", "get", "delete", "update", "stats", "purge")},
    "ping:get": UNPROTECTED,
    "health:get": ADMIN,
    **{f"pools:{a}": ADMIN for a in ("get_all", "create", "get", "delete", "update")},
    "flavors:get_all": UNPROTECTED,
    "flavors:get": UNPROTECTED,
    **{f"flavors:{a}": ADMIN for a in ("create", "update", "delete")},
}  # fmt: skip

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


class Policy:
    def __init__(self, policy_file: str | None = None) -> None:
        rules = oslo_policy.Rules.from_dict(DEFAULT_RULES)
        if policy_file is not None:
            path = Path(policy_file)
            if not path.is_file():
                raise ValueError(f"policy file {policy_file} does not exist")
            rules.update(oslo_policy.Rules.load(path.read_text()))
        conf = cfg.ConfigOpts()
        conf([], project="tidings", default_config_files=[], default_config_dirs=[])
        # Only the evaluator: rules are given, never looked up in files or directories.
        enforcer = oslo_policy.Enforcer(conf, use_conf=False)
        enforcer.set_rules(rules, overwrite=True, use_conf=False)
        self._enforcer = enforcer
        self._rules: dict[str, Any] = dict(rules)

    def check(self, rule: str, identity: Identity) -> None:
        """Raise 403 unless ``identity`` passes ``rule`` (unknown rules are denied)."""
        check = self._rules.get(rule)
        creds = {
            "roles": sorted(identity.roles),
            "project_id": identity.project,
            "user_id": identity.user,
        }
        target = {"project_id": identity.project}
        if check is None or not check(target, creds, self._enforcer):
            raise Forbidden(NOT_AUTHORIZED)

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
