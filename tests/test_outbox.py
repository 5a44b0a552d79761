import smtplib
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
