"""The one place where errors become HTTP: status per error kind, and the handlers.

Domain errors (:class:`tidings.common.errors.TidingsError`) map to a status by their kind.
:class:`HttpError` covers what only HTTP knows (404 unknown path, 405, 406, 415); it is raised
by the transport itself, never by shared code. Every error body is Zaqar's
``{"title", "description"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidings.common.errors import ErrorKind, TidingsError

log = logging.getLogger(__name__)

STATUS_BY_KIND: dict[ErrorKind, int] = {
    ErrorKind.INVALID_REQUEST: 400,
    ErrorKind.INVALID_BODY: 400,
    ErrorKind.INVALID_PARAMETER: 400,
    ErrorKind.BAD_CLAIM: 400,
    ErrorKind.CLAIMED: 403,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.QUOTA_EXCEEDED: 429,
    ErrorKind.RATE_LIMITED: 429,
    ErrorKind.UNAVAILABLE: 503,
}

NOT_ACCEPTABLE_DESCRIPTION = (
    "Endpoint only serves `application/json`; specify client-side media type support with "
    'the "Accept" header.'
)


class HttpError(Exception):
    """A protocol-level refusal with Falcon's default titles (e.g. ``405 Method Not Allowed``)."""

    def __init__(
        self,
        status: int,
        title: str,
        description: str | None = None,
        headers: Mapping[str, str] | None = None,
        link: dict[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.description = description
        self.headers = dict(headers or {})
        self.link = link


def not_found() -> HttpError:
    return HttpError(404, "404 Not Found", "The requested resource could not be found.")


def not_acceptable() -> HttpError:
    return HttpError(
        406,
        "406 Not Acceptable",
        NOT_ACCEPTABLE_DESCRIPTION,
        link={
            "href": "https://docs.openstack.org/zaqar/latest/",
            "text": "API v2 Documentation",
            "rel": "help",
        },
    )


def error_response(
    status: int,
    title: str,
    description: str | None,
    headers: Mapping[str, str] | None = None,
    link: dict[str, str] | None = None,
) -> Response:
    body: dict[str, object] = {"title": title}
    if description is not None:
        body["description"] = description
    if link is not None:
        body["link"] = link
    response = Response(orjson.dumps(body), status_code=status, media_type="application/json")
    response.headers["Vary"] = "Accept"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def render_tidings_error(exc: TidingsError) -> Response:
    status = STATUS_BY_KIND.get(exc.kind, 400)
    headers = None
    if status == 429:  # quotas and rate limits say when a retry may succeed (RFC 9110 10.2.3)
        headers = {"Retry-After": str(max(1, exc.retry_after or 1))}
    return error_response(status, exc.title, exc.description, headers)


def render_http_error(exc: HttpError) -> Response:
    return error_response(exc.status, exc.title, exc.description, exc.headers, exc.link)


def install_error_handlers(app: FastAPI) -> None:
    async def on_tidings_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, TidingsError)
        return render_tidings_error(exc)

    async def on_http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HttpError)
        return render_http_error(exc)

    async def on_request_validation(_: Request, exc: Exception) -> Response:
        # Routes declare every input as an optional string, so this means a route is wrong;
        # still a 400 (never FastAPI's 422), because the input is what the client sent.
        log.warning("request validation failed: %s", exc)
        return error_response(400, "Invalid parameter", "The request could not be understood.")

    async def on_starlette_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            # A known path with another method: Zaqar answers 405 only after the header checks
            # of spec 1.2 passed, so run them first (imported here: pipeline imports us).
            from tidings.api.pipeline import method_not_allowed

            return await method_not_allowed(request)
        if exc.status_code == 404:
            return render_http_error(not_found())
        return error_response(exc.status_code, str(exc.detail), None, exc.headers)

    async def on_unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "Internal server error", str(exc) or type(exc).__name__)

    app.add_exception_handler(TidingsError, on_tidings_error)
    app.add_exception_handler(HttpError, on_http_error)
    app.add_exception_handler(RequestValidationError, on_request_validation)
    app.add_exception_handler(StarletteHTTPException, on_starlette_http)
    app.add_exception_handler(Exception, on_unexpected)
