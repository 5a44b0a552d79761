import errno
import smtplib
import socket
import ssl
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from ima_site import outbox
from ima_site.models import OutboxMessage
from signatories import services
from signatories.models import Signature
from tests.factories import make_statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(db):
    statement = make_statement(slug="o", accepts_signatures=True)
    services.sign_statement(
        statement=statement,
        data=services.SignerData(name="Ana", email="ana@example.org", country="PH"),
        client_ip="192.0.2.1",
    )
    return Signature.objects.get()


def test_a_message_is_sent_once_however_often_it_is_handed_over(pending):
    [message_id] = outbox.due_message_ids()
    assert outbox.send_message(message_id) == "sent"
    assert outbox.send_message(message_id) == "skipped"
    assert len(mail.outbox) == 1
    message = OutboxMessage.objects.get()
    assert message.recipient is None and message.sent_at is not None


def test_a_transient_failure_is_retried_later_with_backoff(pending, monkeypatch):
    def down(self, *args, **kwargs):
        raise smtplib.SMTPServerDisconnected("try later")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", down)
    [message_id] = outbox.due_message_ids()
    assert outbox.send_message(message_id) == "queued"
    message = OutboxMessage.objects.get()
    assert message.attempts == 1 and "try later" in message.last_error
    assert message.next_attempt_at > timezone.now()
    assert outbox.due_message_ids() == []  # not before its time
    monkeypatch.undo()
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert outbox.send_message(message_id) == "sent"


def test_a_permanent_failure_is_final_and_forgets_the_address(pending, monkeypatch):
    def refused(self, *args, **kwargs):
        raise smtplib.SMTPRecipientsRefused({"ana@example.org": (550, b"no such user")})

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", refused)
    [message_id] = outbox.due_message_ids()
    assert outbox.send_message(message_id) == "failed"
    message = OutboxMessage.objects.get()
    assert message.status == "failed" and message.recipient is None
    assert "ana@example.org" not in message.last_error
    assert "<address>" in message.last_error


def test_retries_stop_after_the_last_attempt(pending, monkeypatch):
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, *a, **k: (_ for _ in ()).throw(ConnectionRefusedError()),
    )
    [message_id] = outbox.due_message_ids()
    for _ in range(outbox.MAX_ATTEMPTS):
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        status = outbox.send_message(message_id)
    assert status == "failed"


def test_a_row_left_sending_by_a_dead_worker_is_offered_again(pending):
    [message_id] = outbox.due_message_ids()
    assert outbox.claim(message_id)
    assert outbox.due_message_ids() == []
    OutboxMessage.objects.update(claimed_at=timezone.now() - timedelta(minutes=11))
    assert outbox.due_message_ids() == [message_id]


def test_a_cancelled_signature_sends_nothing(pending):
    services.cancel_signature(signature=pending)
    assert outbox.due_message_ids() == []
    assert OutboxMessage.objects.get().status == "cancelled"


def test_one_reminder_after_two_days(pending):
    outbox.send_message(outbox.due_message_ids()[0])
    assert services.send_reminders() == 0
    Signature.objects.update(created_at=timezone.now() - timedelta(days=2, minutes=1))
    assert services.send_reminders() == 1
    assert services.send_reminders() == 0
    outbox.send_message(outbox.due_message_ids()[0])
    assert "Reminder" in mail.outbox[-1].subject
    assert "/s/confirm/" in mail.outbox[-1].body


def test_the_relay_hands_a_row_over_once_until_it_looks_lost(pending):
    [message_id] = outbox.due_message_ids()
    # Workers are slow: the next relay rounds do not queue the same row again…
    assert outbox.due_message_ids() == []
    assert outbox.due_message_ids() == []
    # …unless its task seems lost with the broker, minutes later.
    OutboxMessage.objects.update(relayed_at=timezone.now() - timedelta(minutes=6))
    assert outbox.due_message_ids() == [message_id]
    assert outbox.send_message(message_id) == "sent"


# A worker that claims its row and then dies in the middle of sending, every time
# (the message crashes it), as a separate process really exiting.
DYING_WORKER = """
import os, sys
import django
django.setup()
from django.core.mail import EmailMultiAlternatives
from ima_site import outbox
EmailMultiAlternatives.send = lambda *args, **kwargs: os._exit(70)
outbox.send_message(int(sys.argv[1]))
"""


