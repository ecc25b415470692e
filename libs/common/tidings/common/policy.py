"""Authorization rules, as operators configure any OpenStack service (spec 7.2).

The rule names are Zaqar's (``queues:create``, ``health:get``, ...); the defaults are Zaqar's;
a policy file (``TIDINGS_POLICY_FILE``, oslo.policy's YAML or JSON: ``"health:get": "role:admin
or role:operator"``) overrides any of them. The REST api names the rule of each route, the
WebSocket service the rule of each action; both evaluate it here, so one file governs both.
A denial is 403 "Not authorized"; a rule the table does not know is denied, so a new route or
action is closed until it gets one.

The file is read once at start (restart the service to change it; a missing or unparsable
file stops the start); rules are evaluated with oslo.policy's own checks on credentials built
from the caller's identity only.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol

from oslo_config import cfg
from oslo_policy import policy as oslo_policy

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


class Caller(Protocol):
    """Who is asking, as authentication established it (never from request headers)."""

    @property
    def project(self) -> str: ...

    @property
    def roles(self) -> Collection[str]: ...


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

    def check(self, rule: str | None, caller: Caller) -> None:
        """Raise 403 unless ``caller`` passes ``rule`` (unknown or missing rules are denied)."""
        check = self._rules.get(rule) if rule is not None else None
        creds = {
            "roles": sorted(caller.roles),
            "project_id": caller.project,
            "user_id": getattr(caller, "user", None),
        }
        target = {"project_id": caller.project}
        if check is None or not check(target, creds, self._enforcer):
            raise Forbidden(NOT_AUTHORIZED)
