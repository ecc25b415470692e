"""Zaqar's validation rules, written once for every transport and for storage.

The REST api and the WebSocket service parse their input with these helpers; storage calls
:func:`validate_queue_metadata` after applying a queue PATCH. Every failure raises a typed
:class:`tidings.common.errors.TidingsError` carrying Zaqar's exact title and description
(spec sections 1.4, 1.7, 1.9, 1.10, 2.5-2.8, 4.3); no HTTP here.
"""

from __future__ import annotations

import datetime
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import orjson
from pydantic import JsonValue

from tidings.common.errors import InvalidBody, InvalidParameter, InvalidRequest, TidingsError
from tidings.common.schemas import NewMessage, PatchOperation
from tidings.common.settings import CommonSettings

# ---------------------------------------------------------------- constants (spec 1.14, 2.6)

QUEUE_NAME_MAX_LEN = 64
PROJECT_ID_MAX_LEN = 256
MIN_MESSAGE_TTL = 60
MIN_CLAIM_TTL = 60
MIN_CLAIM_GRACE = 60
MIN_DELAY = 0
DEFAULT_PAGE_SIZE = 10  # queues, messages, topics when `limit` is omitted
DEFAULT_CLAIM_LIMIT = 10

# JSON bodies nested deeper than this are refused: the typed RPC schemas (pydantic) refuse to
# serialise or parse much deeper values, and a 400 beats a 503 for hostile input.
MAX_JSON_DEPTH = 128

QUEUE_NAME_PATTERN = r"^[a-zA-Z0-9_\-.]+$"
_QUEUE_NAME_RE = re.compile(QUEUE_NAME_PATTERN)
_SIGNED_64 = (-(2**63), 2**63 - 1)
# orjson silently turns integers beyond 64 bits into floats; a run of 19+ digits is the only
# way such an integer can appear, so only then is the body parsed again the strict way. The run
# is looked for with every digit translated to "0" and everything else to a space: 4 us for a
# 2.7 KB post of ten messages where the regular expression \d{19,} took 23 us.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_DIGIT_RUN = b"0" * 19


def _has_long_digit_run(data: bytes) -> bool:
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)


PATCH_CONTENT_TYPE = "application/openstack-messaging-v2.0-json-patch"
PatchOp = Literal["add", "remove", "replace"]
PATCH_OPERATIONS: dict[str, PatchOp] = {"add": "add", "remove": "remove", "replace": "replace"}
PURGEABLE_RESOURCE_TYPES = ("messages", "subscriptions")

RESERVED_QUEUE_KEYS = (
    "_max_messages_post_size",
    "_default_message_ttl",
    "_default_message_delay",
    "_dead_letter_queue",
    "_dead_letter_queue_messages_ttl",
    "_max_claim_count",
    "_enable_encrypt_messages",
)
# Topics show only the first three reserved keys with defaults (spec 2.12).
RESERVED_TOPIC_KEYS = RESERVED_QUEUE_KEYS[:3]

RETRY_BACKOFF_FUNCTIONS = frozenset({"linear", "arithmetic", "geometric", "exponential"})
RETRY_POLICY_DEFAULTS: dict[str, int | str | bool] = {
    "retries_with_no_delay": 3,
    "minimum_delay_retries": 3,
    "minimum_delay": 5,
    "maximum_delay": 30,
    "maximum_delay_retries": 3,
    "retry_backoff_function": "linear",
    "ignore_subscription_override": False,
}
_RETRY_LINEAR_INTERVAL = 5

# ---------------------------------------------------------------- JSON bodies (spec 1.7)

BODY_NOT_PARSABLE = "Request body could not be parsed."
BODY_EMPTY = "Request body can not be empty"
INTEGER_TOO_LARGE = "JSON contains integer that is too large."
DOCUMENT_TYPE_NOT_SUPPORTED = "Document type not supported."


def _strict_int(text: str) -> int:
    value = int(text)
    if not _SIGNED_64[0] <= value <= _SIGNED_64[1]:
        raise _IntegerTooLarge
    return value


class _IntegerTooLarge(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values() if _is_container(child))
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node if _is_container(child))
    return False


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | list)


