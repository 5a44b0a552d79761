"""Members' letters of concern: a member organization, through its contact's
personal link, writes its own letter to its mission of the target country
(starting from the action's template, or uploading a PDF); an organizer approves
it; the bulk worker sends it to the mission with the member in copy
(concern_sending). Organizers see who has sent and remind those who have not.

A letter: draft -> submitted -> approved (then queued -> sending -> sent | failed)
or refused (the member edits it and submits again). Once approved it is fixed.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site.models import record_audit_entry
from signatories.models import Contact, Organization

from .alerts import Audience, VersionText, create_alert
from .models import (
    Action,
    Alert,
    AlertDelivery,
    LetterOfConcern,
    Mission,
    MissionChoice,
)
from .pdf_checks import check_uploaded_pdf
from .placeholders import fill_text, placeholder_values
from .pledges import matched_mission

log = logging.getLogger(__name__)

Stage = LetterOfConcern.Stage
Status = LetterOfConcern.Status
TEXT_MAX_LENGTH = 20_000
REVIEW = "campaigns.change_letterofconcern"


class ConcernError(ValueError):
    """What the member or organizer asked for cannot be done; the message says why."""


# --- The member's side ---------------------------------------------------------


def concern_mission(*, contact: Contact, action: Action) -> Mission | None:
    """The mission the member writes to: as for its pledge (the one its alert
    named, an organizer's choice included, else the nearest of the target
    country)."""
    return matched_mission(contact=contact, action=action)[0]


def template_text(
    *, action: Action, organization: Organization, mission: Mission | None, language
) -> str:
    """The action's letter template with the organization and mission filled in."""
    values = placeholder_values(
        organization=organization,
        mission=mission,
        action=action,
        pledge_url="",
        language=language,
    )
    return fill_text(action.letter_template, values).strip()


def may_write(action: Action) -> bool:
    return action.kind == Action.Kind.LETTER_OF_CONCERN


def save_concern(
    *,
    contact: Contact,
    action: Action,
    text: str | None = None,
    upload: UploadedFile | None = None,
    submit: bool = False,
) -> LetterOfConcern:
    """Keep the member's letter (typed text, or an uploaded PDF that passes
    check_uploaded_pdf) and, with submit, send it for approval; saving without
    submitting takes it back to draft. Refused once approved."""
    if not may_write(action):
        raise ConcernError(_("This action does not ask for a letter of concern."))
    if text is not None and len(text) > TEXT_MAX_LENGTH:
        raise ConcernError(
            _("The letter is too long: at most %(count)s characters.")
            % {"count": TEXT_MAX_LENGTH}
        )
    if upload is not None:
        try:
            check_uploaded_pdf(upload)
        except ValidationError as problem:
            raise ConcernError(" ".join(problem.messages)) from None
    organization = contact.organization
    existing = (
        LetterOfConcern.objects.filter(action=action, organization=organization)
        .select_related("mission")
        .first()
    )
    # The mission stays the one the letter was started for (a later alert, a
    # reminder, names it again anyway); found anew only if there was none.
    if existing is not None and existing.mission is not None:
        mission: Mission | None = existing.mission
    else:
        mission = concern_mission(contact=contact, action=action)
    try:
        concern, _created = LetterOfConcern.objects.get_or_create(
            action=action,
            organization=organization,
            defaults={"contact": contact, "mission": mission},
        )
    except IntegrityError:
        # Two saves at once: the other one created the row.
        concern = LetterOfConcern.objects.get(action=action, organization=organization)
    old_file = new_file = None
    with transaction.atomic():
        concern = LetterOfConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.stage == Stage.APPROVED:
            raise ConcernError(
                _("Your letter is approved and on its way: it cannot change any more.")
            )
        # What the letter will be, checked before any file is written: a refusal
        # leaves nothing behind.
        uploaded = upload is not None or (text is None and concern.uploaded)
        new_text = text if text is not None and upload is None else concern.text
        if submit:
            if not uploaded and not new_text.strip():
                raise ConcernError(
                    _("Write your letter, or upload it as a PDF, first.")
                )
            if mission is None or not mission.email:
                raise ConcernError(
                    _(
                        "We have no email address for the mission you would write "
                        "to: write to the secretariat, who will find it."
                    )
                )
        concern.contact = contact
        concern.mission = mission
        concern.text = new_text
        if upload is not None or (concern.uploaded and not uploaded):
            old_file = concern.pdf.name or None
            concern.pdf = ""
        concern.uploaded = uploaded
        if submit:
            concern.stage = Stage.SUBMITTED
            concern.submitted_at = timezone.now()
            concern.refusal_note = ""
        else:
            concern.stage = Stage.DRAFT
        try:
            if upload is not None:
                concern.pdf.save("letter.pdf", upload, save=False)
                new_file = concern.pdf.name
            concern.save()
            record_audit_entry(
                actor=None,
                action="concern.submit" if submit else "concern.save",
                obj=concern,
                details={
                    "organization": organization.pk,
                    "contact": contact.pk,
                    "uploaded": concern.uploaded,
                },
            )
        except BaseException:
            # The row is not written: neither is its new file.
            if new_file:
                concern.pdf.storage.delete(new_file)
            raise
        if old_file:
            storage = concern.pdf.storage
            transaction.on_commit(lambda: storage.delete(old_file))
    return concern


