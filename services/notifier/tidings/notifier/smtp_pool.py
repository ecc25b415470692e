"""SMTP sessions kept open between e-mails, so a burst of notifications is not a burst of
TCP (and TLS, and login) handshakes with the mail server.

At most ``max_connections`` sessions are open at once; a sender waits for one beyond that.
A session idle for ``idle_timeout`` seconds is closed on the next use (mail servers drop idle
clients after a while anyway, RFC 5321 suggests 5 minutes). A pooled session the server has
dropped in the meantime is noticed at its first command: the message is then sent once more
on a fresh session (the dead one took no message: at worst, when the answer to DATA was
lost, a mail arrives twice, as at-least-once delivery allows).
Any other failure closes the session, so a half-finished SMTP transaction is never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiosmtplib


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    security: Literal["none", "starttls", "tls"]
    username: str | None
    password: str | None
    timeout: float
    max_connections: int = 4
    idle_timeout: float = 30.0


@dataclass(slots=True)
class _Idle:
    client: aiosmtplib.SMTP
    since: float


class SmtpSessions:
    def __init__(self, config: SmtpConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._slots = asyncio.Semaphore(config.max_connections)
        self._idle: list[_Idle] = []  # most recently used last
        self.opened = 0  # sessions connected so far, for tests and logs

    async def send(
        self, message: EmailMessage, sender: str | None, recipients: Sequence[str]
    ) -> None:
        async with self._slots:
            client = self._take_idle()
            if client is not None:
                try:
                    await client.send_message(message, sender=sender, recipients=recipients)
                except aiosmtplib.SMTPServerDisconnected:
                    await self._discard(client)  # dropped while idle: retry on a new session
                except BaseException:
                    await self._discard(client)
                    raise
                else:
                    self._keep(client)
                    return
            client = await self._connect()
            try:
                await client.send_message(message, sender=sender, recipients=recipients)
            except BaseException:
                await self._discard(client)
                raise
            self._keep(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for entry in idle:
            await self._discard(entry.client)

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        now = self._clock()
        while self._idle:
            entry = self._idle.pop()
            if now - entry.since < self._config.idle_timeout and entry.client.is_connected:
                return entry.client
            # Too old to trust, or already closed: close it without waiting for the server.
            entry.client.close()
        return None

    def _keep(self, client: aiosmtplib.SMTP) -> None:
        self._idle.append(_Idle(client, self._clock()))

    async def _connect(self) -> aiosmtplib.SMTP:
        config = self._config
        client = aiosmtplib.SMTP(
            hostname=config.host,
            port=config.port,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            username=config.username,
            password=config.password,
            timeout=config.timeout,
            tls_context=ssl.create_default_context() if config.security != "none" else None,
        )
        await client.connect()
        self.opened += 1
        return client

    @staticmethod
    async def _discard(client: aiosmtplib.SMTP) -> None:
        """Say QUIT if the session still answers; close it in any case."""
        with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
            if client.is_connected:
                await client.quit(timeout=1.0)
        client.close()