def parse_json(data: bytes) -> JsonValue:
    """Parse a request body: an object or an array, integers within signed 64 bits.

    Raises InvalidBody with Zaqar's descriptions. An empty body is "could not be parsed" (a
    caller that distinguishes "no body" checks for it before calling).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise InvalidBody(BODY_NOT_PARSABLE) from None
    if _has_long_digit_run(data):
        # Rare: re-parse with the standard library to see the integers as written.
        try:
            value = json.loads(
                data.decode("utf-8"), parse_int=_strict_int, parse_constant=_reject_constant
            )
        except _IntegerTooLarge:
            raise InvalidBody(INTEGER_TOO_LARGE) from None
        except (ValueError, RecursionError):
            raise InvalidBody(BODY_NOT_PARSABLE) from None
    if not isinstance(value, dict | list):
        raise InvalidBody(BODY_NOT_PARSABLE)
    # Counting brackets is cheap and bounds the depth; walk the value only when it could be deep.
    if data.count(b"[") + data.count(b"{") > MAX_JSON_DEPTH and _too_deep(value):
        raise InvalidBody(BODY_NOT_PARSABLE)
    result: JsonValue = value
    return result


def parse_json_object(data: bytes) -> dict[str, JsonValue]:
    value = parse_json(data)
    if not isinstance(value, dict):
        raise InvalidBody(DOCUMENT_TYPE_NOT_SUPPORTED)
    return value


# ---------------------------------------------------------------- query parameters (spec 1.9)

_TRUE = frozenset({"true", "True", "t", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "False", "f", "no", "n", "0", "off"})


def parse_bool_param(name: str, value: str | None) -> bool | None:
    """A boolean query parameter; None (absent or blank) stays None."""
    if value is None or value == "":
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(
        f'The "{name}" parameter is invalid. The value of the parameter must be "true" or "false".'
    )


def parse_int_param(name: str, value: str | None) -> int | None:
    """An integer query parameter parsed like Python's ``int()``; None when absent or blank."""
    if value is None or value == "":
        return None
    try:
        # Bounded length: int() of a huge digit string is slow and pointless here.
        if len(value) > 40:
            raise ValueError(value)
        return int(value)
    except ValueError:
        raise InvalidParameter(
            f'The "{name}" parameter is invalid. The value must be an integer.'
        ) from None


def parse_list_param(value: str | None) -> list[str] | None:
    """Comma-separated values; empty items are dropped. None when absent or blank."""
    if value is None or value == "":
        return None
    return [item for item in value.split(",") if item]


# ---------------------------------------------------------------- identities (spec 1.4, 1.10)


def validate_client_id(value: str | None, settings: CommonSettings) -> str:
    """Check a Client-ID header and return its normalised form.

    In ``strict`` mode a UUID in any spelling ``uuid.UUID`` accepts comes back as 32 lower-case
    hex digits, so dashed and dashless spellings of one id compare equal for ``echo``.
    """
    if value is None:
        raise InvalidRequest('The "Client-Id" header is required.', title="Missing header value")
    if settings.client_id_uuid_safe == "strict":
        try:
            return uuid.UUID(value).hex
        except ValueError:
            raise InvalidRequest("Malformed hexadecimal UUID.", title="Wrong UUID value") from None
    low, high = settings.min_length_client_id, settings.max_length_client_id
    if not low <= len(value) <= high:
        raise InvalidRequest(
            title=f"Length of client id must be at least {low} and no greater than {high}."
        )
    return value


def is_valid_queue_name(name: str) -> bool:
    return len(name) <= QUEUE_NAME_MAX_LEN and _QUEUE_NAME_RE.match(name) is not None


def validate_queue_identification(
    name: str, project: str, kind: Literal["queue", "topic"] = "queue"
) -> None:
    """Name 1-64 of ``[a-zA-Z0-9_-.]`` and project id <= 256 chars, else Zaqar's 400."""
    if len(project) > PROJECT_ID_MAX_LEN or not is_valid_queue_name(name):
        raise InvalidRequest(
            f"The format of the submitted {kind} name or project id is not valid.",
            title=f"Invalid {kind} identification",
        )


# ---------------------------------------------------------------- limits and counts


def validate_queue_list_limit(limit: int | None, settings: CommonSettings) -> int:
    high = settings.max_queues_per_page
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 0 < limit <= high:
        raise InvalidRequest(f"Limit must be at least 1 and no greater than {high}.")
    return limit


