"""Keystone password sign-in for the console: user, password and project for a scoped token.

The api already knows Keystone (``TIDINGS_KEYSTONE_AUTH_URL``), while a browser usually cannot
reach it (another network, no CORS). The exchange forwards one password authentication and
returns the token; the api keeps nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tidings.api.errors import HttpError


@dataclass(frozen=True, slots=True)
class PasswordSignIn:
    username: str
    password: str
    project: str
    user_domain: str = "Default"
    project_domain: str = "Default"

    @classmethod
    def from_json(cls, document: Any) -> PasswordSignIn:
        if not isinstance(document, dict):
            raise HttpError(400, "Invalid sign-in", "The body must be a JSON object.")
        fields: dict[str, str] = {}
        for name in ("username", "password", "project", "user_domain", "project_domain"):
            value = document.get(name)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise HttpError(400, "Invalid sign-in", f"{name} must be a string.")
            fields[name] = value
        missing = [n for n in ("username", "password", "project") if n not in fields]
        if missing:
            raise HttpError(400, "Invalid sign-in", f"Missing: {', '.join(missing)}.")
        return cls(**fields)

    def keystone_body(self) -> dict[str, Any]:
        return {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": self.username,
                            "domain": {"name": self.user_domain},
                            "password": self.password,
                        }
                    },
                },
                "scope": {
                    "project": {"name": self.project, "domain": {"name": self.project_domain}}
                },
            }
        }


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: str | None
    project_id: str | None
    roles: list[str]


async def exchange(auth_url: str, sign_in: PasswordSignIn, timeout: float) -> IssuedToken:
    """POST ``<auth_url>/auth/tokens``; Keystone's refusal becomes a 401 the page can show."""
    url = auth_url.rstrip("/") + "/auth/tokens"
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=sign_in.keystone_body())
    except httpx.HTTPError as exc:
        raise HttpError(
            503, "Keystone unavailable", f"Keystone could not be reached: {exc}"
        ) from exc
    if response.status_code in (401, 403):
        raise HttpError(401, "Unauthorized", "Keystone refused these credentials.")
    if response.status_code != 201 or "X-Subject-Token" not in response.headers:
        raise HttpError(502, "Keystone error", f"Keystone answered {response.status_code}.")
    token = response.json().get("token", {})
    return IssuedToken(
        token=response.headers["X-Subject-Token"],
        expires_at=token.get("expires_at"),
        project_id=(token.get("project") or {}).get("id"),
        roles=[r.get("name", "") for r in token.get("roles", [])],
    )
