"""Delivering a sign-on letter, the workers' side: compile it once, then send each
target its one email, and test copies to organizers.

A delivery row (one per target, ever): queued -> sending (claimed by one worker
with a conditional UPDATE, attempts + 1) -> sent | failed, or back to queued after
a temporary failure (with a growing delay) or after its worker died
(LETTER_STALE_SECONDS). A row whose sending kills its worker every time ends
failed after MAX_ATTEMPTS claims. Each row is marked sent right after the mail
server's answer: a worker killed between the two sends that one email again,
never more.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import get_connection
from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.models import AuditEntry, record_audit_entry
from ima_site.outbox import describe, is_transient

from .letter_mail import (
    LetterError,
    build_email,
    close_quietly,
    message_id,
    send_recording_answer,
    site_domain,
)
from .models import (
    Letter,
    LetterCompilation,
    LetterDelivery,
    LetterTarget,
)

log = logging.getLogger(__name__)

Status = LetterDelivery.Status
# Rows that may still be sent: what "in progress" means.
OPEN = (Status.QUEUED, Status.SENDING)
# Claims per row (each claim counts, so a row that kills its worker ends failed),
# and the first delay before a retry after a temporary failure, doubling each time.
MAX_ATTEMPTS = 5
RETRY_SECONDS = 60
# The first key of the letters' advisory locks ("LETT"), the letter's id the second.
SENDER_LOCK_CLASS = 0x4C455454


def send_test_letter(*, letter_id: int, to: str) -> LetterCompilation:
    """Compile a test copy of the letter as it is now and send it to `to` alone,
    marked [TEST], as the target in the original language would get it."""
    from .letter_compile import compile_letter  # WeasyPrint loads in workers only

    letter = Letter.objects.select_related("statement").get(pk=letter_id)
    compilation = compile_letter(letter=letter, test=True)
    target = LetterTarget(letter=letter, name=to, email=to)
    message = build_email(letter=letter, target=target, compilation=compilation)
    message.subject = _("[TEST] %(subject)s") % {"subject": message.subject}
    message.extra_headers["Message-ID"] = make_msgid(
        f"letter-{letter.pk}-test", domain=site_domain()
    )
    backend = get_connection()
    try:
        send_recording_answer(backend, message)
    finally:
        close_quietly(backend)
    return compilation


def deliver_now(*, letter_id: int, progress: Callable[[], None] | None = None) -> int:
    """Compile the letter (once: a retry gets the stored file), write a delivery
    row for every target without one, send the due rows; the number sent here.

    Idempotent: rows are one per target and claimed before sending, so any
    number of these (a task delivered twice, beat, the command) share the work
    and never send a row twice.
    """
    from .letter_compile import compile_letter  # WeasyPrint loads in workers only

    letter = Letter.objects.select_related("statement").filter(pk=letter_id).first()
    if letter is None or letter.status == Letter.Status.GATHERING:
        return 0
    compilation = compile_letter(letter=letter, test=False)
    targets = LetterTarget.objects.filter(letter=letter, delivery__isnull=True)
    LetterDelivery.objects.bulk_create(
        [
            LetterDelivery(
                letter=letter,
                target=target,
                compilation=compilation,
                message_id=message_id(letter.pk, target.pk),
            )
            for target in targets
        ],
        ignore_conflicts=True,
    )
    Letter.objects.filter(pk=letter.pk, status=Letter.Status.COMPILING).update(
        status=Letter.Status.DELIVERING, updated_at=timezone.now()
    )
    sent = send_due(letter_id=letter.pk, progress=progress)
    finish_if_done(letter_id=letter.pk)
    return sent


def _due(queryset, now):
    return queryset.filter(status=Status.QUEUED).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def claim_next(*, letter_id: int) -> LetterDelivery | None:
    """Take one due row of a delivering letter for this worker, or None.

    SKIP LOCKED lets several workers claim side by side; the UPDATE moves the
    row only if it is still queued, and counts the attempt.
    """
    now = timezone.now()
    with transaction.atomic():
        pk = (
            _due(
                LetterDelivery.objects.filter(
                    letter_id=letter_id, letter__status=Letter.Status.DELIVERING
                ),
                now,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
        if pk is None:
            return None
        claimed = LetterDelivery.objects.filter(pk=pk, status=Status.QUEUED).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    if not claimed:
        return None
    return LetterDelivery.objects.select_related(
        "letter__statement", "target", "compilation"
    ).get(pk=pk)


def send_due(*, letter_id: int, progress: Callable[[], None] | None = None) -> int:
    """Claim and send the letter's due rows one by one over one connection.

    One sender per letter at a time (a lock the database drops with a dead
    worker's connection): the claims alone would keep two senders from sending
    the same row, but each sender killed mid-email may send that email twice,
    and a few hundred targets need no second sender.
    """
    with _sender_lock(letter_id) as held:
        if not held:
            return 0
        backend = get_connection()
        sent = 0
        try:
            while (delivery := claim_next(letter_id=letter_id)) is not None:
                if send_delivery(delivery, backend):
                    sent += 1
                if progress is not None:
                    progress()
        finally:
            close_quietly(backend)
    return sent


@contextlib.contextmanager
def _sender_lock(letter_id: int) -> Iterator[bool]:
    """A session-level advisory lock on the letter; yields whether it was taken."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [SENDER_LOCK_CLASS, letter_id]
        )
        held = bool(cursor.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            # A connection lost meanwhile took the lock with it.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", [SENDER_LOCK_CLASS, letter_id]
                )