# --- The organizers' side ------------------------------------------------------


def _require_review(by) -> None:
    if by is None or not by.has_perm(REVIEW):
        raise PermissionDenied(_("Only Publishers approve letters of concern."))


def concern_version(concern: LetterOfConcern) -> str:
    """A fingerprint of the letter as submitted: the approval page sends it back,
    so that a letter the member changed while it was being read is not approved
    unread."""
    text = "|".join(
        (
            concern.stage,
            concern.text,
            concern.pdf.name or "",
            concern.submitted_at.isoformat() if concern.submitted_at else "",
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def approve_concern(
    *, concern: LetterOfConcern, by, version: str | None = None
) -> LetterOfConcern:
    """Approve a submitted letter and queue it for the bulk worker; with version
    (concern_version as the organizer read it), only if it has not changed."""
    _require_review(by)
    now = timezone.now()
    with transaction.atomic():
        concern = (
            LetterOfConcern.objects.select_for_update(of=("self",))
            .select_related("mission")
            .get(pk=concern.pk)
        )
        if concern.stage != Stage.SUBMITTED:
            raise ConcernError(_("Only a letter waiting for approval can be approved."))
        if version is not None and version != concern_version(concern):
            raise ConcernError(
                _("The member changed the letter while you read it: read it again.")
            )
        if concern.mission is None or not concern.mission.email:
            raise ConcernError(_("The mission has no email address: add one first."))
        concern.stage = Stage.APPROVED
        concern.status = Status.QUEUED
        concern.attempts = 0
        concern.next_attempt_at = now
        concern.reviewed_by = by
        concern.reviewed_at = now
        concern.save()
        record_audit_entry(
            actor=by,
            action="concern.approve",
            obj=concern,
            details={"mission": concern.mission.name},
        )
        concern_id = concern.pk
        transaction.on_commit(lambda: queue_concern(concern_id))
    return concern


def refuse_concern(*, concern: LetterOfConcern, by, note: str) -> LetterOfConcern:
    """Send a submitted letter back to the member with a note they read on their
    page; they edit it and submit again."""
    _require_review(by)
    if not note.strip():
        raise ConcernError(_("Say why, so that the member can change it."))
    with transaction.atomic():
        concern = LetterOfConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.stage != Stage.SUBMITTED:
            raise ConcernError(_("Only a letter waiting for approval can be refused."))
        concern.stage = Stage.REFUSED
        concern.refusal_note = note.strip()
        concern.reviewed_by = by
        concern.reviewed_at = timezone.now()
        concern.save()
        record_audit_entry(actor=by, action="concern.refuse", obj=concern)
    return concern


def queue_concern(concern_id: int) -> None:
    """Queue the letter on the bulk queue; beat offers it again if Redis is away."""
    from .tasks import send_letter_of_concern

    try:
        send_letter_of_concern.delay(concern_id)
    except Exception as error:  # noqa: BLE001 - the row's state is in the database
        log.warning("Letter of concern %s not queued now (%s)", concern_id, error)


@dataclass(frozen=True)
class MemberRow:
    organization: Organization
    stage: str  # "" when the member has written nothing
    status: str
    sent_at: object


def concern_overview(action: Action) -> list[MemberRow]:
    """Every organization the action's alerts went to, with where its letter
    stands: who has sent and who has not."""
    alerted = AlertDelivery.objects.filter(alert__action=action).values(
        "organization_id"
    )
    letters = {
        concern.organization_id: concern
        for concern in LetterOfConcern.objects.filter(action=action)
    }
    organizations = Organization.objects.filter(
        Q(pk__in=alerted) | Q(pk__in=letters.keys())
    ).order_by("name", "pk")
    rows = []
    for organization in organizations:
        concern = letters.get(organization.pk)
        rows.append(
            MemberRow(
                organization=organization,
                stage=concern.stage if concern else "",
                status=(
                    concern.status
                    if concern and concern.stage == Stage.APPROVED
                    else ""
                ),
                sent_at=concern.sent_at if concern else None,
            )
        )
    return rows


def stage_counts(action: Action) -> dict[str, int]:
    return dict(
        LetterOfConcern.objects.filter(action=action)
        .values_list("stage")
        .annotate(n=Count("pk"))
        .values_list("stage", "n")
    )


REMINDER_SUBJECT = gettext_lazy("Reminder: send your letter of concern, {organization}")
REMINDER_BODY = gettext_lazy(
    "Your organization has not sent its letter of concern for “{action}” yet.\n\n"
    "Your letter goes to {mission_name}. Start from our template, change it as "
    "you wish or upload your own PDF, and we send it for you after a check:\n\n"
    "{letter_link}"
)


def create_reminder(*, action: Action, by) -> Alert:
    """A draft alert to the action's latest audience, less the organizations whose
    letter is sent or waiting for approval; the organizer previews, tests and
    sends it as any alert. While such a draft waits, it is the one returned."""
    if not may_write(action):
        raise ConcernError(_("This action does not ask for a letter of concern."))
    # A draft reminder not sent yet is the one to finish (a second press of the
    # button, say), not a reason for another.
    draft = (
        Alert.objects.filter(
            action=action, only_without_letter=True, status=Alert.Status.DRAFT
        )
        .order_by("-created_at", "-id")
        .first()
    )
    if draft is not None:
        return draft
    # The audience of the action's latest alert that went (else of its latest
    # draft), never of an earlier reminder.
    alerts = Alert.objects.filter(action=action, only_without_letter=False).order_by(
        "-created_at", "-id"
    )
    model = (
        alerts.filter(
            status__in=[Alert.Status.SENDING, Alert.Status.PAUSED, Alert.Status.SENT]
        ).first()
        or alerts.exclude(status=Alert.Status.CANCELLED).first()
    )
    audience = Audience(
        countries=tuple(model.countries) if model else (),
        sectors=tuple(model.sectors) if model else (),
        languages=tuple(model.languages) if model else (),
        members_only=model.members_only if model else True,
        only_without_letter=True,
    )
    language = settings.LANGUAGE_CODE
    with translation.override(language):
        text = VersionText(
            language=language, subject=str(REMINDER_SUBJECT), body=str(REMINDER_BODY)
        )
    with transaction.atomic():
        reminder = create_alert(
            action=action, versions=[text], audience=audience, by=by
        )
        # The missions an organizer chose for organizations stay theirs.
        if model is not None:
            MissionChoice.objects.bulk_create(
                MissionChoice(
                    alert=reminder,
                    organization_id=choice.organization_id,
                    mission_id=choice.mission_id,
                )
                for choice in model.mission_choices.all()
            )
    return reminder
