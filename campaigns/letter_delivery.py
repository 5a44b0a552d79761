"""Delivering a sign-on letter, the organizers' side: its targets, the start
(which closes signing), tests to the organizer, retries by hand, and the targets'
replies. The workers' side, which sends each target its one email, is
letter_sending; the email itself is letter_mail.

The letter: gathering -> compiling -> delivering -> delivered.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.models import record_audit_entry
from signatories.services.counts import statement_counts
from statements.models import Statement

from .letter_mail import LetterError, cover_for, original_language
from .letter_sending import send_test_letter
from .models import (
    Letter,
    LetterDelivery,
    LetterTarget,
    Mission,
    TargetReply,
)
from .pdf_checks import check_uploaded_pdf

log = logging.getLogger(__name__)

Status = LetterDelivery.Status
DELIVER = "campaigns.deliver_letter"


# --- Permissions ---------------------------------------------------------------


def may_deliver(user) -> bool:
    return user is not None and user.has_perm(DELIVER)


def may_test(user) -> bool:
    # A test copy names the signatories: only those who may read the signatures
    # (Publishers) get one, never an Editor, who may not.
    return user is not None and (
        user.has_perm(DELIVER)
        or (
            user.has_perm("campaigns.change_letter")
            and user.has_perm("signatories.view_signature")
        )
    )


def _require(by, allowed: bool, message: str) -> None:
    # by=None is the site itself: beat at the deadline, or the deliver_letter
    # command run by whoever runs the server. People go through the permission.
    if by is not None and not allowed:
        raise PermissionDenied(message)


# --- What a letter needs -------------------------------------------------------


def delivery_refusal(letter: Letter) -> str:
    """Why the letter cannot be delivered now, in words; "" when it can."""
    if letter.statement.kind != Statement.Kind.SIGN_ON_LETTER:
        return _("The statement is not a sign-on letter.")
    if letter.status != Letter.Status.GATHERING:
        return _("This letter is already %(status)s.") % {
            "status": letter.get_status_display().lower()
        }
    if not letter.targets.exists():
        return _("The letter has no targets: add missions or other authorities.")
    original = original_language(letter)
    if not letter.covers.filter(language=original).exists():
        return _(
            "The letter has no cover text in its original language (%(language)s): "
            "write one."
        ) % {"language": original or "?"}
    return ""


# --- Targets -------------------------------------------------------------------


def targets_version(letter: Letter) -> str:
    """A fingerprint of the letter's targets (who, which address, which language):
    a Publisher delivers the list they read, not one changed meanwhile."""
    rows = letter.targets.order_by("pk").values_list("pk", "email", "language")
    text = "|".join(f"{pk}:{email.lower()}:{language}" for pk, email, language in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def add_mission_targets(*, letter: Letter, country: str | None = None, by) -> int:
    """Add every mission of `country` (the campaign's target country by default)
    that has an email; the number added. Idempotent: a mission or an address
    already a target is skipped (the table's unique constraints)."""
    _require(
        by,
        by is not None and by.has_perm("campaigns.add_lettertarget"),
        _("You may not add targets to letters."),
    )
    country = country or (letter.campaign.target_country if letter.campaign else "")
    country = country.upper()
    if not country:
        raise LetterError(
            _("Choose a country: the letter's campaign names no target country.")
        )
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter.pk)
        if letter.status != Letter.Status.GATHERING:
            raise LetterError(
                _("Delivery has started: the targets cannot change any more.")
            )
        before = letter.targets.count()
        LetterTarget.objects.bulk_create(
            [
                LetterTarget(
                    letter=letter,
                    mission=mission,
                    name=mission.name,
                    email=mission.email,
                )
                for mission in Mission.objects.filter(represented_country=country)
                .exclude(email="")
                .order_by("host_country", "city", "kind")
            ],
            ignore_conflicts=True,
        )
        added = letter.targets.count() - before
        if added:
            record_audit_entry(
                actor=by,
                action="letter.add_missions",
                obj=letter,
                details={"count": added, "country": country},
            )
    return added


def add_target(
    *,
    letter: Letter,
    by,
    mission: Mission | None = None,
    name: str = "",
    email: str = "",
    language: str = "",
) -> LetterTarget:
    """Add one target: a mission of the directory (its name and address) or
    another authority by name and address. The letter's lock makes the repeat
    check exact; the table's unique constraints stand behind it."""
    _require(
        by,
        by is not None and by.has_perm("campaigns.add_lettertarget"),
        _("You may not add targets to letters."),
    )
    if mission is not None:
        if not mission.email:
            raise LetterError(
                _("%(mission)s has no email address in the directory.")
                % {"mission": mission.name}
            )
        name, email = name or mission.name, mission.email
    if not name.strip():
        raise LetterError(_("Name the target."))
    try:
        validate_email(email)
    except ValidationError:
        raise LetterError(
            _("%(email)s is not an email address.") % {"email": email}
        ) from None
    with transaction.atomic():
        letter = Letter.objects.select_for_update().get(pk=letter.pk)
        if letter.status != Letter.Status.GATHERING:
            raise LetterError(
                _("Delivery has started: the targets cannot change any more.")
            )
        repeat = Q(email__iexact=email)
        if mission is not None:
            repeat |= Q(mission=mission)
        if letter.targets.filter(repeat).exists():
            raise LetterError(
                _("%(email)s is already a target of this letter.") % {"email": email}
            )
        target = LetterTarget.objects.create(
            letter=letter,
            mission=mission,
            name=name.strip(),
            email=email,
            language=language,
        )
        record_audit_entry(
            actor=by,
            action="letter.add_target",
            obj=letter,
            details={"target": target.name, "mission": mission.pk if mission else None},
        )
    return target


# --- Starting ------------------------------------------------------------------


def start_delivery(
    *,
    letter: Letter,
    by,
    test: bool = False,
    to: str | None = None,
    here: bool = False,
    version: str | None = None,
) -> Letter:
    """Deliver the letter: close signing on it, mark it compiling and queue the
    bulk worker after the commit (here=True: the caller runs deliver_now itself).

    test=True sends one email, marked [TEST], to `to` (the organizer's address by
    default) with a compilation of its own, and writes no delivery row. With
    version (targets_version as the organizer read the targets), only if the
    targets have not changed since.
    """
    if test:
        return _start_test(letter=letter, by=by, to=to, here=here)
    _require(by, may_deliver(by), _("Only Publishers deliver letters."))
    now = timezone.now()
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(of=("self",))
            .select_related("statement")
            .get(pk=letter.pk)
        )
        refusal = delivery_refusal(letter)
        if refusal:
            raise LetterError(refusal)
        if version is not None and version != targets_version(letter):
            raise LetterError(
                _("The targets changed since you read them: read them again.")
            )
        targets = letter.targets.count()
        deadline = letter.deliver_at
        _close_signing(letter.statement, by=by, now=now)
        letter.status = Letter.Status.COMPILING
        letter.save(update_fields=["status", "updated_at"])
        record_audit_entry(
            actor=by,
            action="letter.deliver",
            obj=letter,
            details={
                "count": targets,
                "signatures": statement_counts(letter.statement)["total"],
                "deadline": deadline.isoformat() if deadline else None,
            },
        )
        if not here:
            letter_id = letter.pk
            transaction.on_commit(lambda: queue_delivery(letter_id))
    return letter


