"""Path and query parameters, read from the request by the route that needs them.

FastAPI resolves the parameters a route declares on every request, re-inspecting each one's
type annotation as it goes: some 40 us of CPU per request for a route with a path name and a
few query strings, a fifth of what the api spends on a claim outside the network. Every value
here is taken as a string anyway (tidings.common.validation parses it, so that a bad one gets
Zaqar's 400 rather than FastAPI's 422), so the routes read them themselves and declare them
to the OpenAPI document only (:func:`tidings.api.openapi.operation`).
"""

from __future__ import annotations

from fastapi import Request


def query(request: Request, name: str) -> str | None:
    """The parameter's value; repeated, its last one (as FastAPI gave a ``str`` parameter)."""
    return request.query_params.get(name)


def query_list(request: Request, name: str) -> str | None:
    """Every value of the parameter joined by commas; None when absent.

    python-zaqarclient sends a list as a repeated parameter (?ids=a&ids=b), which Zaqar
    (Falcon) reads as one list, as it reads the comma form ?ids=a,b; both may be mixed.
    """
    values = request.query_params.getlist(name)
    return ",".join(values) if values else None


def path(request: Request, name: str) -> str:
    """A path parameter of the matched route (always present: the route matched)."""
    value: str = request.path_params[name]
    return value