def send_delivery(delivery: LetterDelivery, backend) -> bool:
    """Send one claimed row and record the outcome; True if it went."""
    try:
        message = build_email(
            letter=delivery.letter,
            target=delivery.target,
            compilation=delivery.compilation,
            message_id=delivery.message_id,
        )
    except Exception as error:  # noqa: BLE001 - recorded on the row
        log.exception("Letter delivery %s could not be made", delivery.pk)
        _failed(delivery, error, permanent=True)
        return False
    try:
        answer = send_recording_answer(backend, message)
    except Exception as error:  # noqa: BLE001 - recorded on the row
        _failed(delivery, error)
        if not isinstance(
            error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
        ):
            # The conversation broke off: the next row opens a new connection.
            close_quietly(backend)
        return False
    _mark(
        delivery,
        status=Status.SENT,
        sent_at=timezone.now(),
        smtp_response=answer[:500],
        last_error="",
    )
    return True


def _mark(delivery: LetterDelivery, **fields) -> None:
    # Only a row this worker still holds: a row taken back as stale and sent by
    # another worker meanwhile keeps that worker's outcome.
    LetterDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        **fields
    )


def _failed(
    delivery: LetterDelivery, error: Exception, *, permanent: bool = False
) -> None:
    record_failure(
        delivery, error, permanent=permanent, mark=_mark, what="Letter delivery"
    )


def record_failure(row, error: Exception, *, permanent: bool, mark, what: str) -> None:
    """After a failed attempt on a claimed row (a ClaimedSend): queued again with a
    doubling delay if the error is transient and attempts remain, else failed.
    `mark(row, **fields)` writes only if the row is still this worker's."""
    retry = not permanent and is_transient(error) and row.attempts < MAX_ATTEMPTS
    text = describe(error)
    log.warning(
        "%s %s failed (%s): %s", what, row.pk, "retry" if retry else "final", text
    )
    if retry:
        delay = timedelta(seconds=RETRY_SECONDS * 2 ** max(row.attempts - 1, 0))
        mark(
            row,
            status=Status.QUEUED,
            next_attempt_at=timezone.now() + delay,
            last_error=text,
        )
    else:
        mark(row, status=Status.FAILED, last_error=text)


def finish_if_done(*, letter_id: int) -> bool:
    """Mark a delivering letter delivered once every target has a final row;
    delivered_at is when the last email went."""
    open_rows = LetterDelivery.objects.filter(letter_id=OuterRef("pk"), status__in=OPEN)
    without_row = LetterTarget.objects.filter(
        letter_id=OuterRef("pk"), delivery__isnull=True
    )
    last_sent = (
        LetterDelivery.objects.filter(letter_id=OuterRef("pk"), status=Status.SENT)
        .order_by()
        .values("letter_id")
        .annotate(last=Max("sent_at"))
        .values("last")
    )
    now = timezone.now()
    with transaction.atomic():
        done = (
            Letter.objects.filter(pk=letter_id, status=Letter.Status.DELIVERING)
            .exclude(Exists(open_rows))
            .exclude(Exists(without_row))
            .update(
                status=Letter.Status.DELIVERED,
                delivered_at=Coalesce(Subquery(last_sent), now),
                updated_at=now,
            )
        )
        if done:
            letter = Letter.objects.select_related("statement").get(pk=letter_id)
            rows = LetterDelivery.objects.filter(letter_id=letter_id)
            record_audit_entry(
                actor=None,
                action="letter.delivered",
                obj=letter,
                details={
                    "count": rows.filter(status=Status.SENT).count(),
                    "failed": rows.filter(status=Status.FAILED).count(),
                },
            )
    return bool(done)


