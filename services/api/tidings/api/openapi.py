"""OpenAPI fragments so ``/openapi.json`` tells what routes really accept and answer.

Routes read their bodies themselves (to check sizes before reading), so request bodies are
described here through ``openapi_extra``; responses list every status a route can give.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Response

from tidings.common.settings import CommonSettings
from tidings.common.validation import QUEUE_NAME_MAX_LEN, QUEUE_NAME_PATTERN

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
    "required": ["title"],
}
LINKS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": 1,
    "items": {
        "type": "object",
        "properties": {"rel": {"type": "string"}, "href": {"type": "string"}},
        "required": ["rel", "href"],
    },
}
METADATA_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": True}
MESSAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "href": {"type": "string"},
        "ttl": {"type": "integer"},
        "age": {"type": "integer"},
        "body": {},
        "checksum": {"type": "string"},
    },
    "required": ["id", "href", "ttl", "age", "body"],
}
POPPED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "ttl": {"type": "integer"},
        "age": {"type": "integer"},
        "claim_count": {"type": "integer"},
        "claim_id": {"type": ["string", "null"]},
        "body": {},
    },
    "required": ["id", "ttl", "age", "body"],
}
MESSAGES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"messages": {"type": "array", "items": MESSAGE_SCHEMA}},
    "required": ["messages"],
}
MESSAGE_PAGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "messages": {"type": "array", "items": MESSAGE_SCHEMA},
        "links": LINKS_SCHEMA,
    },
    "required": ["messages", "links"],
}
MESSAGE_POST_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "body": {},
                    "ttl": {"type": "integer", "minimum": 60, "maximum": 1209600},
                    "delay": {"type": "integer", "minimum": 0, "maximum": 900},
                },
                "required": ["body"],
            },
        }
    },
    "required": ["messages"],
}
CLAIM_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "ttl": {"type": "integer", "minimum": 60, "maximum": 43200},
        "grace": {"type": "integer", "minimum": 60, "maximum": 43200},
    },
}
PATCH_BODY: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "op": {"type": "string", "enum": ["add", "remove", "replace"]},
            "path": {"type": "string", "pattern": "^/metadata/.+$"},
            "value": {},
        },
        "required": ["op", "path"],
    },
}
PURGE_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "resource_types": {
            "type": "array",
            "items": {"type": "string", "enum": ["messages", "subscriptions"]},
        }
    },
    "required": ["resource_types"],
}
STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "messages": {
            "type": "object",
            "properties": {
                "claimed": {"type": "integer"},
                "free": {"type": "integer"},
                "total": {"type": "integer"},
                "oldest": {"type": "object"},
                "newest": {"type": "object"},
            },
            "required": ["claimed", "free", "total"],
        }
    },
    "required": ["messages"],
}

_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    300: "Multiple Choices",
    400: "Invalid request (Zaqar error body)",
    403: "Not authorized or claimed",
    404: "Not found",
    405: "Method not allowed",
    406: "Accept does not allow JSON",
    409: "Conflict",
    415: "Wrong PATCH content type",
    429: "Over a quota or the request rate (Retry-After says when to retry)",
    503: "Storage unavailable",
}
COMMON_ERRORS = (400, 406, 503)


# The headers every /v2 route reads through tidings.api.pipeline.admit, which reads them from
# the request itself: declaring them as FastAPI parameters would cost every request their
# resolution, so they are declared here for the document only.
IDENTITY_HEADERS: list[dict[str, Any]] = [
    {"name": "Client-ID", "in": "header", "required": False, "schema": {"type": "string"}},
    {"name": "X-Project-ID", "in": "header", "required": False, "schema": {"type": "string"}},
]


_PATH_PARAMETER = re.compile(r"{(\w+)}")


def operation(
    success: dict[int, dict[str, Any] | None],
    errors: tuple[int, ...] = (),
    body: dict[str, Any] | None = None,
    body_type: str = "application/json",
    body_required: bool = False,
    success_type: str = "application/json",
    identified: bool = True,
    path: str = "",
    query: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Keyword arguments for a route decorator: status code, responses, request body, the
    parameters of the route's ``path`` template and its ``query`` parameters (which routes read
    through tidings.api.params), and the identity headers unless the route is not
    ``identified`` (``GET /``)."""
    responses: dict[int | str, dict[str, Any]] = {}
    for status, schema in success.items():
        entry: dict[str, Any] = {"description": _REASONS.get(status, "Success")}
        if schema is not None:
            entry["content"] = {success_type: {"schema": schema}}
        responses[status] = entry
    # Identified requests count against the project's rate limit (tidings.api.rate_limit).
    limited = (429,) if identified else ()
    for status in (*COMMON_ERRORS, *limited, *errors):
        responses[status] = {
            "description": _REASONS.get(status, "Error"),
            "content": {"application/json": {"schema": ERROR_SCHEMA}},
        }
    kwargs: dict[str, Any] = {
        "status_code": next(iter(success)),
        "responses": responses,
        "response_model": None,
        # Routes return their own responses; this only keeps FastAPI from documenting a JSON
        # body of its own next to ours (for a 201 or 204 without content, or a JSON-home).
        "response_class": Response,
    }
    extra: dict[str, Any] = {}
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
    ]
    parameters += [
        {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
        for name in query
    ]
    if identified:
        parameters += IDENTITY_HEADERS
    if parameters:
        extra["parameters"] = parameters
    if body is not None:
        extra["requestBody"] = {
            "required": body_required,
            "content": {body_type: {"schema": body}},
        }
    if extra:
        kwargs["openapi_extra"] = extra
    return kwargs


# What the routes parse their path and query parameters as (tidings.common.validation): they
# take them as strings, so that a bad value gets Zaqar's own 400 rather than FastAPI's 422;
# the document says what is really accepted.
_NAME_SCHEMA: dict[str, Any] = {
    "type": "string",
    "pattern": QUEUE_NAME_PATTERN,
    "minLength": 1,
    "maxLength": QUEUE_NAME_MAX_LEN,
}
_BOOLEAN_PARAMETERS = ("detailed", "with_count", "echo", "include_claimed", "include_delayed")
_STRING_PARAMETERS = ("marker", "name", "claim_id")
_LIST_PARAMETERS = ("ids", "claim_ids")


def _limit_maximum(path: str, settings: CommonSettings) -> int:
    if path.endswith("/messages"):
        return settings.max_messages_per_page
    if path.endswith("/claims"):
        return settings.max_messages_per_claim_or_pop
    if path.endswith(("/subscriptions", "/failed_deliveries")):
        return settings.max_subscriptions_per_page
    return settings.max_queues_per_page


def _parameter_schema(
    name: str, location: str, path: str, settings: CommonSettings
) -> dict[str, Any] | None:
    if location == "path":
        return dict(_NAME_SCHEMA) if name in ("queue_name", "topic_name") else None
    if location != "query":
        return None
    if name == "limit":
        return {"type": "integer", "minimum": 1, "maximum": _limit_maximum(path, settings)}
    if name == "pop":
        return {"type": "integer", "minimum": 1, "maximum": settings.max_messages_per_claim_or_pop}
    if name in _BOOLEAN_PARAMETERS:
        return {"type": "boolean"}
    if name in _STRING_PARAMETERS:
        return {"type": "string"}
    if name in _LIST_PARAMETERS:
        # Items are also split at commas (?ids=a,b); one item holds one id.
        return {
            "type": "array",
            "items": {"type": "string", "pattern": "^[^,]+$"},
            "minItems": 1,
            "maxItems": settings.max_messages_per_page,
        }
    return None


def describe_parameters(document: dict[str, Any], settings: CommonSettings) -> None:
    """Give path and query parameters the schemas of the values the routes accept."""
    for path, methods in document.get("paths", {}).items():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                schema = _parameter_schema(parameter["name"], parameter["in"], path, settings)
                if schema is not None:
                    parameter["schema"] = schema
