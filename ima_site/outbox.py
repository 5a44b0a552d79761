"""Sending email through the outbox table.

Apps register a renderer per kind of message; the renderer loads its row by id and
returns the message, or None when there is nothing to send any more (the signer
cancelled, say). Nothing here knows about signatures or alerts.
"""

from __future__ import annotations

import errno
import logging
import re
import smtplib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

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


def stale_after() -> timedelta:
    """A worker that claimed a row and then died leaves it "sending"; after this long
    the relay offers it again (it may then be sent twice, never lost)."""
    return timedelta(seconds=settings.OUTBOX_STALE_SECONDS)


def relay_again_after() -> timedelta:
    """A row handed over but still queued this much later lost its task: offer again."""
    return timedelta(seconds=settings.OUTBOX_RELAY_AGAIN_SECONDS)


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


def queue_email(
    *,
    kind: str,
    object_id: int,
    to: str,
    language: str,
    send_at: datetime | None = None,
    send: bool = True,
) -> OutboxMessage:
    """Write an outbox row; call inside the transaction of the change that causes it.

    send_at holds the row until then. send=False writes the row already cancelled
    and without its recipient: the same writes as a real email, for callers whose
    answer must not reveal by its timing whether they sent one.
    """
    if kind not in RENDERERS:
        raise ValueError(f"No renderer for emails of kind {kind!r}")
    recipient = encrypt(to)
    message = OutboxMessage.objects.create(
        kind=kind,
        object_id=object_id,
        recipient=recipient if send else None,
        language=language,
        status=OutboxMessage.Status.QUEUED if send else OutboxMessage.Status.CANCELLED,
        # One INSERT whether or not the email waits: a capped address (one that
        # never confirmed) must cost the same queries as a known one.
        next_attempt_at=send_at or timezone.now(),
    )
    return message


def due_message_ids(limit: int = 500) -> list[int]:
    """Take queued rows whose time has come, and rows a dead worker left behind.

    Each row is handed over once: it is marked relayed, and offered again only if
    it is still queued relay_again_after() later (its task was lost with the broker).
    Slow workers therefore never find the same row queued many times over.
    """
    now = timezone.now()
    with transaction.atomic():
        stale = OutboxMessage.objects.filter(
            status=OutboxMessage.Status.SENDING, claimed_at__lt=now - stale_after()
        )
        # A row whose sending kills its worker every time (a message that crashes
        # the renderer or the mail library, say) would otherwise come back forever:
        # each claim counted as an attempt, so it ends like any other failure.
        stale.filter(attempts__gte=MAX_ATTEMPTS).update(
            status=OutboxMessage.Status.FAILED,
            last_error=f"The worker stopped while sending, {MAX_ATTEMPTS} times.",
            recipient=None,
        )
        stale.update(status=OutboxMessage.Status.QUEUED, relayed_at=None)
        ids = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now)
            .filter(
                Q(relayed_at__isnull=True) | Q(relayed_at__lt=now - relay_again_after())
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


# Errors that say "try again later". Not OSError as a whole: it also covers a
# missing mail folder, a refused permission or a bad certificate, which no retry
# mends. (SMTP answers, connect and HELO errors included, go by their code below.)
TRANSIENT = (
    smtplib.SMTPServerDisconnected,  # the server hung up mid-conversation
    ConnectionError,  # refused, reset, aborted, broken pipe
    TimeoutError,  # socket.timeout is this too
)
# Network trouble that Python reports as a plain OSError.
TRANSIENT_ERRNOS = {
    errno.ENETDOWN,
    errno.ENETUNREACH,
    errno.EHOSTDOWN,
    errno.EHOSTUNREACH,
    errno.ETIMEDOUT,
}


def is_transient(error: Exception) -> bool:
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, socket.gaierror):
        # The name server did not answer this time; an unknown name stays unknown.
        return error.errno == socket.EAI_AGAIN
    if isinstance(error, TRANSIENT):
        return True
    return type(error) is OSError and error.errno in TRANSIENT_ERRNOS


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
    if rendered is None or recipient is None:
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


# Rows that are done stay this long: a week for those never sent (bots, holds,
# repeats past their cap, all written cancelled), three months for sent and failed
# ones, which answer "did my email go?". Their recipient is already erased.
KEEP_CANCELLED = timedelta(days=7)
KEEP_FINISHED = timedelta(days=90)


def prune(*, now: datetime | None = None) -> int:
    """Delete finished rows past their keeping time; queued and sending rows stay.

    Every signing writes a row, a bot's too: without this the table grows forever.
    Idempotent: a second run finds nothing more to delete.
    """
    now = now or timezone.now()
    status = OutboxMessage.Status
    deleted, _ = OutboxMessage.objects.filter(
        Q(status=status.CANCELLED, created_at__lt=now - KEEP_CANCELLED)
        | Q(status__in=[status.SENT, status.FAILED], created_at__lt=now - KEEP_FINISHED)
    ).delete()
    return deleted
