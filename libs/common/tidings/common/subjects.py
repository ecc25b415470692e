"""NATS subject names and the reversible encoding of project ids and queue names into tokens.

A NATS subject token may not contain ``.``, ``*``, ``>`` or white space, yet project ids may
hold spaces and queue names dots. :func:`encode_token` keeps ``[A-Za-z0-9_-]`` as they are and
writes every other byte of the UTF-8 text as ``~HH`` (two upper-case hex digits), so ``~``
itself becomes ``~7E``. The encoding is injective and :func:`decode_token` reverses it.
"""

from __future__ import annotations

RPC_PREFIX = "tidings.rpc"
RPC_QUEUE_GROUP = "tidings-storage"
EVENTS_PREFIX = "tidings.events"
EVENTS_STREAM = "TIDINGS_EVENTS"

_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def encode_token(text: str) -> str:
    if not text:
        raise ValueError("an empty string cannot be a subject token")
    out: list[str] = []
    for byte in text.encode("utf-8"):
        out.append(chr(byte) if byte in _SAFE else f"~{byte:02X}")
    return "".join(out)


def decode_token(token: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(token):
        if token[i] == "~":
            raw.append(int(token[i + 1 : i + 3], 16))
            i += 3
        else:
            raw.append(ord(token[i]))
            i += 1
    return raw.decode("utf-8")


def rpc_subject(operation: str) -> str:
    """``tidings.rpc.message.post`` for operation ``message.post``."""
    return f"{RPC_PREFIX}.{operation}"


def event_subject(project: str, queue: str, kind: str) -> str:
    return f"{EVENTS_PREFIX}.{encode_token(project)}.{encode_token(queue)}.{kind}"


def queue_events_filter(project: str, queue: str) -> str:
    """Wildcard subject matching every event of one queue."""
    return f"{EVENTS_PREFIX}.{encode_token(project)}.{encode_token(queue)}.*"


# Core NATS (no JetStream): every api replica publishes here how many requests it admitted per
# project since its last report, and reads its peers' reports (shared rate limits).
RATE_LIMIT_SUBJECT = "tidings.ratelimit.admitted"
