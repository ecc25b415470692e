"""Validation of the pool and flavor admin bodies (spec 2.10, 2.11), shared by REST and
WebSocket. Zaqar checks them with JSON schemas: unknown keys and wrong types are a 400
"Invalid request body"; a missing PATCH field is a 400 "Invalid API request".
"""

from __future__ import annotations

from pydantic import JsonValue

from tidings.common import schemas as s
from tidings.common.errors import InvalidBody, InvalidRequest

MAX_NAME = 255
MAX_WEIGHT = 2**32 - 1
POOL_KEYS = frozenset({"uri", "weight", "flavor", "options"})
FLAVOR_KEYS = frozenset({"pool_list", "capabilities"})


def validate_page_limit(limit: int | None, high: int) -> int:
    if limit is None:
        return 10
    if not 0 < limit <= high:
        raise InvalidRequest(f"Limit must be at least 1 and no greater than {high}.")
    return limit


def _object(document: JsonValue, allowed: frozenset[str]) -> dict[str, JsonValue]:
    if not isinstance(document, dict):
        raise InvalidBody("Document type not supported.")
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise InvalidBody(f"Additional properties are not allowed ({unknown[0]!r} was unexpected)")
    return document


def _text(document: dict[str, JsonValue], key: str) -> str | None:
    value = document.get(key)
    if value is None and key not in document:
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME:
        raise InvalidBody(f"{key} must be a string of at most {MAX_NAME} characters")
    return value


def _weight(document: dict[str, JsonValue]) -> int | None:
    if "weight" not in document:
        return None
    value = document["weight"]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_WEIGHT:
        raise InvalidBody(f"weight must be an integer from 0 to {MAX_WEIGHT}")
    return value


def _options(document: dict[str, JsonValue]) -> dict[str, JsonValue] | None:
    if "options" not in document:
        return None
    value = document["options"]
    if not isinstance(value, dict):
        raise InvalidBody("options must be an object")
    return value


def parse_pool_put(name: str, document: JsonValue) -> s.Pool:
    body = _object(document, POOL_KEYS)
    uri, weight = _text(body, "uri"), _weight(body)
    if uri is None or weight is None:
        missing = "uri" if uri is None else "weight"
        raise InvalidBody(f"{missing!r} is a required property")
    return s.Pool(
        name=name, uri=uri, weight=weight, flavor=_text(body, "flavor"),
        options=_options(body) or {},
    )  # fmt: skip


def parse_pool_patch(name: str, document: JsonValue) -> s.PoolPatchRequest:
    body = _object(document, POOL_KEYS)
    if not body:
        raise InvalidRequest("Missing at least one of: uri, weight, flavor, options")
    return s.PoolPatchRequest(
        name=name, uri=_text(body, "uri"), weight=_weight(body), flavor=_text(body, "flavor"),
        options=_options(body),
    )  # fmt: skip


def _pool_list(body: dict[str, JsonValue]) -> list[str]:
    value = body.get("pool_list")
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise InvalidBody("pool_list must be an array of pool names")
    if not value:
        raise InvalidRequest("pool_list must name at least one pool")
    return [str(p) for p in value]


def parse_flavor_put(name: str, document: JsonValue) -> s.FlavorPutRequest:
    body = _object(document, FLAVOR_KEYS)
    if "pool_list" not in body:
        raise InvalidBody("'pool_list' is a required property")
    if "capabilities" in body and not isinstance(body["capabilities"], dict):
        raise InvalidBody("capabilities must be an object")
    return s.FlavorPutRequest(name=name, pool_list=_pool_list(body))


def parse_flavor_patch(name: str, document: JsonValue) -> s.FlavorPutRequest:
    body = _object(document, FLAVOR_KEYS)
    if "pool_list" not in body:
        raise InvalidRequest("Missing pool_list")
    return s.FlavorPutRequest(name=name, pool_list=_pool_list(body))


def pool_document(pool: s.Pool, *, detailed: bool) -> dict[str, JsonValue]:
    """A pool as both transports show it."""
    document: dict[str, JsonValue] = {
        "name": pool.name, "uri": pool.uri, "weight": pool.weight, "flavor": pool.flavor,
        "href": f"/v2/pools/{pool.name}",
    }  # fmt: skip
    if detailed:
        document["options"] = pool.options
    return document


def flavor_document(
    flavor: s.Flavor, *, capabilities: bool, pool_list_always: bool = True
) -> dict[str, JsonValue]:
    document: dict[str, JsonValue] = {"name": flavor.name, "href": f"/v2/flavors/{flavor.name}"}
    if pool_list_always or flavor.pool_list:
        document["pool_list"] = list(flavor.pool_list)
    if capabilities:
        document["capabilities"] = list(flavor.capabilities)
    return document