def release_due_letters() -> list[int]:
    """Beat's part: start letters whose deliver_at has passed, take back rows
    dead workers left, and return the ids of letters that need a worker now."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.LETTER_STALE_SECONDS)
    stale = LetterDelivery.objects.filter(
        status=Status.SENDING, claimed_at__lt=stale_before
    )
    stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Status.FAILED,
        last_error=f"The worker stopped while sending, {MAX_ATTEMPTS} times.",
    )
    stale.update(status=Status.QUEUED, next_attempt_at=now)
    for letter in Letter.objects.filter(
        status=Letter.Status.GATHERING, deliver_at__lte=now
    ).select_related("statement"):
        _start_at_deadline(letter)
    # A letter left compiling (its worker died, its task was lost with Redis) is
    # offered again, at most once per LETTER_STALE_SECONDS. One being compiled
    # is not: compile_letter holds its row's lock, which SKIP LOCKED passes by.
    with transaction.atomic():
        compiling = list(
            Letter.objects.select_for_update(skip_locked=True)
            .filter(status=Letter.Status.COMPILING, updated_at__lt=stale_before)
            .values_list("pk", flat=True)
        )
        Letter.objects.filter(pk__in=compiling).update(updated_at=now)
    # A letter with rows due and no worker on it (no row being sent): rows due
    # again (retries, rows taken back), and fresh rows whose task did not get to
    # them (it died, or was lost with Redis). A letter a worker is on is left to
    # it: its loop takes every due row, and a second worker beside it would only
    # put more emails in flight when a worker dies.
    rows = LetterDelivery.objects.filter(letter_id=OuterRef("pk"))
    due_rows = _due(rows, now).filter(
        Q(next_attempt_at__isnull=False) | Q(created_at__lt=stale_before)
    )
    delivering = list(
        Letter.objects.filter(status=Letter.Status.DELIVERING)
        .filter(Exists(due_rows))
        .exclude(Exists(rows.filter(status=Status.SENDING)))
        .values_list("pk", flat=True)
    )
    for letter_id in Letter.objects.filter(status=Letter.Status.DELIVERING).values_list(
        "pk", flat=True
    ):
        finish_if_done(letter_id=letter_id)
    return compiling + delivering


def _start_at_deadline(letter: Letter) -> None:
    # Starting is letter_delivery's, which sends tests through this module.
    from .letter_delivery import start_delivery

    try:
        start_delivery(letter=letter, by=None)
    except LetterError as error:
        # Said once per deadline, in the letter's history: beat comes back every
        # few seconds and would otherwise repeat it for ever.
        deadline = letter.deliver_at.isoformat() if letter.deliver_at else None
        if AuditEntry.objects.filter(
            action="letter.deadline_missed",
            object_type=letter._meta.label_lower,
            object_id=str(letter.pk),
            details__deadline=deadline,
        ).exists():
            return
        log.warning("Letter %s not delivered at its deadline: %s", letter.pk, error)
        with transaction.atomic():
            record_audit_entry(
                actor=None,
                action="letter.deadline_missed",
                obj=letter,
                details={"deadline": deadline, "reason": str(error)},
            )


def is_busy(*, letter_id: int) -> bool:
    """Are rows of the letter being sent, or waiting to be claimed now?"""
    rows = LetterDelivery.objects.filter(letter_id=letter_id)
    return (
        rows.filter(status=Status.SENDING).exists()
        or _due(rows, timezone.now()).exists()
        or LetterTarget.objects.filter(
            letter_id=letter_id, delivery__isnull=True
        ).exists()
    )


def delivery_progress(letter: Letter) -> dict:
    """Rows per status, and how many targets there are."""
    counts = dict.fromkeys(Status.values, 0)
    for status in LetterDelivery.objects.filter(letter=letter).values_list(
        "status", flat=True
    ):
        counts[status] += 1
    counts["targets"] = LetterTarget.objects.filter(letter=letter).count()
    return counts
