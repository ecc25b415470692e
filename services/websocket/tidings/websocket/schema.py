"""The request schema of each action (spec 5.2 "Schema validation failed.").

Zaqar checks every frame against a JSON schema per action before its handler runs: required
headers, required body fields and the JSON types of the known fields. Extra keys pass. Value
rules (ranges, name formats, Client-ID UUIDs) are not schema matters: the handlers apply them
through :mod:`tidings.common.validation` and answer with ``{"exception", "error"}`` bodies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SCHEMA_FAILED = "Schema validation failed."

# Header keys the Zaqar schema knows; their values must be strings when present.
KNOWN_HEADERS = ("User-Agent", "Date", "Accept", "Client-ID", "X-Project-ID", "X-Auth-Token")
DATA_HEADERS = ("Client-ID", "X-Project-ID")


def _is(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":  # JSON-schema integers exclude booleans
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    raise ValueError(kind)


@dataclass(frozen=True)
class ActionSchema:
    fields: Mapping[str, str] = field(default_factory=dict)  # body field -> JSON type
    required: tuple[str, ...] = ()  # required body fields (a body is then required)
    headers: tuple[str, ...] = DATA_HEADERS  # required header keys

    def accepts(self, headers: Any, body: Any, body_sent: bool) -> bool:
        if not isinstance(headers, dict):
            return False
        if any(name not in headers for name in self.headers):
            return False
        if any(k in headers and not isinstance(headers[k], str) for k in KNOWN_HEADERS):
            return False
        if not body_sent:
            return not self.required
        if not isinstance(body, dict):
            return False
        if any(name not in body for name in self.required):
            return False
        return all(name not in body or _is(kind, body[name]) for name, kind in self.fields.items())


def queue(*extra: tuple[str, str], required: tuple[str, ...] = ()) -> ActionSchema:
    """A schema whose body names a queue (always required), plus ``extra`` typed fields."""
    fields = {"queue_name": "string", **dict(extra)}
    return ActionSchema(fields=fields, required=("queue_name", *required))
