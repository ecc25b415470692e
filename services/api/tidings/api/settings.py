"""Settings of the REST api service (``TIDINGS_*`` environment variables)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from tidings.common.settings import CommonSettings


class ApiSettings(CommonSettings):
    host: str = "127.0.0.1"
    port: int = 8888  # Zaqar's default REST port
    admin_mode: bool = Field(False, description="expose admin-only routes (/v2/health)")
    # Only noauth exists so far; the Keystone strategy plugs into tidings.api.auth.
    auth_strategy: Literal["noauth"] = "noauth"
    readiness_timeout: float = Field(
        1.0, description="seconds /readyz waits for storage to answer health.ping"
    )