def validate_message_list_limit(limit: int | None, settings: CommonSettings) -> int:
    high = settings.max_messages_per_page
    if limit is None:
        return DEFAULT_PAGE_SIZE
    if not 0 < limit <= high:
        raise InvalidRequest(f"Limit must be at least 1 and may not be greater than {high}.")
    return limit


def validate_claim_limit(limit: int | None, settings: CommonSettings) -> int:
    high = settings.max_messages_per_claim_or_pop
    if limit is None:
        return DEFAULT_CLAIM_LIMIT
    if not 0 < limit <= high:
        raise InvalidRequest(f"Limit must be at least 1 and may not be greater than {high}.")
    return limit


def validate_ids(ids: list[str], settings: CommonSettings) -> list[str]:
    high = settings.max_messages_per_page
    if not 0 < len(ids) <= high:
        raise InvalidRequest(
            f"ids parameter should have at least 1 and not greater than {high} values."
        )
    return ids


def validate_message_deletion(
    ids: list[str] | None,
    pop: int | None,
    claim_ids: list[str] | None,
    settings: CommonSettings,
) -> None:
    """The parameter rules of ``DELETE .../messages`` (spec 2.7.4, 2.7.5)."""
    if ids and pop is not None:
        raise InvalidRequest("pop and id params cannot be present together in the delete request.")
    if ids is None and pop is None:
        raise InvalidRequest(
            'The request should have either "ids" or "pop" parameter in the request, to be '
            "able to delete."
        )
    if settings.message_delete_with_claim_id and (
        (ids and claim_ids is None) or (ids is None and claim_ids)
    ):
        raise InvalidRequest(
            'The request should have both "ids" and "claim_ids" parameter in the request when '
            "message_delete_with_claim_id is True."
        )
    high = settings.max_messages_per_claim_or_pop
    if pop is not None and not 0 < pop <= high:
        raise InvalidRequest(f"Pop value must be at least 1 and may not be greater than {high}.")
    if ids is not None:
        validate_ids(ids, settings)


# ---------------------------------------------------------------- sizes (checked before reading)


def validate_queue_metadata_length(content_length: int | None, settings: CommonSettings) -> None:
    if content_length is not None and content_length > settings.max_queue_metadata:
        raise InvalidRequest(
            f"Queue metadata is too large. Max size: {settings.max_queue_metadata}"
        )


def validate_message_post_length(
    content_length: int | None, settings: CommonSettings, queue_limit: int | None = None
) -> None:
    if content_length is None:
        return
    limit = settings.max_messages_post_size
    if queue_limit:
        effective = min(queue_limit, limit)
        if content_length > effective:
            raise InvalidRequest(
                "Message collection size is too large. The max size for current queue is "
                f"{effective}. It is calculated by max size = "
                f"min(max_messages_post_size_config: {limit}, "
                f"max_messages_post_size_queue: {queue_limit})."
            )
    if content_length > limit:
        raise InvalidRequest(f"Message collection size is too large. Max size {limit}")


# ---------------------------------------------------------------- documents


def _checked_field(
    document: Mapping[str, JsonValue], name: str, type_name: str
) -> tuple[bool, JsonValue]:
    """(present, value) with Zaqar's type check: ``int`` accepts JSON true/false like Python."""
    if name not in document:
        return False, None
    value = document[name]
    if type_name == "int" and not isinstance(value, int):
        raise InvalidBody(f'The value of the "{name}" field must be a int.')
    return True, value


