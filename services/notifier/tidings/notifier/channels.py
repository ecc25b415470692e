"""The ways out: one webhook POST, one e-mail (on a pooled SMTP session). Each attempt ends
in an :class:`Outcome`.

A webhook attempt succeeds on any status below 400. Connection errors, timeouts, 5xx, 408 and
429 may be retried; other 4xx answers mean the request itself is refused, so retrying cannot
help and the delivery is given up at once. (Zaqar retries only on exceptions, never on
statuses; the issue asks for 5xx retries, which is what a receiver behind a load balancer
needs.) An attempt is bounded by ``timeout`` as a whole, however the peer trickles.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import aiohttp
import aiosmtplib

from tidings.common.trusts import TRUST_PREFIX
from tidings.notifier.guard import AddressGuard, BlockedAddress
from tidings.notifier.smtp_pool import SmtpConfig, SmtpSessions

Result = Literal["ok", "error", "timeout", "refused", "rejected"]
RETRYABLE_STATUSES = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    @property
    def retryable(self) -> bool:
        return self.result in ("error", "timeout", "refused")


def webhook_url(subscriber: str) -> str:
    """``trust+https://...`` posts to ``https://...`` (with the trust's token, see
    tidings.notifier.trust_tokens)."""
    return subscriber.removeprefix(TRUST_PREFIX)


class WebhookChannel:
    """aiohttp, for its C HTTP parser: a delivery costs a fraction of what httpx needs, and
    at a thousand notifications a second that is most of the notifier's CPU."""

    def __init__(self, session: aiohttp.ClientSession, timeout: float, guard: AddressGuard) -> None:
        self._session = session
        self._timeout = timeout
        self._guard = guard

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        try:
            self._guard.check_url(url)
            async with asyncio.timeout(self._timeout):
                async with self._session.post(
                    url, data=body, headers=headers, allow_redirects=False
                ) as response:
                    status = response.status
                    text = await response.text(errors="replace") if status >= 400 else ""
                    if status < 400:
                        await response.read()  # drain, so the connection is reused
        except TimeoutError:
            return Outcome("timeout", f"no answer within {self._timeout:g} s")
        except BlockedAddress as exc:
            return Outcome("rejected", str(exc))
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, BlockedAddress):
                return Outcome("rejected", str(exc.os_error))
            return Outcome("refused", f"cannot connect: {exc}")
        except (aiohttp.ClientError, ValueError) as exc:
            return Outcome("error", f"{type(exc).__name__}: {exc}")
        if status < 400:
            return Outcome("ok")
        error = f"HTTP {status}: {text[:200]}"
        if status >= 500 or status in RETRYABLE_STATUSES:
            return Outcome("error", error)
        return Outcome("rejected", error)


class MailChannel:
    def __init__(self, config: SmtpConfig) -> None:
        self._sessions = SmtpSessions(config)

    async def send(self, sender: str, to: str, subject: str, text: str) -> Outcome:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        try:
            await self._sessions.send(message, sender or None, [to])
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return Outcome("rejected", f"recipient refused: {exc}")
        except aiosmtplib.SMTPTimeoutError as exc:
            return Outcome("timeout", f"SMTP timeout: {exc}")
        except aiosmtplib.SMTPConnectError as exc:
            return Outcome("refused", f"SMTP connect: {exc}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome("error", f"SMTP: {exc}")
        return Outcome("ok")

    async def close(self) -> None:
        await self._sessions.close()
