"""Settings of the console (``TIDINGS_CONSOLE_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIDINGS_CONSOLE_", extra="ignore")

    enabled: bool = Field(True, description="serve the console at /console")
    websocket_url: str | None = Field(
        None,
        description="the WebSocket API as the browser reaches it (e.g. wss://host/ws); unset: "
        "port 9000 of the host that served the page",
    )
