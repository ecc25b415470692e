"""Settings of the REST api service (``TIDINGS_*`` environment variables)."""

from __future__ import annotations

from pydantic import Field

from tidings.common.auth_settings import AuthSettings

# oslo.middleware's defaults for an OpenStack API (spec 7.1).
CORS_ALLOW_HEADERS = [
    "X-Auth-Token", "X-Identity-Status", "X-Roles", "X-Service-Catalog", "X-User-Id",
    "X-Tenant-Id", "X-OpenStack-Request-ID", "X-Trace-Info", "X-Trace-HMAC", "Client-id",
    "X-Project-ID", "Content-Type", "URL-Signature", "URL-Expires", "URL-Methods", "URL-Paths",
]  # fmt: skip
CORS_EXPOSE_HEADERS = ["X-Auth-Token", "X-Subject-Token", "X-Service-Token",
                       "X-OpenStack-Request-ID", "Location"]  # fmt: skip
CORS_ALLOW_METHODS = ["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"]


class ApiSettings(AuthSettings):
    host: str = "127.0.0.1"
    port: int = 8888  # Zaqar's default REST port
    admin_mode: bool = Field(False, description="expose admin-only routes (/v2/health)")
    pooling: bool = Field(
        False, description="with admin_mode: expose /v2/pools and /v2/flavors (storage pools)"
    )
    readiness_timeout: float = Field(
        1.0, description="seconds /readyz waits for storage to answer health.ping"
    )
    cors_allowed_origins: list[str] = Field(
        [], description='JSON list of origins browsers may call from ("*" for any); empty: no CORS'
    )
    cors_allow_credentials: bool = False
    cors_allow_headers: list[str] = CORS_ALLOW_HEADERS
    cors_expose_headers: list[str] = CORS_EXPOSE_HEADERS
    cors_allow_methods: list[str] = CORS_ALLOW_METHODS
    cors_max_age: int = Field(3600, description="seconds browsers may cache a preflight answer")
    # Request rate limits per project, shared by all api replicas (see tidings.api.rate_limit).
    rate_limit_per_second: float = Field(
        0, ge=0, description="requests a second per project, over all replicas; 0: unlimited"
    )
    rate_limit_burst: int = Field(
        0, ge=0, description="requests a project may send at once; 0: one second's worth"
    )
    rate_limit_overrides: dict[str, float] = Field(
        default_factory=dict,
        description="JSON object: project id -> requests a second (0: unlimited)",
    )
    rate_limit_sync_interval: float = Field(
        0.2, gt=0, description="seconds between admission reports to the other api replicas"
    )
