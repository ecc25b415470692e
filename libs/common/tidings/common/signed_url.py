"""Zaqar's pre-signed URLs (spec 2.5.8, 6): the signature, creating one, checking one.

The REST ``share`` route creates them, the api and the websocket service verify the ``URL-*``
headers of requests and frames, and the notifier signs confirmation links with the same code.

The signed message is byte for byte Zaqar's: sorted paths and sorted methods, each joined with
``,``; the project (``None`` when there is none); the expiry as ``YYYY-MM-DDTHH:MM:SS`` in UTC;
the four joined by the two characters backslash and ``n`` (not a newline). The signature is
the lowercase hex HMAC-SHA256 of that message under the secret key.

Where Zaqar is looser than it means to be, this module is not (spec 9, item 17): signatures
are compared in constant time, an empty signature is no signature, and a signed path covers
the request path only when it is equal to it or a parent of it by whole segments (Zaqar uses
an unanchored regular-expression search, so ``.`` in a queue name would match any character).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tidings.common.errors import InvalidRequest

# Literally backslash + "n": Zaqar builds the message with a raw string.
SEPARATOR = "\\n"
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%S"
DEFAULT_LIFETIME = datetime.timedelta(days=1)
SHAREABLE_PATHS = ("messages", "subscriptions", "claims")
SHARE_KEYS = frozenset({"paths", "methods", "expires"})


def utc(moment: datetime.datetime) -> datetime.datetime:
    """An aware UTC datetime; naive values are taken to be UTC already (as Zaqar does)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def format_expires(expires: datetime.datetime) -> str:
    return utc(expires).strftime(EXPIRES_FORMAT)


def parse_expires(text: str) -> datetime.datetime:
    """An ISO-8601 date and time, with or without an offset, as aware UTC; ValueError else.

    Integer-like strings are refused although a parser might read them as something, as in
    Zaqar ("expires should be date time not int").
    """
    stripped = text.strip()
    try:
        int(stripped)
    except ValueError:
        pass
    else:
        raise ValueError("expires should be a date and time, not an integer")
    return utc(datetime.datetime.fromisoformat(stripped))


def signed_message(
    paths: Iterable[str], methods: Iterable[str], project: str | None, expires: datetime.datetime
) -> str:
    return SEPARATOR.join(
        (
            ",".join(sorted(paths)),
            ",".join(sorted(methods)),
            "None" if project is None else project,
            format_expires(expires),
        )
    )


def signature(
    key: str,
    paths: Iterable[str],
    methods: Iterable[str],
    project: str | None,
    expires: datetime.datetime,
) -> str:
    message = signed_message(paths, methods, project, expires)
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedUrl:
    """What ``share`` answers (spec 2.5.8): paths and methods sorted."""

    project: str | None
    paths: list[str]
    methods: list[str]
    expires: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "paths": self.paths,
            "methods": self.methods,
            "expires": self.expires,
            "signature": self.signature,
        }


def create(
    key: str,
    paths: Sequence[str],
    methods: Sequence[str],
    project: str | None,
    expires: datetime.datetime,
) -> SignedUrl:
    return SignedUrl(
        project=project,
        paths=sorted(paths),
        methods=sorted(methods),
        expires=format_expires(expires),
        signature=signature(key, paths, methods, project, expires),
    )