def parse_message_post(document: JsonValue, settings: CommonSettings) -> list[NewMessage]:
    """The ``{"messages": [...]}`` document of a message post (spec 2.7.1)."""
    if not isinstance(document, dict) or "messages" not in document:
        raise InvalidRequest("No messages were found in the request body.")
    items = document["messages"]
    if not isinstance(items, list):
        raise InvalidBody(DOCUMENT_TYPE_NOT_SUPPORTED)
    messages: list[NewMessage] = []
    for item in items:
        if not isinstance(item, dict):
            raise InvalidBody(DOCUMENT_TYPE_NOT_SUPPORTED)
        has_ttl, ttl = _checked_field(item, "ttl", "int")
        if "body" not in item:
            raise InvalidBody('Missing "body" field.')
        has_delay, delay = _checked_field(item, "delay", "int")
        messages.append(
            # model_construct: the values are already checked here, and re-validating a body
            # of arbitrary JSON would cost as much as parsing it again.
            NewMessage.model_construct(
                body=item["body"],
                ttl=int(ttl) if has_ttl and isinstance(ttl, int) else None,
                delay=int(delay) if has_delay and isinstance(delay, int) else None,
            )
        )
    if not messages:
        raise InvalidRequest("No messages to enqueu.")
    for message in messages:
        ttl_value = message.ttl if message.ttl is not None else settings.default_message_ttl
        if not MIN_MESSAGE_TTL <= ttl_value <= settings.max_message_ttl:
            raise InvalidRequest(
                f"The TTL for a message may not exceed {settings.max_message_ttl} seconds, and "
                f"must be at least {MIN_MESSAGE_TTL} seconds long."
            )
        delay_value = message.delay or 0
        if not MIN_DELAY <= delay_value <= settings.max_message_delay:
            raise InvalidRequest(
                f"The Delay TTL for a message may not exceed {settings.max_message_delay} "
                f"seconds, and must be at least {MIN_DELAY} seconds long."
            )
    return messages


def _claim_fields(document: JsonValue, settings: CommonSettings) -> tuple[int, int]:
    if not isinstance(document, dict):
        raise InvalidBody(DOCUMENT_TYPE_NOT_SUPPORTED)
    has_ttl, ttl = _checked_field(document, "ttl", "int")
    has_grace, grace = _checked_field(document, "grace", "int")
    return (
        int(ttl) if has_ttl and isinstance(ttl, int) else settings.default_claim_ttl,
        int(grace) if has_grace and isinstance(grace, int) else settings.default_claim_grace,
    )


def _check_claim_ttl(ttl: int, settings: CommonSettings) -> None:
    if not MIN_CLAIM_TTL <= ttl <= settings.max_claim_ttl:
        raise InvalidRequest(
            f"The TTL for a claim may not exceed {settings.max_claim_ttl} seconds, and must be "
            f"at least {MIN_CLAIM_TTL} seconds long."
        )


def parse_claim_create(document: JsonValue | None, settings: CommonSettings) -> tuple[int, int]:
    """(ttl, grace) of a claim POST; None (no body) means the configured defaults."""
    if document is None:
        return settings.default_claim_ttl, settings.default_claim_grace
    ttl, grace = _claim_fields(document, settings)
    _check_claim_ttl(ttl, settings)
    if not MIN_CLAIM_GRACE <= grace <= settings.max_claim_grace:
        raise InvalidRequest(
            f"The grace for a claim may not exceed {settings.max_claim_grace} seconds, and must "
            f"be at least {MIN_CLAIM_GRACE} seconds long."
        )
    return ttl, grace


def parse_claim_renew(document: JsonValue, settings: CommonSettings) -> tuple[int, int]:
    """(ttl, grace) of a claim PATCH; grace is not range-checked on update (spec 2.8.3)."""
    ttl, grace = _claim_fields(document, settings)
    _check_claim_ttl(ttl, settings)
    return ttl, grace


def parse_purge(document: JsonValue | None) -> list[Literal["messages", "subscriptions"]]:
    """The resource types of a queue purge (spec 2.5.7); None (no body) means both."""
    if document is None:
        return ["messages", "subscriptions"]
    if not isinstance(document, dict) or "resource_types" not in document:
        raise InvalidRequest('Post body must contain key "resource_types".')
    kinds = document["resource_types"]
    if not isinstance(kinds, list) or any(k not in PURGEABLE_RESOURCE_TYPES for k in kinds):
        raise InvalidRequest("Resource types must be a sub set of {'messages', 'subscriptions'}.")
    chosen: list[Literal["messages", "subscriptions"]] = []
    if "messages" in kinds:
        chosen.append("messages")
    if "subscriptions" in kinds:
        chosen.append("subscriptions")
    return chosen


# ---------------------------------------------------------------- reserved metadata (spec 2.6)


def _check_int_key(
    metadata: Mapping[str, JsonValue],
    key: str,
    low: int | None,
    high: int | None,
    range_message: str,
    error: type[TidingsError],
) -> None:
    value = metadata.get(key)
    if value is None or (low is None and not value):
        return  # without a range Zaqar checks nothing of a falsy value
    # Zaqar skips the type check for falsy values but not the range check; a falsy non-number
    # ("" or []) would crash its comparison, so here it fails the type check instead.
    if not isinstance(value, int | float) or (value and not isinstance(value, int)):
        raise error(f"{key} must be integer.")
    if low is not None and high is not None and not low <= value <= high:
        raise error(range_message)


