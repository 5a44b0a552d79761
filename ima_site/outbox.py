"""Sending email through the outbox table.

Apps register a renderer per kind of message; the renderer loads its row by id and
returns the message, or None when there is nothing to send any more (the signer
cancelled, say). Nothing here knows about signatures or alerts.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import override

from ima_site.crypto import decrypt, encrypt
from ima_site.models import OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# A worker that claimed a row and then died leaves it "sending"; after this long the
# relay offers it again (it may then be sent twice, never lost).
STALE_AFTER = timedelta(minutes=10)
RELAY_AGAIN_AFTER = timedelta(minutes=5)


@dataclass
class RenderedEmail:
    subject: str
    text: str
    html: str


Renderer = Callable[[int], RenderedEmail | None]
RENDERERS: dict[str, Renderer] = {}


def register(kind: str) -> Callable[[Renderer], Renderer]:
    def decorator(function: Renderer) -> Renderer:
        RENDERERS[kind] = function
        return function

    return decorator


def queue_email(*, kind: str, object_id: int, to: str, language: str) -> OutboxMessage:
    """Write an outbox row; call inside the transaction of the change that causes it."""
    if kind not in RENDERERS:
        raise ValueError(f"No renderer for emails of kind {kind!r}")
    return OutboxMessage.objects.create(
        kind=kind, object_id=object_id, recipient=encrypt(to), language=language
    )


def due_message_ids(limit: int = 500) -> list[int]:
    """Take queued rows whose time has come, and rows a dead worker left behind.

    Each row is handed over once: it is marked relayed, and offered again only if
    it is still queued RELAY_AGAIN_AFTER later (its task was lost with the broker).
    Slow workers therefore never find the same row queued many times over.
    """
    now = timezone.now()
    with transaction.atomic():
        OutboxMessage.objects.filter(
            status=OutboxMessage.Status.SENDING, claimed_at__lt=now - STALE_AFTER
        ).update(status=OutboxMessage.Status.QUEUED, relayed_at=None)
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now)
            .filter(
                Q(relayed_at__isnull=True) | Q(relayed_at__lt=now - RELAY_AGAIN_AFTER)
            )
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        OutboxMessage.objects.filter(pk__in=ids).update(relayed_at=now)
    return ids


def claim(message_id: int) -> bool:
    """Take the row for this worker; False if another has it or it is done."""
    return bool(
        OutboxMessage.objects.filter(
            pk=message_id,
            status=OutboxMessage.Status.QUEUED,
            next_attempt_at__lte=timezone.now(),
        ).update(
            status=OutboxMessage.Status.SENDING,
            claimed_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
    )


TRANSIENT = (
    smtplib.SMTPServerDisconnected,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    socket.timeout,
    ConnectionError,
    OSError,
)


def is_transient(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    return isinstance(error, TRANSIENT)


def send_message(message_id: int) -> str:
    """Send one outbox row if it is still queued; returns its final or next status.

    Idempotent: the conditional claim lets only one worker send a row.
    """
    if not claim(message_id):
        return "skipped"
    message = OutboxMessage.objects.get(pk=message_id)
    recipient = decrypt(message.recipient)
    with override(message.language):
        rendered = RENDERERS[message.kind](message.object_id) if recipient else None
    if rendered is None:
        OutboxMessage.objects.filter(pk=message_id).update(
            status=OutboxMessage.Status.CANCELLED, recipient=None
        )
        return OutboxMessage.Status.CANCELLED
    email = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
    )
    email.attach_alternative(rendered.html, "text/html")
    try:
        email.send()
    except Exception as error:  # noqa: BLE001 - every failure is recorded on the row
        return _failed(message, error)
    OutboxMessage.objects.filter(pk=message_id).update(
        status=OutboxMessage.Status.SENT, sent_at=timezone.now(), recipient=None
    )
    return OutboxMessage.Status.SENT


EMAIL_LIKE = re.compile(r"[^\s<>'\"(),;:]+@[^\s<>'\"(),;:]+")


def describe(error: Exception) -> str:
    """The error for the log and the row, with every address in it blanked out."""
    return EMAIL_LIKE.sub("<address>", f"{type(error).__name__}: {error}")[:2000]


def _failed(message: OutboxMessage, error: Exception) -> str:
    retry = is_transient(error) and message.attempts < MAX_ATTEMPTS
    status = OutboxMessage.Status.QUEUED if retry else OutboxMessage.Status.FAILED
    delay = timedelta(seconds=30 * 2 ** (message.attempts - 1))
    text = describe(error)
    log.warning("Email %s #%s failed (%s): %s", message.kind, message.pk, status, text)
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=status,
            last_error=text,
            next_attempt_at=timezone.now() + delay,
            relayed_at=None,
            recipient=message.recipient if retry else None,
        )
    return status
