"""The web console: static files at ``/console`` that use only the public REST and WebSocket APIs.

``routes.py`` serves the page, its ES modules and a small configuration document; in keystone
mode it also exchanges a user name and password for a token (``token_exchange.py``), so the
browser never needs to reach Keystone itself.
"""

from tidings.api.console.routes import build_router

__all__ = ["build_router"]