def _close_signing(statement: Statement, *, by, now) -> None:
    """Close signing now unless it closed earlier. A conditional UPDATE: a change
    made to the statement meanwhile stays, only the closing time moves."""
    old = statement.signing_closes_at
    closed = (
        Statement.objects.filter(pk=statement.pk)
        .filter(Q(signing_closes_at__isnull=True) | Q(signing_closes_at__gt=now))
        .update(signing_closes_at=now, updated_at=now)
    )
    if closed:
        statement.signing_closes_at = now
        record_audit_entry(
            actor=by,
            action="statement.close_signing",
            obj=statement,
            details={
                "changed": {
                    "signing_closes_at": [
                        old.isoformat() if old else None,
                        now.isoformat(),
                    ]
                }
            },
        )


def _start_test(*, letter: Letter, by, to: str | None, here: bool) -> Letter:
    _require(by, may_test(by), _("You may not send tests of letters."))
    to = to or (by.email if by is not None else "")
    if not to:
        raise LetterError(_("Your account has no email address to send a test to."))
    try:
        validate_email(to)
    except ValidationError:
        raise LetterError(_("%(to)s is not an email address.") % {"to": to}) from None
    cover_for(letter, "")
    with transaction.atomic():
        record_audit_entry(actor=by, action="letter.test", obj=letter)
        if not here:
            letter_id = letter.pk
            transaction.on_commit(lambda: queue_test(letter_id, to))
    if here:
        send_test_letter(letter_id=letter.pk, to=to)
    return letter