def validate_queue_metadata(
    metadata: dict[str, JsonValue],
    settings: CommonSettings,
    error: type[TidingsError] = InvalidBody,
) -> None:
    """Validate the reserved ``_`` keys of queue (or topic) metadata.

    ``error`` is the type raised: Zaqar titles the failure "Invalid request body" after a PATCH
    (the default, which storage uses) and "Invalid API request" on PUT (the api passes
    :class:`InvalidRequest`).
    """
    if not metadata:
        return
    max_ttl = settings.max_message_ttl
    _check_int_key(
        metadata,
        "_default_message_ttl",
        MIN_MESSAGE_TTL,
        max_ttl,
        f"_default_message_ttl can not exceed {max_ttl} seconds, and must be at least "
        f"{MIN_MESSAGE_TTL} seconds long.",
        error,
    )
    max_size = settings.max_messages_post_size
    _check_int_key(
        metadata,
        "_max_messages_post_size",
        1,
        max_size,
        f"_max_messages_post_size can not exceed {max_size},  and must be at least greater than 0.",
        error,
    )
    _check_int_key(metadata, "_max_claim_count", None, None, "", error)
    _check_int_key(
        metadata,
        "_dead_letter_queue_messages_ttl",
        MIN_MESSAGE_TTL,
        max_ttl,
        f"The TTL for a message may not exceed {max_ttl} seconds, and must be at least "
        f"{MIN_MESSAGE_TTL} seconds long.",
        error,
    )
    max_delay = settings.max_message_delay
    _check_int_key(
        metadata,
        "_default_message_delay",
        MIN_DELAY,
        max_delay,
        f"The TTL can not exceed {max_delay} seconds, and must be at least {MIN_DELAY} "
        "seconds long.",
        error,
    )
    encrypted = metadata.get("_enable_encrypt_messages")
    if encrypted and not isinstance(encrypted, bool):
        raise error("_enable_encrypt_messages must be boolean.")
    validate_retry_policy(metadata.get("_retry_policy"), error)


def validate_retry_policy(policy: JsonValue, error: type[TidingsError] = InvalidRequest) -> None:
    """The ``_retry_policy`` rules of spec 4.3 (queue metadata and subscription options)."""
    if not policy:
        return
    if not isinstance(policy, dict):
        raise error("retry_policy must be a dict.")
    for key in RETRY_POLICY_DEFAULTS:
        value = policy.get(key)
        if key == "retry_backoff_function":
            if value and not isinstance(value, str):
                raise error("retry_backoff_function must be a string.")
            if value and value not in RETRY_BACKOFF_FUNCTIONS:
                raise error("invalid retry_backoff_function.")
        elif key == "ignore_subscription_override":
            if value and not isinstance(value, bool):
                raise error("ignore_subscription_override must be a boolean.")
        elif value is not None and (
            not isinstance(value, int | float) or (value and not isinstance(value, int))
        ):
            raise error(f"Retry policy: {key} must be a integer.")
    low = _int_or(policy.get("minimum_delay"), RETRY_POLICY_DEFAULTS["minimum_delay"])
    high = _int_or(policy.get("maximum_delay"), RETRY_POLICY_DEFAULTS["maximum_delay"])
    if high < low:
        raise error("minimum_delay must less than maximum_delay.")
    if high - low < 2 * _RETRY_LINEAR_INTERVAL:
        raise error("invalid minimum_delay and maximum_delay.")


def _int_or(value: JsonValue, default: int | str | bool) -> int:
    if isinstance(value, int | float):
        return int(value)
    return int(default)


def reserved_metadata_defaults(
    settings: CommonSettings, topic: bool = False
) -> dict[str, JsonValue]:
    """What GET shows for reserved keys that are missing or falsy (spec 2.6, 2.12)."""
    defaults: dict[str, JsonValue] = {
        "_max_messages_post_size": settings.max_messages_post_size,
        "_default_message_ttl": settings.default_message_ttl,
        "_default_message_delay": settings.default_message_delay,
    }
    if not topic:
        defaults.update(
            {
                "_dead_letter_queue": None,
                "_dead_letter_queue_messages_ttl": None,
                "_max_claim_count": None,
                "_enable_encrypt_messages": False,
            }
        )
    return defaults