@pytest.mark.django_db(transaction=True)
def test_a_row_that_kills_its_worker_every_time_ends_failed(settings):
    import os
    import subprocess
    import sys

    from django.db import connection

    statement = make_statement(slug="poison", accepts_signatures=True)
    services.sign_statement(
        statement=statement,
        data=services.SignerData(name="Ana", email="ana@example.org", country="PH"),
        client_ip="192.0.2.1",
    )
    database = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}"
            f"@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
    }
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        [message_id] = outbox.due_message_ids()
        worker = subprocess.run(
            [sys.executable, "-c", DYING_WORKER, str(message_id)],
            cwd=settings.BASE_DIR, env=env, capture_output=True, timeout=60,
        )  # fmt: skip
        assert worker.returncode == 70, worker.stderr
        message = OutboxMessage.objects.get()
        assert (message.status, message.attempts) == ("sending", attempt)
        # Nobody marks the row: after a while it looks left behind.
        OutboxMessage.objects.update(
            claimed_at=timezone.now() - outbox.stale_after() - timedelta(seconds=1)
        )
    assert outbox.due_message_ids() == []
    message = OutboxMessage.objects.get()
    assert message.status == "failed" and message.recipient is None
    assert "worker stopped" in message.last_error
    assert outbox.due_message_ids() == []


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (smtplib.SMTPServerDisconnected("gone"), True),
        (ConnectionRefusedError(), True),
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            True,
        ),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), True),
        (OSError(errno.EHOSTUNREACH, "No route to host"), True),
        (smtplib.SMTPResponseException(451, b"try later"), True),
        (smtplib.SMTPConnectError(421, b"busy"), True),
        (smtplib.SMTPRecipientsRefused({"a@b": (450, b"greylisted")}), True),
        # Not transient: no retry mends them.
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), False),
        (FileNotFoundError(errno.ENOENT, "var/mail"), False),
        (PermissionError(errno.EACCES, "var/mail"), False),
        (IsADirectoryError(errno.EISDIR, "x"), False),
        (OSError(errno.ENOSPC, "No space left on device"), False),
        (ssl.SSLCertVerificationError("certificate verify failed"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPConnectError(554, b"no service"), False),
        (smtplib.SMTPRecipientsRefused({"a@b": (550, b"no such user")}), False),
        (UnicodeEncodeError("ascii", "é", 0, 1, "x"), False),
        (ValueError("bad header"), False),
    ],
)
def test_only_what_is_really_transient_is_retried(error, transient):
    assert outbox.is_transient(error) is transient


def test_a_local_error_fails_at_once_without_retries(pending, monkeypatch):
    def no_folder(self, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied: 'var/mail'")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", no_folder)
    [message_id] = outbox.due_message_ids()
    assert outbox.send_message(message_id) == "failed"
    message = OutboxMessage.objects.get()
    assert message.attempts == 1 and message.recipient is None


def test_the_delay_between_attempts_grows(pending, monkeypatch):
    monkeypatch.setattr(
        "django.core.mail.EmailMultiAlternatives.send",
        lambda self, *a, **k: (_ for _ in ()).throw(ConnectionResetError()),
    )
    [message_id] = outbox.due_message_ids()
    delays = []
    for _ in range(outbox.MAX_ATTEMPTS - 1):
        before = timezone.now()
        assert outbox.send_message(message_id) == "queued"
        after = timezone.now()
        waits_until = OutboxMessage.objects.get().next_attempt_at
        # Bounded by the clock on both sides of the failure.
        delays.append((waits_until - after, waits_until - before))
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
    for (_, longest), (shortest, _) in zip(delays, delays[1:], strict=False):
        assert shortest > longest * 1.5
    assert delays[0][1] >= timedelta(seconds=25)
    assert outbox.send_message(message_id) == "failed"


@pytest.mark.django_db
def test_finished_rows_are_pruned_after_their_keeping_time_and_queued_ones_stay():
    now = timezone.now()
    status = OutboxMessage.Status
    ages = {
        (status.CANCELLED, 8): True,
        (status.CANCELLED, 6): False,
        (status.SENT, 91): True,
        (status.SENT, 89): False,
        (status.FAILED, 91): True,
        (status.QUEUED, 400): False,
        (status.SENDING, 400): False,
    }
    rows = {}
    for (state, days), _gone in ages.items():
        message = outbox.queue_email(
            kind="signature.confirm", object_id=1, to="a@example.org", language="en"
        )
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=state, created_at=now - timedelta(days=days)
        )
        rows[(state, days)] = message.pk
    assert outbox.prune(now=now) == sum(ages.values())
    left = set(OutboxMessage.objects.values_list("pk", flat=True))
    for key, gone in ages.items():
        assert (rows[key] not in left) == gone, key
    assert outbox.prune(now=now) == 0
