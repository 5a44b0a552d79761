"""Sending an approved letter of concern, the workers' side: one email to the
mission with the PDF attached, From the site, Cc and Reply-To the member.

As with sign-on letters, the row is claimed (queued -> sending, attempts + 1)
before the email goes and marked right after the mail server's answer; a row
left sending by a dead worker comes back after LETTER_STALE_SECONDS; transient
errors are retried with a growing delay, then the row ends failed and an
organizer can send it again. The PDF made from a typed letter is stored before
the first attempt: a retry sends the same file.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from ima_site.crypto import decrypt
from ima_site.models import record_audit_entry

from .letter_compile import render_pdf
from .letter_mail import close_quietly, send_recording_answer, site_domain
from .letter_sending import MAX_ATTEMPTS, record_failure
from .models import LetterOfConcern

log = logging.getLogger(__name__)

Stage = LetterOfConcern.Stage
Status = LetterOfConcern.Status


def message_id(concern_id: int) -> str:
    return f"<concern-{concern_id}@{site_domain()}>"


def claim(concern_id: int) -> LetterOfConcern | None:
    """Take the approved row if it is due; None if it is not (sent, being sent,
    failed, or waiting for its retry time)."""
    now = timezone.now()
    claimed = (
        LetterOfConcern.objects.filter(
            pk=concern_id, stage=Stage.APPROVED, status=Status.QUEUED
        )
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return LetterOfConcern.objects.select_related(
        "action__campaign", "organization", "contact", "mission"
    ).get(pk=concern_id)


def letter_pdf(concern: LetterOfConcern) -> bytes:
    """The member's PDF: uploaded, or made from the typed text (and then stored,
    so that a retry sends the same file)."""
    if concern.pdf:
        with concern.pdf.open("rb") as handle:
            return handle.read()
    language = concern.contact.language if concern.contact else ""
    language = language or settings.LANGUAGE_CODE
    mission = concern.mission
    with translation.override(language):
        html = render_to_string(
            "campaigns/concern/letter.html",
            {
                "language": language,
                "organization": concern.organization.name,
                "city": concern.organization.city,
                "today": formats.date_format(timezone.localdate(), "DATE_FORMAT"),
                "mission_name": mission.name if mission else "",
                "mission_address": [
                    line.strip()
                    for line in (mission.address if mission else "").splitlines()
                    if line.strip()
                ],
                # Browsers send a textarea's lines ending in CR LF.
                "paragraphs": [
                    part.strip()
                    for part in concern.text.replace("\r\n", "\n").split("\n\n")
                    if part.strip()
                ],
            },
        )
    pdf = render_pdf(html)
    concern.pdf.save("letter.pdf", ContentFile(pdf), save=False)
    LetterOfConcern.objects.filter(pk=concern.pk).update(pdf=concern.pdf.name)
    return pdf


def build_email(concern: LetterOfConcern, pdf: bytes) -> EmailMultiAlternatives:
    member = decrypt(concern.contact.email_encrypted) if concern.contact else ""
    if not member:
        raise ValueError("The member's address cannot be read.")
    if concern.mission is None or not concern.mission.email:
        raise ValueError("The mission has no email address.")
    context = {
        "language": settings.LANGUAGE_CODE,
        "organization": concern.organization.name,
        "action": concern.action.title,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
    }
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Letter of concern from %(organization)s") % {
            "organization": concern.organization.name
        }
        context["subject"] = subject
        text = render_to_string("emails/letter_of_concern.txt", context)
        html = render_to_string("emails/letter_of_concern.html", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[concern.mission.email],
        cc=[member],
        reply_to=[member],
        headers={"Message-ID": message_id(concern.pk)},
    )
    message.attach_alternative(html, "text/html")
    message.attach("letter-of-concern.pdf", pdf, "application/pdf")
    return message


def send_concern(concern_id: int) -> bool:
    """Send the approved letter once; True if it went now. Idempotent: a row
    not queued (sent, being sent, failed) is left as it is."""
    concern = claim(concern_id)
    if concern is None:
        return False
    try:
        message = build_email(concern, letter_pdf(concern))
    except Exception as error:  # noqa: BLE001 - recorded on the row
        log.exception("Letter of concern %s could not be made", concern_id)
        _failed(concern, error, permanent=True)
        return False
    backend = get_connection()
    try:
        answer = send_recording_answer(backend, message)
    except Exception as error:  # noqa: BLE001 - recorded on the row
        _failed(concern, error)
        return False
    finally:
        close_quietly(backend)
    _mark(
        concern,
        status=Status.SENT,
        sent_at=timezone.now(),
        message_id=message_id(concern_id),
        smtp_response=answer[:500],
        last_error="",
    )
    return True


def _mark(concern: LetterOfConcern, **fields) -> None:
    # Only a row this worker still holds.
    LetterOfConcern.objects.filter(pk=concern.pk, status=Status.SENDING).update(
        **fields
    )


def _failed(concern: LetterOfConcern, error: Exception, *, permanent=False) -> None:
    record_failure(
        concern, error, permanent=permanent, mark=_mark, what="Letter of concern"
    )


def release_due_concerns() -> list[int]:
    """Beat's part: take back rows dead workers left, end those that killed their
    worker MAX_ATTEMPTS times, and return the ids due now."""
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.LETTER_STALE_SECONDS)
    stale = LetterOfConcern.objects.filter(
        status=Status.SENDING, claimed_at__lt=stale_before
    )
    stale.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=Status.FAILED,
        last_error=f"The worker stopped while sending, {MAX_ATTEMPTS} times.",
    )
    stale.update(
        status=Status.QUEUED,
        next_attempt_at=now,
        last_error="The worker stopped while sending.",
    )
    # Rows due and not taken: retries whose time has come, and approved rows whose
    # task has waited longer than a worker should take (lost with Redis, say). A
    # fresh approval's own task is not doubled on every tick meanwhile.
    return list(
        LetterOfConcern.objects.filter(
            stage=Stage.APPROVED, status=Status.QUEUED, next_attempt_at__lte=now
        )
        .filter(~Q(last_error="") | Q(next_attempt_at__lte=stale_before))
        .values_list("pk", flat=True)
    )


def retry_concern(*, concern: LetterOfConcern, by) -> LetterOfConcern:
    """Queue a failed letter again with fresh attempts."""
    from .concern import ConcernError, _require_review, queue_concern

    _require_review(by)
    with transaction.atomic():
        row = LetterOfConcern.objects.select_for_update().get(pk=concern.pk)
        if row.status != Status.FAILED or row.stage != Stage.APPROVED:
            raise ConcernError(_("Only a failed letter can be sent again."))
        error = row.last_error
        row.status = Status.QUEUED
        row.attempts = 0
        row.next_attempt_at = timezone.now()
        row.claimed_at = None
        row.last_error = ""
        row.save()
        record_audit_entry(
            actor=by, action="concern.retry", obj=row, details={"error": error}
        )
        concern_id = row.pk
        transaction.on_commit(lambda: queue_concern(concern_id))
    return row
