"""The authentication seam of the WebSocket API (spec 5.4, 5.5).

The socket loop asks an :class:`Authenticator` whether a frame may be served and which project
it acts for. ``noauth`` (development) serves every frame for the frame's ``X-Project-ID``; the
Keystone strategy will implement the same protocol: answer ``authenticate`` frames, refuse
other frames with 403 "Not authentified." until then, and bind the project to the token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tidings.websocket.protocol import Reply, Request

NOT_AUTHENTIFIED = "Not authentified."


@dataclass
class AuthState:
    """What a socket's authentication established (per socket)."""

    authenticated: bool = False
    project: str | None = None
    roles: list[str] = field(default_factory=list)


class Authenticator(Protocol):
    async def authenticate(self, request: Request, state: AuthState) -> Reply: ...

    def admits(self, request: Request, state: AuthState) -> bool: ...

    def project(self, headers: dict[str, Any], state: AuthState) -> str: ...

    def roles(self, headers: dict[str, Any], state: AuthState) -> list[str]: ...


class NoAuth:
    """Development mode: no token; project and roles come from each frame's headers."""

    async def authenticate(self, request: Request, state: AuthState) -> Reply:
        # Zaqar leaves `authenticate` unsupported in noauth mode; python-zaqarclient's
        # WebSocket transport always sends it first, so it is accepted as a no-op.
        state.authenticated = True
        return Reply(200, {"message": "Authentified."})

    def admits(self, request: Request, state: AuthState) -> bool:
        return True

    def project(self, headers: dict[str, Any], state: AuthState) -> str:
        return str(headers["X-Project-ID"])

    def roles(self, headers: dict[str, Any], state: AuthState) -> list[str]:
        raw = headers.get("X-Roles")
        if not isinstance(raw, str):
            return []
        return [role.strip() for role in raw.split(",") if role.strip()]


def build_authenticator(strategy: str) -> Authenticator:
    if strategy == "noauth":
        return NoAuth()
    raise ValueError(f"unknown auth strategy {strategy!r}")