def queue_delivery(letter_id: int) -> None:
    """Queue the letter's delivery on the bulk queue. Redis being away loses
    nothing: beat offers the letter again (release_due_letters)."""
    from .tasks import deliver_letter

    try:
        deliver_letter.delay(letter_id)
    except Exception as error:  # noqa: BLE001 - the letter's state is in the database
        log.warning(
            "Letter %s: delivery not queued now (%s); beat will", letter_id, error
        )


def queue_test(letter_id: int, to: str) -> None:
    from .tasks import send_letter_test

    try:
        send_letter_test.delay(letter_id, to)
    except Exception as error:  # noqa: BLE001 - a test is asked for again
        log.warning("Letter %s: test not queued (%s)", letter_id, error)


# --- By hand -------------------------------------------------------------------


def retry_delivery(*, delivery: LetterDelivery, by) -> LetterDelivery:
    """Queue a failed delivery again with fresh attempts, and the letter's worker."""
    _require(by, may_deliver(by), _("Only Publishers deliver letters."))
    now = timezone.now()
    with transaction.atomic():
        row = (
            LetterDelivery.objects.select_for_update()
            .select_related("target")
            .get(pk=delivery.pk)
        )
        if row.status != Status.FAILED:
            raise LetterError(_("Only a failed delivery can be sent again."))
        error = row.last_error
        row.status = Status.QUEUED
        row.attempts = 0
        row.next_attempt_at = now
        row.claimed_at = None
        row.last_error = ""
        row.save(
            update_fields=[
                "status", "attempts", "next_attempt_at", "claimed_at", "last_error",
            ]
        )  # fmt: skip
        # A delivered letter is being delivered again, to this target.
        Letter.objects.filter(
            pk=row.letter_id,
            status__in=[Letter.Status.DELIVERED, Letter.Status.DELIVERING],
        ).update(status=Letter.Status.DELIVERING, updated_at=now)
        letter = Letter.objects.select_related("statement").get(pk=row.letter_id)
        record_audit_entry(
            actor=by,
            action="letter.retry",
            obj=letter,
            details={"target": row.target.name, "error": error},
        )
        letter_id = letter.pk
        transaction.on_commit(lambda: queue_delivery(letter_id))
    return row


def record_reply(
    *,
    target: LetterTarget,
    kind: str,
    received_on: date,
    text: str = "",
    attachment: UploadedFile | None = None,
    published: bool = False,
    by,
) -> TargetReply:
    """Record what a target answered (or that it refused the letter); an
    attachment must pass check_uploaded_pdf."""
    _require(
        by,
        by is not None and by.has_perm("campaigns.add_targetreply"),
        _("You may not record replies."),
    )
    if kind not in TargetReply.Kind.values:
        raise LetterError(_("Unknown kind of reply: %(kind)s") % {"kind": kind})
    if attachment:
        check_uploaded_pdf(attachment)
    with transaction.atomic():
        reply = TargetReply(
            target=target,
            kind=kind,
            received_on=received_on,
            text=text,
            published=published,
            recorded_by=by if by is not None and by.is_authenticated else None,
        )
        if attachment:
            reply.attachment.save("reply.pdf", attachment, save=False)
        try:
            reply.save()
        except BaseException:
            # The row is not written: neither is its file.
            if reply.attachment.name:
                reply.attachment.storage.delete(reply.attachment.name)
            raise
        record_audit_entry(
            actor=by,
            action="letter.reply",
            obj=reply,
            details={
                "kind": kind,
                "target": target.name,
                "published": published,
                "attachment": bool(attachment),
            },
        )
    return reply
