"""The authentication seam: a strategy turns a request into an :class:`Identity`.

Everything after this point (project scoping, policy checks) reads only the identity.
``auth_strategy`` picks :class:`NoAuth` (development: headers say who asks) or
:class:`KeystoneAuth` (the ``X-Auth-Token`` is validated against Keystone; project, user and
roles come from the token, never from headers). Either way a request carrying a non-empty
``URL-Signature`` is a pre-signed request instead (spec 6.2, :class:`SignedOrElse`): its
project is the signed one, it has no roles, and any failure is 404. Nothing else skips
authentication: an empty ``URL-Signature`` or an ``EXTRA-SPEC`` header does not (spec 9,
item 17).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

from tidings.api.errors import HttpError, not_found
from tidings.api.settings import ApiSettings
from tidings.common.errors import Forbidden, InvalidRequest
from tidings.common.keystone import InvalidToken, TokenValidator
from tidings.common.signed_url import SignedRequest

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


UNAUTHORIZED_DESCRIPTION = "The request you have made requires authentication."


def unauthorized(
    validator: TokenValidator, description: str = UNAUTHORIZED_DESCRIPTION
) -> HttpError:
    return HttpError(
        401, "Unauthorized", description, {"WWW-Authenticate": validator.www_authenticate}
    )


class KeystoneAuth:
    """Keystone mode: identity from the validated ``X-Auth-Token`` alone (spec 7.1)."""

    def __init__(self, validator: TokenValidator) -> None:
        self._validator = validator

    async def identify(self, request: Request) -> Identity:
        token = request.headers.get("x-auth-token")
        if not token:
            raise unauthorized(self._validator)
        try:
            info = await self._validator.validate(token)
        except InvalidToken:
            raise unauthorized(self._validator) from None
        if info.project is None:
            raise unauthorized(self._validator, "The token is not scoped to a project.")
        return Identity(project=info.project, user=info.user, roles=info.roles)


class SignedOrElse:
    """Pre-signed requests (spec 6.2) are checked here; every other request goes to the
    configured strategy."""

    def __init__(self, secret_key: str | None, otherwise: Authenticator) -> None:
        self._key = secret_key
        self._otherwise = otherwise

    async def identify(self, request: Request) -> Identity:
        signed = SignedRequest.from_http_headers(request.headers)
        if signed is None:
            return await self._otherwise.identify(request)
        now = datetime.datetime.now(datetime.UTC)
        if signed.project is None or not signed.grants(
            self._key, request.method, request.url.path, now
        ):
            raise not_found()
        if _CONTROL.search(signed.project):
            raise not_found()
        return Identity(project=signed.project, user=None, roles=frozenset())


def build_authenticator(
    settings: ApiSettings, validator: TokenValidator | None = None
) -> Authenticator:
    strategy: Authenticator
    if settings.auth_strategy == "noauth":
        strategy = NoAuth()
    elif settings.auth_strategy == "keystone":
        strategy = KeystoneAuth(validator or TokenValidator(settings))
    else:
        raise ValueError(f"unknown auth_strategy {settings.auth_strategy!r}")
    return SignedOrElse(settings.signed_url_secret_key, strategy)
