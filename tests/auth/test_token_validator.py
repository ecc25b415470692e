"""The token validator against the real Keystone: outcomes, the bounded cache, sharing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.fixtures.keystone import KeystoneServer
from tests.fixtures.ports import free_port
from tidings.common.auth_settings import AuthSettings
from tidings.common.errors import ServiceUnavailable
from tidings.common.keystone import InvalidToken, TokenValidator, _client_for


class Counting:
    """The real keystoneclient, counting the validations it sends to Keystone."""

    def __init__(self, settings: AuthSettings) -> None:
        self.real = _client_for(settings)
        self.calls = 0
        self.tokens = self

    def validate(self, token: str) -> Any:
        self.calls += 1
        return self.real.tokens.validate(token)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings_for(keystone: KeystoneServer, **overrides: Any) -> AuthSettings:
    env = keystone.service_settings()
    values: dict[str, Any] = {
        key.removeprefix("TIDINGS_").lower(): value for key, value in env.items()
    }
    values.update(overrides)
    return AuthSettings(**values)


def validator_for(
    keystone: KeystoneServer, **overrides: Any
) -> tuple[TokenValidator, list[Counting], Clock]:
    made: list[Counting] = []
    clock = Clock()

    def factory(settings: AuthSettings) -> Counting:
        made.append(Counting(settings))
        return made[-1]

    return TokenValidator(settings_for(keystone, **overrides), factory, clock), made, clock


async def test_a_token_is_known_with_its_project_user_and_roles(
    keystone: KeystoneServer, tokens: dict[str, str]
) -> None:
    validator, _, _ = validator_for(keystone)
    info = await validator.validate(tokens["alice"])
    assert info.project == keystone.project_ids["alice"]
    assert info.user == keystone.user_ids["alice"]
    assert "member" in info.roles and "admin" not in info.roles
    assert not info.expired()
    with pytest.raises(InvalidToken):
        await validator.validate(tokens["alice"][:-4])
    with pytest.raises(InvalidToken):
        await validator.validate("tö-ken\n")


async def test_validations_are_cached_for_the_cache_time_only(
    keystone: KeystoneServer, tokens: dict[str, str]
) -> None:
    validator, made, clock = validator_for(keystone, token_cache_time=60)
    for _ in range(5):
        await validator.validate(tokens["alice"])
    assert made[0].calls == 1
    clock.now += 61
    await validator.validate(tokens["alice"])
    assert made[0].calls == 2
    # Invalid tokens are never cached as valid, and asked about each time.
    for _ in range(2):
        with pytest.raises(InvalidToken):
            await validator.validate("not-a-token")
    assert made[0].calls == 4


async def test_the_cache_is_bounded(keystone: KeystoneServer, tokens: dict[str, str]) -> None:
    validator, made, _ = validator_for(keystone, token_cache_size=2)
    for user in ("alice", "bob", "admin"):
        await validator.validate(tokens[user])
    assert made[0].calls == 3
    await validator.validate(tokens["admin"])
    await validator.validate(tokens["bob"])
    assert made[0].calls == 3  # the two most recent are kept
    await validator.validate(tokens["alice"])  # the oldest was dropped
    assert made[0].calls == 4


async def test_cache_time_zero_validates_every_time(
    keystone: KeystoneServer, tokens: dict[str, str]
) -> None:
    validator, made, _ = validator_for(keystone, token_cache_time=0)
    for _ in range(3):
        await validator.validate(tokens["bob"])
    assert made[0].calls == 3


async def test_concurrent_validations_of_one_token_share_one_request(
    keystone: KeystoneServer, tokens: dict[str, str]
) -> None:
    validator, made, _ = validator_for(keystone)
    infos = await asyncio.gather(*(validator.validate(tokens["bob"]) for _ in range(10)))
    assert len({info.project for info in infos}) == 1
    assert made[0].calls == 1


async def test_keystone_unreachable_or_refusing_the_service_user_is_unavailable(
    keystone: KeystoneServer, tokens: dict[str, str]
) -> None:
    dead = TokenValidator(
        settings_for(keystone, keystone_auth_url=f"http://127.0.0.1:{free_port()}/v3")
    )
    with pytest.raises(ServiceUnavailable):
        await dead.validate(tokens["alice"])
    wrong_password = TokenValidator(settings_for(keystone, keystone_password="wrong"))
    with pytest.raises(ServiceUnavailable):
        await wrong_password.validate(tokens["alice"])


def test_keystone_mode_needs_a_service_user() -> None:
    with pytest.raises(ValueError, match="TIDINGS_KEYSTONE_AUTH_URL"):
        AuthSettings(auth_strategy="keystone", keystone_username="u", keystone_password="p",
                     keystone_project_name="s")  # fmt: skip