def with_reserved_defaults(
    metadata: Mapping[str, JsonValue], defaults: Mapping[str, JsonValue]
) -> dict[str, JsonValue]:
    filled = dict(metadata)
    for key, value in defaults.items():
        if not filled.get(key):
            filled[key] = value
    return filled


# ---------------------------------------------------------------- queue PATCH (spec 2.5.4)


def _decode_pointer(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise InvalidBody(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise InvalidBody(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise InvalidBody(f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/":
        raise InvalidBody(f"Pointer `{pointer}` does not contains valid token.")
    if re.search(r"~[^01]", pointer) or pointer.endswith("~"):
        raise InvalidBody(
            f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.'
        )
    return [
        part.replace("~1", "/").replace("~0", "~").strip()
        for part in pointer.lstrip("/").split("/")
    ]


def parse_queue_patch(document: JsonValue) -> list[PatchOperation]:
    """JSON-patch operations on ``/metadata/<key>``; titles are "Invalid request body"."""
    if not isinstance(document, list):
        raise InvalidBody("Request body must be a JSON array of operation objects.")
    available = ", ".join(PATCH_OPERATIONS)
    operations: list[PatchOperation] = []
    for raw in document:
        if not isinstance(raw, dict):
            raise InvalidBody("Operations must be JSON objects.")
        op = raw.get("op")
        if op is None:
            raise InvalidBody(
                "Unable to find `op` in JSON Schema change. It must be one of the following: "
                f"{available}."
            )
        if not isinstance(op, str) or op not in PATCH_OPERATIONS:
            raise InvalidBody(
                f"Invalid operation: `{op}`. It must be one of the following: {available}."
            )
        if "path" not in raw:
            raise InvalidBody("Unable to find 'path' in JSON Schema change")
        pointer = raw["path"]
        if not isinstance(pointer, str):
            raise InvalidBody(f'Pointer `{pointer}` does not start with "/".')
        path = _decode_pointer(pointer)
        if len(path) != 2:
            joined = "/".join(path)
            raise InvalidBody(
                f"Invalid JSON pointer for this resource: '/{joined}, e.g /metadata/key'"
            )
        value: JsonValue = None
        if op != "remove":
            if "value" not in raw:
                raise InvalidBody(f'Operation "{op}" requires a member named "value".')
            value = raw["value"]
            if path[0].lower() != "metadata":
                raise InvalidBody("The root of path must be metadata, e.g /metadata/key.")
        operations.append(
            PatchOperation.model_construct(op=PATCH_OPERATIONS[op], key=path[1], value=value)
        )
    return operations


def first_present(headers: Mapping[str, str], names: Iterable[str]) -> str | None:
    """The value of the first header of ``names`` that is present (project id aliases)."""
    for name in names:
        value = headers.get(name)
        if value is not None:
            return value
    return None


# ---------------------------------------------------------------- subscriptions (spec 2.9.2)

MIN_SUBSCRIPTION_TTL = 60


def validate_subscription_ttl(ttl: JsonValue, settings: CommonSettings) -> int:
    """The ``ttl`` of a subscription; a falsy one means ``default_subscription_ttl``."""
    if not ttl:
        return settings.default_subscription_ttl
    if not isinstance(ttl, int):
        raise InvalidRequest("TTL must be an integer.")
    if ttl < MIN_SUBSCRIPTION_TTL:
        raise InvalidRequest(
            f"The TTL for a subscription must be at least {MIN_SUBSCRIPTION_TTL} seconds long."
        )
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    try:
        now + datetime.timedelta(seconds=ttl)
    except OverflowError:
        raise InvalidRequest(
            "The TTL seconds for a subscription plus current time must be less than "
            f"{datetime.datetime.max}."
        ) from None
    return int(ttl)


def validate_subscription_options(options: JsonValue) -> dict[str, JsonValue]:
    """The ``options`` object of a subscription, with its ``_retry_policy`` checked."""
    if not options:
        return {}
    if not isinstance(options, dict):
        raise InvalidRequest("Options must be a dict.")
    validate_retry_policy(options.get("_retry_policy"))
    return options
