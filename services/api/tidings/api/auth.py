"""The authentication seam: a strategy turns a request into an :class:`Identity`.

Everything after this point (project scoping, policy checks) reads only the identity, so a new
strategy (Keystone tokens) is one more :class:`Authenticator`, chosen by ``auth_strategy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from tidings.api.settings import ApiSettings
from tidings.common.errors import Forbidden, InvalidRequest

# First present wins, X-Project-ID first (spec 1.3).
PROJECT_HEADERS = ("x-project-id", "x-tenant-id", "x-tenant")
# Topics live in a storage namespace keyed by a control character (see tidings.api.kinds); a
# real project id never contains one, and refusing them keeps that namespace unreachable.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Identity:
    project: str
    user: str | None
    roles: frozenset[str]

    def require_role(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden("You are not authorized to complete this action.")


class Authenticator(Protocol):
    async def identify(self, request: Request) -> Identity:
        """The caller's identity, or a TidingsError (400 for a missing project, 401, ...)."""
        ...


def project_from_headers(request: Request) -> str:
    headers = request.headers
    project: str | None = None
    for name in PROJECT_HEADERS:
        project = headers.get(name)
        if project is not None:
            break
    if project is None:
        raise InvalidRequest("The header X-PROJECT-ID was missing", title="Project-Id Missing")
    if project == "":
        raise InvalidRequest(
            "X-PROJECT-ID cannot be an empty string. Specify the right header X-PROJECT-ID "
            "and retry.",
            title="Empty project header not allowed",
        )
    if _CONTROL.search(project):
        raise InvalidRequest(
            "X-PROJECT-ID may not contain control characters.", title="Invalid project header"
        )
    return project


class NoAuth:
    """Development mode: the project, user and roles are whatever the headers say."""

    async def identify(self, request: Request) -> Identity:
        project = project_from_headers(request)
        roles = request.headers.get("x-roles", "")
        return Identity(
            project=project,
            user=request.headers.get("x-user-id"),
            roles=frozenset(r.strip() for r in roles.split(",") if r.strip()),
        )


def build_authenticator(settings: ApiSettings) -> Authenticator:
    if settings.auth_strategy == "noauth":
        return NoAuth()
    raise ValueError(f"unknown auth_strategy {settings.auth_strategy!r}")
