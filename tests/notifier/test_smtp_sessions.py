"""SMTP sessions are reused between e-mails, bounded, expired when idle, and a session the
server dropped is replaced without losing the e-mail (a real aiosmtpd server)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.notifier.receivers import SmtpReceiver
from tidings.notifier.smtp_pool import SmtpConfig, SmtpSessions


@pytest.fixture
def server() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    try:
        yield receiver
    finally:
        receiver.stop()


def config(server: SmtpReceiver, **extra: float) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1",
        port=server.port,
        security="none",
        username=None,
        password=None,
        timeout=5.0,
        max_connections=int(extra.pop("max_connections", 4)),
        idle_timeout=extra.pop("idle_timeout", 30.0),
    )


def mail(to: str, n: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "tidings@example.com"
    message["To"] = to
    message["Subject"] = f"n{n}"
    message.set_content(str(n))
    return message


async def test_one_session_carries_a_sequence_of_mails(server: SmtpReceiver) -> None:
    sessions = SmtpSessions(config(server))
    to = f"seq-{uuid.uuid4().hex[:6]}@example.com"
    for n in range(10):
        await sessions.send(mail(to, n), "tidings@example.com", [to])
    await sessions.close()
    assert len(server.wait_for(to, 10, 5)) == 10
    assert (sessions.opened, server.sessions) == (1, 1)


async def test_concurrent_mails_open_at_most_max_connections(server: SmtpReceiver) -> None:
    sessions = SmtpSessions(config(server, max_connections=2))
    to = f"par-{uuid.uuid4().hex[:6]}@example.com"
    await asyncio.gather(
        *(sessions.send(mail(to, n), "tidings@example.com", [to]) for n in range(12))
    )
    await sessions.close()
    assert len(server.wait_for(to, 12, 5)) == 12
    assert sessions.opened == 2


async def test_idle_sessions_expire(server: SmtpReceiver) -> None:
    now = [0.0]
    sessions = SmtpSessions(config(server, idle_timeout=30.0), clock=lambda: now[0])
    to = f"idle-{uuid.uuid4().hex[:6]}@example.com"
    await sessions.send(mail(to, 1), None, [to])
    now[0] = 29.0
    await sessions.send(mail(to, 2), None, [to])  # still fresh: reused
    now[0] = 60.0
    await sessions.send(mail(to, 3), None, [to])  # idle for 31 s: a new session
    await sessions.close()
    assert len(server.wait_for(to, 3, 5)) == 3
    assert sessions.opened == 2


async def test_a_session_the_server_dropped_is_replaced_and_the_mail_sent(
    server: SmtpReceiver,
) -> None:
    sessions = SmtpSessions(config(server))
    to = f"drop-{uuid.uuid4().hex[:6]}@example.com"
    await sessions.send(mail(to, 1), None, [to])
    await asyncio.to_thread(server.restart)  # the pooled session is now dead
    await sessions.send(mail(to, 2), None, [to])
    await sessions.close()
    assert sorted(str(m["Subject"]) for m in server.wait_for(to, 2, 5)) == ["n1", "n2"]
    assert sessions.opened == 2
