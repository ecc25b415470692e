"""Settings of the websocket service (``TIDINGS_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from tidings.common.auth_settings import AuthSettings


class WebsocketSettings(AuthSettings):
    host: str = "127.0.0.1"
    port: int = 9000  # Zaqar's default WebSocket port
    admin_mode: bool = Field(False, description="serve check_node_health (admin role only)")
    pooling: bool = Field(
        False, description="with admin_mode: serve the pool_* and flavor_* actions"
    )
    send_buffer_frames: int = Field(
        1000,
        description="frames a socket may have waiting to be sent; a client that lets more pile "
        "up is too slow and is closed with code 4008",
    )
    resume_live_buffer: int = Field(
        10000,
        description="live messages a subscription holds while a resume replays the backlog; "
        "more closes the socket with code 4008",
    )
    close_timeout: float = Field(10.0, description="seconds a closing handshake may take")
    push_batch_window: float = Field(
        0.02,
        ge=0.0,
        le=1.0,
        description="a queue is pushed to at most once per this many seconds; events that "
        "arrive sooner are gathered and each socket gets them in one write (less CPU per "
        "frame, up to this much added latency); 0 pushes what each read from NATS brought",
    )
