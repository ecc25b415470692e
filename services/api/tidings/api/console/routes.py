"""``/console``: the page, its static files, its configuration and the Keystone sign-in.

Only files that exist in ``static/`` when the module is imported are served (a fixed table, so
no request path ever reaches the file system). The page's Content-Security-Policy allows
scripts and styles from this origin only: no inline code, nothing from elsewhere.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

import orjson
from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from tidings.api.console.settings import ConsoleSettings
from tidings.api.console.token_exchange import PasswordSignIn, exchange
from tidings.api.errors import HttpError, not_found
from tidings.api.settings import ApiSettings

STATIC = Path(__file__).parent / "static"
PREFIX = "/console"

# connect-src names ws:/wss: because the WebSocket API listens on its own port (another origin).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A console is small; always fetching the current files beats stale modules after an upgrade.
    "Cache-Control": "no-cache",
}
MEDIA_TYPES = {
    ".js": "text/javascript",  # ES modules must not be served as text/plain
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
}


def static_files(root: Path = STATIC) -> dict[str, Path]:
    """Relative URL path -> file, for every file under ``root``."""
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _file(path: Path) -> Response:
    media_type = MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    return FileResponse(path, media_type=media_type, headers=SECURITY_HEADERS)


def console_config(api: ApiSettings, console: ConsoleSettings) -> dict[str, object]:
    """What the page needs to know about this deployment."""
    return {
        "auth_strategy": api.auth_strategy,
        "websocket_url": console.websocket_url,
        "token_exchange": api.auth_strategy == "keystone",
        "admin_mode": api.admin_mode,
    }


def build_router(api: ApiSettings, console: ConsoleSettings | None = None) -> APIRouter:
    settings = console or ConsoleSettings()
    router = APIRouter(include_in_schema=False)
    if not settings.enabled:
        return router
    files = static_files()
    config = orjson.dumps(console_config(api, settings))

    @router.get(PREFIX)
    async def page() -> Response:
        return _file(files["index.html"])

    @router.get(PREFIX + "/config.json")
    async def configuration() -> Response:
        return Response(config, media_type="application/json", headers=SECURITY_HEADERS)

    @router.post(PREFIX + "/token")
    async def token(request: Request) -> Response:
        if api.auth_strategy != "keystone" or not api.keystone_auth_url:
            raise not_found()
        try:
            document = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise HttpError(400, "Invalid sign-in", "The body must be JSON.") from None
        issued = await exchange(
            api.keystone_auth_url, PasswordSignIn.from_json(document), api.keystone_timeout
        )
        body = {
            "token": issued.token,
            "expires_at": issued.expires_at,
            "project_id": issued.project_id,
            "roles": issued.roles,
        }
        return Response(orjson.dumps(body), media_type="application/json", headers=SECURITY_HEADERS)

    @router.get(PREFIX + "/{name:path}")
    async def asset(name: str) -> Response:
        path = files.get(name)
        if path is None or name == "index.html":
            raise not_found()
        return _file(path)

    return router