def parse_share_request(
    document: Any, queue_path: str, now: datetime.datetime
) -> tuple[list[str], list[str], datetime.datetime]:
    """The absolute paths, methods and expiry a ``share`` body asks for (spec 2.5.8).

    ``queue_path`` is ``/v2/queues/<name>``; each requested path is expanded below it.
    """
    if not isinstance(document, dict):
        raise InvalidRequest("The share request must be a JSON object.")
    unknown = set(document) - SHARE_KEYS
    if unknown:
        raise InvalidRequest(f"Unknown keys: {unknown}")
    requested = document.get("paths", ["messages"])
    if not isinstance(requested, list) or not all(isinstance(p, str) for p in requested):
        raise InvalidRequest("paths must be a list of strings.")
    invalid = set(requested) - set(SHAREABLE_PATHS)
    if invalid or not requested:
        raise InvalidRequest(f"Invalid paths: {invalid or '{}'}")
    methods = document.get("methods", ["GET"])
    if not isinstance(methods, list) or not methods:
        raise InvalidRequest("methods must be a non-empty list.")
    if not all(isinstance(m, str) and m and "," not in m for m in methods):
        raise InvalidRequest("methods must be method names.")
    expires = now + DEFAULT_LIFETIME
    if "expires" in document:
        raw = document["expires"]
        if not isinstance(raw, str):
            raise InvalidRequest("expires must be an ISO-8601 date and time string.")
        try:
            expires = parse_expires(raw)
        except ValueError as exc:
            raise InvalidRequest(f"Invalid expires: {exc}") from None
        if expires <= now:
            raise InvalidRequest("expires must be in the future.")
    # Duplicates are kept, as Zaqar keeps them: they are part of what gets signed.
    return [f"{queue_path}/{p}" for p in requested], list(methods), expires


def covers(signed_path: str, path: str) -> bool:
    """Whether a signed path grants ``path``: the same path or one below it."""
    if not signed_path.startswith("/") or signed_path.endswith("/"):
        return False
    return path == signed_path or path.startswith(signed_path + "/")


def _plain_path(path: str) -> bool:
    segments = path.split("/")
    return path.startswith("/") and not any(s in (".", "..") for s in segments[1:])


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The ``URL-*`` data a request or frame carries, as sent."""

    signature: str
    expires: str
    methods: list[str]
    paths: list[str]
    project: str | None

    @staticmethod
    def from_http_headers(headers: Mapping[str, str]) -> SignedRequest | None:
        """From REST headers (lists comma-joined); None unless a non-empty signature is there.

        An empty ``URL-Signature`` is treated like none at all, so it cannot skip
        authentication (spec 9, item 17).
        """
        sig = headers.get("url-signature")
        if not sig:
            return None
        return SignedRequest(
            signature=sig,
            expires=headers.get("url-expires", ""),
            methods=headers.get("url-methods", "").split(","),
            paths=headers.get("url-paths", "").split(","),
            project=headers.get("x-project-id"),
        )

    @staticmethod
    def from_frame_headers(headers: Mapping[str, Any]) -> SignedRequest | None:
        """From WebSocket frame headers (lists as JSON arrays, spec 6.4); None unless a
        non-empty signature is there. Values of the wrong type make a request that fails."""
        sig = headers.get("URL-Signature")
        if not sig:
            return None
        methods = headers.get("URL-Methods")
        paths = headers.get("URL-Paths")
        expires = headers.get("URL-Expires")
        project = headers.get("X-Project-ID")
        return SignedRequest(
            signature=sig if isinstance(sig, str) else "",
            expires=expires if isinstance(expires, str) else "",
            methods=_strings(methods),
            paths=_strings(paths),
            project=project if isinstance(project, str) else None,
        )

    def grants(self, key: str | None, method: str, path: str, now: datetime.datetime) -> bool:
        """Whether this signature, under ``key``, allows ``method`` on ``path`` at ``now``.

        Every check runs and the signature comparison is constant-time, so a refusal tells
        nothing about which part was wrong.
        """
        if not key or not self.signature or not self.paths or not self.methods:
            return False
        try:
            expires = parse_expires(self.expires)
        except ValueError:
            return False
        expected = signature(key, self.paths, self.methods, self.project, expires)
        valid = hmac.compare_digest(expected.encode(), self.signature.encode())
        fresh = expires > now
        allowed = method in self.methods
        covered = _plain_path(path) and any(covers(p, path) for p in self.paths)
        return valid and fresh and allowed and covered


def _strings(value: Any) -> list[str]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []


__all__ = [
    "SignedRequest",
    "SignedUrl",
    "covers",
    "create",
    "format_expires",
    "parse_expires",
    "parse_share_request",
    "signature",
]
