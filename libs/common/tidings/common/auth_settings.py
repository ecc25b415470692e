"""Settings of the services that authenticate callers (api, websocket; ``TIDINGS_*``).

``auth_strategy`` is Zaqar's: ``noauth`` takes the project from request headers (development),
``keystone`` validates tokens against Keystone as the service user named here. The
``keystone_*`` names are those operators script for any OpenStack service user; the notifier
reads them too (:class:`KeystoneSettings`), to act on the trusts of ``trust+`` subscriptions.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tidings.common.settings import CommonSettings


class KeystoneSettings(CommonSettings):
    """The Keystone service user: the api and websocket validate tokens as this user, and it is
    the trustee of ``trust+`` subscriptions, which the notifier acts as to deliver them."""

    keystone_auth_url: str | None = Field(None, description="e.g. http://keystone:5000/v3")
    keystone_username: str | None = None
    keystone_password: str | None = None
    keystone_project_name: str | None = None
    keystone_user_domain_name: str = "Default"
    keystone_project_domain_name: str = "Default"
    keystone_timeout: float = Field(
        5.0, gt=0, description="seconds one request to Keystone may take before a 503"
    )

    @property
    def keystone_configured(self) -> bool:
        return all(
            (
                self.keystone_auth_url,
                self.keystone_username,
                self.keystone_password,
                self.keystone_project_name,
            )
        )


class AuthSettings(KeystoneSettings):
    auth_strategy: Literal["noauth", "keystone"] = Field(
        "noauth",
        description="noauth: project, user and roles from request headers (development); "
        "keystone: from a token validated against Keystone",
    )
    token_cache_time: float = Field(
        300.0,
        ge=0,
        description="seconds a token validation is reused (never past the token's expiry); "
        "0 validates every request",
    )
    token_cache_size: int = Field(10000, ge=1, description="validations kept at most")
    signed_url_secret_key: str | None = Field(
        None, description="HMAC key of pre-signed URLs; unset: share answers 400"
    )
    policy_file: str | None = Field(
        None,
        description="YAML or JSON file of oslo.policy rules (spec 7.2 names) overriding the "
        "defaults, for REST routes and WebSocket actions alike; unset: the defaults",
    )

    @model_validator(mode="after")
    def _keystone_needs_a_service_user(self) -> AuthSettings:
        if self.auth_strategy == "keystone":
            missing = [
                f"TIDINGS_KEYSTONE_{name.upper()}"
                for name in ("auth_url", "username", "password", "project_name")
                if not getattr(self, f"keystone_{name}")
            ]
            if missing:
                raise ValueError(f"auth_strategy keystone needs {', '.join(missing)}")
        return self
