"""E-mail subscribers (``mailto:``) through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import uuid

from tests.notifier.conftest import NotifierSuite, Tenant


def address() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}@example.com"


def test_mail_with_subject_from_the_uri_and_sender_from_options(
    notifier_suite: NotifierSuite, tenant: Tenant
) -> None:
    to = address()
    tenant.subscribe(
        "mail", f"mailto:{to}?Subject=Backup%20alert", options={"from": "queue@example.com"}
    )
    tenant.post("mail", {"event": "BackupStarted"}, {"event": "BackupDone"})
    mails = notifier_suite.smtp.wait_for(to, 2, 15)
    assert {mail["Subject"] for mail in mails} == {"Backup alert"}
    assert {mail["From"] for mail in mails} == {"queue@example.com"}
    assert {mail["To"] for mail in mails} == {to}
    bodies = sorted((json.loads(str(mail.get_payload())) for mail in mails), key=str)
    assert bodies == sorted(
        [
            {"body": {"event": event}, "ttl": 300, "queue_name": "mail",
             "Message_Type": "Notification"}
            for event in ("BackupStarted", "BackupDone")
        ],
        key=str,
    )  # fmt: skip


def test_subject_option_and_default_sender(notifier_suite: NotifierSuite, tenant: Tenant) -> None:
    to = address()
    tenant.subscribe("mail2", f"mailto:{to}", options={"subject": "From options"})
    tenant.post("mail2", 1)
    [mail] = notifier_suite.smtp.wait_for(to, 1, 15)
    assert mail["Subject"] == "From options"
    assert mail["From"] == "tidings@example.com"  # TIDINGS_SMTP_SENDER
