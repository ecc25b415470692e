"""The checks every ``/v2`` request passes before its handler, in Zaqar's order (spec 1.2).

1. Content-Type ``application/x-www-form-urlencoded`` on a request with a body -> 400;
2. ``Accept`` must allow JSON -> else 406;
3. ``Client-ID`` present and well formed -> else 400;
4. identity (the auth seam; noauth reads the project headers) -> 400/401;
   then the project's request rate (when limits are configured) -> 429;
5. on queue/topic routes: project length and name format -> 400.

Routes call :func:`admit` (or :func:`target_of`) first and get a :class:`RequestContext`;
they are not FastAPI dependencies, which FastAPI would resolve on every request at a cost
(see :mod:`tidings.api.params`). A known path with a wrong method runs the same checks before
its 405 (:func:`method_not_allowed`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from tidings.api.auth import Authenticator, Identity
from tidings.api.errors import HttpError, error_response, not_acceptable
from tidings.api.kinds import KINDS_BY_PARAM, Kind
from tidings.api.rate_limit import RateLimiter
from tidings.api.settings import ApiSettings
from tidings.common.errors import InvalidRequest
from tidings.common.rpc import StorageClient
from tidings.common.validation import is_valid_queue_name, validate_client_id

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class RequestContext:
    identity: Identity
    client_id: str
    settings: ApiSettings
    storage: StorageClient

    @property
    def project(self) -> str:
        return self.identity.project


@dataclass(frozen=True, slots=True)
class Target:
    """A queue or topic addressed by a route, as storage knows it."""

    ctx: RequestContext
    kind: Kind
    name: str

    @property
    def storage_project(self) -> str:
        return self.kind.storage_project(self.ctx.project)

    @property
    def base_path(self) -> str:
        return self.kind.base_path(self.name)


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header allows ``application/json`` (the most specific range wins)."""
    if accept is None or accept == "" or accept == "*/*" or accept == "application/json":
        return True
    best_specificity = -1
    best_quality = 0.0
    for media_range in accept.split(","):
        parts = media_range.split(";")
        media = parts[0].strip().lower()
        if media == "application/json":
            specificity = 2
        elif media == "application/*":
            specificity = 1
        elif media in ("*/*", "*"):
            specificity = 0
        else:
            continue
        quality = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if specificity > best_specificity:
            best_specificity, best_quality = specificity, quality
    return best_specificity >= 0 and best_quality > 0


def check_content_headers(request: Request) -> None:
    """Steps 5 and 6 of spec 1.2, which apply to every path including ``/``."""
    headers = request.headers
    if "content-length" in headers:
        content_type = headers.get("content-type")
        if content_type is not None and content_type.lower() == FORM_CONTENT_TYPE:
            raise InvalidRequest(
                "Endpoint does not accept `application/x-www-form-urlencoded` content; "
                "currently supported media type is `application/json`; specify proper "
                'client-side media type with the "Content-Type" header.',
                title="Invalid Content-Type",
            )
    if not accepts_json(headers.get("accept")):
        raise not_acceptable()


def check_identification(kind: Kind, name: str, project: str) -> None:
    if len(project) > kind.max_project_length or not is_valid_queue_name(name):
        raise InvalidRequest(
            f"The format of the submitted {kind.name} name or project id is not valid.",
            title=f"Invalid {kind.name} identification",
        )


async def admit(request: Request) -> RequestContext:
    """Run the checks of every ``/v2`` route and return who is asking.

    The headers it reads are documented by tidings.api.openapi.IDENTITY_HEADERS rather than
    declared as parameters, which FastAPI would resolve on every request for nothing.
    """
    check_content_headers(request)
    state = request.app.state
    settings: ApiSettings = state.settings
    client_id = validate_client_id(request.headers.get("client-id"), settings)
    authenticator: Authenticator = state.authenticator
    identity = await authenticator.identify(request)
    limiter: RateLimiter | None = state.rate_limiter
    if limiter is not None:
        limiter.admit(identity.project)
    for param, kind in KINDS_BY_PARAM.items():
        name = request.path_params.get(param)
        if name is not None:
            check_identification(kind, name, identity.project)
    return RequestContext(identity, client_id, settings, state.storage)


async def target_of(request: Request, kind: Kind) -> Target:
    """The queue or topic named by the route's path, once the request passed :func:`admit`."""
    name: str = request.path_params[kind.param]
    return Target(await admit(request), kind, name)


async def method_not_allowed(request: Request) -> Response:
    """405 with the methods of every route of this path, after the usual checks passed."""
    from tidings.api.errors import render_tidings_error
    from tidings.common.errors import TidingsError

    try:
        if request.url.path != "/":
            await admit(request)
        else:
            check_content_headers(request)
    except TidingsError as exc:
        return render_tidings_error(exc)
    except HttpError as exc:
        return error_response(exc.status, exc.title, exc.description, exc.headers, exc.link)
    allowed = sorted(_allowed_methods(request))
    return error_response(
        405,
        "405 Method Not Allowed",
        "The method is not allowed for the requested URL.",
        {"Allow": ", ".join(allowed)},
    )


def _allowed_methods(request: Request) -> set[str]:
    path = request.url.path
    methods: set[str] = set()
    for regex, route_methods in request.app.state.route_methods:
        if regex.match(path):
            methods.update(route_methods)
    return methods


def route_methods(routes: Iterable[Any]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Every route's path pattern and methods, looking inside included routers (which this
    FastAPI keeps as lazy wrappers). No router here uses a prefix, so patterns are final."""
    found: list[tuple[re.Pattern[str], frozenset[str]]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found.extend(route_methods(inner.routes))
        elif getattr(route, "methods", None) and hasattr(route, "path_regex"):
            found.append((route.path_regex, frozenset(route.methods)))
    return found
