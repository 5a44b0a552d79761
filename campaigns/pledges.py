"""Pledges and reports of member organizations, and contacts' own changes.

A contact reaches these through its personal link (campaigns.links); the services
trust the contact and action they are given, the views check the link.
"""

import hashlib
import json
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns import links
from campaigns.contact_emails import CONFIRM_EMAIL, EMAIL_CHANGED
from campaigns.models import Action, AlertDelivery, Mission, Pledge, ReportPhoto
from campaigns.photos import MAX_PHOTOS, CleanPhoto
from ima_site.crypto import decrypt, encrypt
from ima_site.models import AuditEntry, OutboxMessage, record_audit_entry
from ima_site.outbox import queue_email
from signatories.models import Contact
from signatories.services.contacts import (
    contact_address,
    contact_email,
    contact_email_hash,
    update_contact,
)
from signatories.services.recipients import reserve_email

MAX_PEOPLE = 1_000_000
MAX_ACCOUNT = 2000
MAX_PRESS_LINKS = 5
MAX_LINK_LENGTH = 500
REPORT_STATUSES = (Pledge.Status.HELD, Pledge.Status.CANCELLED)


def matched_mission(*, contact: Contact, action: Action) -> tuple[Mission | None, bool]:
    """The mission this contact's organization goes to for the action, and whether
    it is abroad: the pledge's, else the one its alert named, else the nearest."""
    if action.where != Action.Where.NEAREST_MISSION:
        return None, False
    organization = contact.organization
    pledge = (
        Pledge.objects.filter(action=action, organization=organization)
        .select_related("mission")
        .first()
    )
    if pledge is not None and pledge.mission is not None:
        return pledge.mission, pledge.mission.host_country != organization.country
    delivery = (
        AlertDelivery.objects.filter(
            alert__action=action, organization=organization, mission__isnull=False
        )
        .select_related("mission")
        .order_by("-id")
        .first()
    )
    if delivery is not None:
        return delivery.mission, delivery.mission_abroad
    try:
        from campaigns.recipients import nearest_missions
    except ImportError:  # matching not installed yet: the page names no mission
        return None, False
    mission_id, abroad = nearest_missions(
        [organization], action.campaign.target_country
    ).get(organization.pk, (None, False))
    if mission_id is None:
        return None, False
    return Mission.objects.filter(pk=mission_id).first(), abroad


def _people(value: int | None, field: str) -> int | None:
    if value is None:
        return None
    if not 0 <= value <= MAX_PEOPLE:
        raise ValidationError(
            {field: _("Give a number of people from 0 to 1,000,000.")},
            code="people",
        )
    return value


def _upsert(*, contact: Contact, action: Action) -> Pledge:
    """The organization's row for the action, locked; made if missing.

    Two contacts of one organization may press the button at the same moment: the
    unique constraint lets one insert win, the other then finds that row.
    """
    organization = contact.organization
    try:
        with transaction.atomic():
            Pledge.objects.create(
                action=action, organization=organization, updated_by=contact
            )
    except IntegrityError:
        pass
    return Pledge.objects.select_for_update().get(
        action=action, organization=organization
    )


def pledge_action(
    *, contact: Contact, action: Action, expected_people: int | None
) -> Pledge:
    """Record that the contact's organization will act; repeating it updates the
    expected number. One row per organization and action, whoever pledges."""
    expected_people = _people(expected_people, "expected_people")
    mission, _abroad = matched_mission(contact=contact, action=action)
    with transaction.atomic():
        pledge = _upsert(contact=contact, action=action)
        pledge.expected_people = expected_people
        pledge.updated_by = contact
        if pledge.mission_id is None:
            pledge.mission = mission
        pledge.save(update_fields=["expected_people", "updated_by", "mission"])
        record_audit_entry(
            actor=None,
            action="pledge.pledge",
            obj=pledge,
            details={"expected_people": expected_people},
        )
    return pledge


def clean_press_links(values: Sequence[str]) -> list[str]:
    """The press links kept: http(s) URLs only, at most MAX_PRESS_LINKS."""
    kept = [value.strip() for value in values if value and value.strip()]
    if len(kept) > MAX_PRESS_LINKS:
        raise ValidationError(
            {"press_links": _("Give at most 5 press links.")}, code="too_many"
        )
    check = URLValidator(schemes=["http", "https"])
    for link in kept:
        try:
            if len(link) > MAX_LINK_LENGTH:
                raise ValidationError("too long")
            check(link)
        except ValidationError:
            raise ValidationError(
                {
                    "press_links": _(
                        "“%(link)s” is not a web address starting with http:// or "
                        "https:// (at most 500 characters)."
                    )
                    % {"link": link[:80]}
                },
                code="press_link",
            ) from None
    return kept


def _store_photos(
    pledge: Pledge, photos: Sequence[CleanPhoto], stored: list[ReportPhoto]
) -> None:
    """Save the photos through the storage, appending each to `stored` so that the
    caller can delete the files if its transaction fails. Call with the pledge row
    locked, so two uploads at once cannot pass the limit together."""
    already = pledge.photos.count()
    if already + len(photos) > MAX_PHOTOS:
        raise ValidationError(
            {
                "photos": _(
                    "A report has at most 5 photos; this one has %(count)d already."
                )
                % {"count": already}
            },
            code="too_many_photos",
        )
    for clean in photos:
        photo = ReportPhoto(pledge=pledge, width=clean.width, height=clean.height)
        # The name given here is replaced by a random one (report_photo_path).
        photo.image.save("photo.jpg", ContentFile(clean.data), save=False)
        stored.append(photo)
        photo.save()


def _forget_files(stored: Sequence[ReportPhoto]) -> None:
    for photo in stored:
        if photo.image.name:
            photo.image.storage.delete(photo.image.name)


def report_action(
    *,
    contact: Contact,
    action: Action,
    status: str,
    people: int | None,
    account: str,
    press_links: Sequence[str] = (),
    photos: Sequence[CleanPhoto] = (),
) -> Pledge:
    """Record the organization's report on the action (held or cancelled), with its
    photos; a changed report waits for an organizer's approval again."""
    if status not in REPORT_STATUSES:
        raise ValidationError(
            {"status": _("Say whether the action was held or cancelled.")},
            code="status",
        )
    people = _people(people, "people")
    account = account.strip()
    if len(account) > MAX_ACCOUNT:
        raise ValidationError(
            {
                "account": _(
                    "Keep the account under 2,000 characters (it has %(count)d)."
                )
                % {"count": len(account)}
            },
            code="account",
        )
    kept_links = clean_press_links(press_links)
    mission, _abroad = matched_mission(contact=contact, action=action)
    stored: list[ReportPhoto] = []
    try:
        pledge = _save_report(
            contact=contact,
            action=action,
            status=status,
            people=people,
            account=account,
            press_links=kept_links,
            mission=mission,
            photos=photos,
            stored=stored,
        )
    except BaseException:
        # Nothing half-written: a refused or failed report leaves no file behind.
        _forget_files(stored)
        raise
    return pledge


def _save_report(
    *,
    contact: Contact,
    action: Action,
    status: str,
    people: int | None,
    account: str,
    press_links: list[str],
    mission: Mission | None,
    photos: Sequence[CleanPhoto],
    stored: list[ReportPhoto],
) -> Pledge:
    with transaction.atomic():
        pledge = _upsert(contact=contact, action=action)
        pledge.status = status
        pledge.people = people
        pledge.account = account
        pledge.press_links = press_links
        pledge.updated_by = contact
        pledge.reported_at = timezone.now()
        if pledge.mission_id is None:
            pledge.mission = mission
        # What the public sees is what an organizer approved, never a later edit.
        pledge.approved_at = None
        pledge.approved_by = None
        pledge.save()
        _store_photos(pledge, photos, stored)
        record_audit_entry(
            actor=None,
            action="pledge.report",
            obj=pledge,
            details={"status": status, "people": people, "photos": len(photos)},
        )
    return pledge


def add_report_photo(
    *, contact: Contact, action: Action, photo: CleanPhoto
) -> ReportPhoto:
    """Add one photo to the organization's report (at most MAX_PHOTOS); the report
    then waits for approval again."""
    stored: list[ReportPhoto] = []
    try:
        with transaction.atomic():
            pledge = (
                Pledge.objects.select_for_update()
                .filter(action=action, organization=contact.organization)
                .first()
            )
            if pledge is None or pledge.reported_at is None:
                raise ValidationError(
                    {"photos": _("Report back on the action before adding photos.")},
                    code="no_report",
                )
            _store_photos(pledge, [photo], stored)
            pledge.approved_at = None
            pledge.approved_by = None
            pledge.updated_by = contact
            pledge.save(update_fields=["approved_at", "approved_by", "updated_by"])
            record_audit_entry(
                actor=None, action="pledge.add_photo", obj=pledge, details={}
            )
    except BaseException:
        _forget_files(stored)
        raise
    return stored[0]


def remove_report_photo(*, contact: Contact, action: Action, photo_id: int) -> bool:
    """Take a photo off the organization's report; False if it is not one of its
    photos (another organization's photo is never touched)."""
    with transaction.atomic():
        photo = (
            ReportPhoto.objects.select_for_update()
            .filter(
                pk=photo_id,
                pledge__action=action,
                pledge__organization=contact.organization,
            )
            .select_related("pledge")
            .first()
        )
        if photo is None:
            return False
        name = photo.image.name
        storage = photo.image.storage
        pledge = photo.pledge
        photo.delete()
        record_audit_entry(
            actor=None, action="pledge.remove_photo", obj=pledge, details={}
        )
        # The file goes once the row is gone for good.
        if name:
            transaction.on_commit(lambda: storage.delete(name))
    return True


def report_version(pledge: Pledge) -> str:
    """A short fingerprint of what the organizer reads of a report: its answers,
    account, links and photos. Approving names the version that was read."""
    photo_ids = sorted(pledge.photos.values_list("pk", flat=True))
    text = json.dumps(
        [
            pledge.status,
            pledge.people,
            pledge.account,
            list(pledge.press_links),
            photo_ids,
            pledge.reported_at.isoformat() if pledge.reported_at else None,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def approve_report(*, pledge: Pledge, by, seen: str) -> Pledge:
    """Make the report public as the organizer read it (`seen`, its report_version):
    a report changed since then is refused, so a later edit is never approved
    unread. Approving an approved report again changes nothing."""
    if not by.has_perm("campaigns.change_pledge"):
        raise PermissionDenied
    with transaction.atomic():
        locked = Pledge.objects.select_for_update().get(pk=pledge.pk)
        if locked.reported_at is None:
            raise ValidationError(
                _("“%(pledge)s” has no report to approve yet.") % {"pledge": locked},
                code="no_report",
            )
        if report_version(locked) != seen:
            raise ValidationError(
                _(
                    "The report “%(pledge)s” changed since you read it: read it "
                    "again before approving it."
                )
                % {"pledge": locked},
                code="changed",
            )
        if locked.approved_at is None:
            locked.approved_at = timezone.now()
            locked.approved_by = by
            locked.save(update_fields=["approved_at", "approved_by"])
            record_audit_entry(
                actor=by, action="pledge.approve_report", obj=locked, details={}
            )
    return locked


def withdraw_approval(*, pledge: Pledge, by) -> bool:
    """Take an approved report off the public pages; True if this call did it."""
    if not by.has_perm("campaigns.change_pledge"):
        raise PermissionDenied
    with transaction.atomic():
        changed = Pledge.objects.filter(pk=pledge.pk, approved_at__isnull=False).update(
            approved_at=None, approved_by=None
        )
        if changed:
            record_audit_entry(
                actor=by, action="pledge.withdraw_approval", obj=pledge, details={}
            )
    return bool(changed)


def _contact_audit(contact: Contact, action: str, details: dict) -> None:
    # The entry names the organization, never the person: an audit log is read
    # by every organizer, and nobody needs a contact's name to follow it.
    AuditEntry.objects.create(
        actor=None,
        action=action,
        object_type=Contact._meta.label_lower,
        object_id=str(contact.pk),
        object_repr=contact.organization.name[:300],
        details=details,
    )


def unsubscribe_contact(*, contact: Contact) -> bool:
    """Stop alert emails to the contact; True if this call did it. Repeating it
    (a second click, a mail client's one-click POST) changes nothing."""
    with transaction.atomic():
        changed = Contact.objects.filter(
            pk=contact.pk, unsubscribed_at__isnull=True
        ).update(unsubscribed_at=timezone.now())
        if changed:
            _contact_audit(contact, "contact.unsubscribe", {})
    contact.refresh_from_db(fields=["unsubscribed_at"])
    return bool(changed)


def correct_contact(
    *, contact: Contact, name: str, language: str, email: str | None = None
) -> tuple[Contact, str | None]:
    """Save the contact's own corrections to its name and language at once.

    A new email address does not replace the current one: it waits for the link
    mailed to it (request_email_change). Returns the contact and that new address,
    or None when the address stays as it is (no email given, or the current one
    spelt another way, which is saved at once: it is the same inbox).
    """
    email = (email or "").strip() or None
    address = contact_address(email) if email is not None else None
    new_address = (
        address
        if address is not None and contact_email_hash(address) != contact.email_hash
        else None
    )
    before = (contact.name, contact.language)
    with transaction.atomic():
        saved = update_contact(
            contact=contact,
            name=name,
            email=None if new_address is not None else address,
            language=language,
        )
        fields = [
            label
            for label, old, new in (
                ("name", before[0], saved.name),
                ("language", before[1], saved.language),
            )
            if old != new
        ]
        if fields:
            _contact_audit(saved, "contact.correct", {"fields": fields})
        if new_address is not None:
            saved = request_email_change(contact=saved, email=new_address)
    return saved, new_address


def _address_taken() -> ValidationError:
    return ValidationError(
        {"email": _("Another contact of this organization has that email.")},
        code="taken",
    )


def request_email_change(*, contact: Contact, email: str) -> Contact:
    """Keep a new address waiting for the contact and mail it a link to confirm it;
    the alerts keep going to the current address until then.

    A second request replaces the first: its link stops working (links binds the
    pending change) and its email, if not sent yet, is called off. An address of
    another contact of the organization is refused.
    """
    address = contact_address(email)
    email_hash = contact_email_hash(address)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if email_hash == locked.email_hash:
            return locked
        if Contact.objects.filter(
            organization_id=locked.organization_id, email_hash=email_hash
        ).exists():
            raise _address_taken()
        locked.pending_email_hash = email_hash
        locked.pending_email_encrypted = encrypt(address)
        locked.pending_email_requested_at = timezone.now()
        locked.save(
            update_fields=[
                "pending_email_hash",
                "pending_email_encrypted",
                "pending_email_requested_at",
                "updated_at",
            ]
        )
        # An earlier request's email still waiting (for the daily cap, or for a
        # worker that died) would carry a link to this change to the earlier
        # address once rendered.
        OutboxMessage.objects.filter(
            kind=CONFIRM_EMAIL,
            object_id=locked.pk,
            status__in=[OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING],
        ).update(status=OutboxMessage.Status.CANCELLED, recipient=None)
        # Anyone holding a forwarded alert can type any address here: the cap on
        # emails to addresses that never confirmed keeps this from flooding one.
        queue_email(
            kind=CONFIRM_EMAIL,
            object_id=locked.pk,
            to=address,
            language=locked.language,
            send_at=reserve_email(address=address),
        )
    return locked


def pending_email(contact: Contact) -> str:
    """The address waiting for confirmation, in clear ("" if there is none)."""
    if not contact.pending_email_hash:
        return ""
    return decrypt(contact.pending_email_encrypted) or ""


class EmailChangeGone(Exception):
    """The change a confirmation link named is no longer the one waiting."""


def confirm_contact_email(*, contact: Contact) -> Contact:
    """Make the contact's pending address its address, as the link mailed to that
    address asks; renews the contact's links and tells the old address.

    `contact` is as the link found it: if the change waiting is another by now
    (made already, replaced, or the address changed by an organizer), raises
    EmailChangeGone, so a second press changes nothing. Raises ValidationError if
    another contact of the organization has the address meanwhile.
    """
    expected = links.pending_change(contact)
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if (
            not expected
            or links.pending_change(locked) != expected
            or locked.link_nonce != contact.link_nonce
        ):
            raise EmailChangeGone
        address = pending_email(locked)
        if not address:
            raise EmailChangeGone
        old_address = contact_email(locked)
        try:
            with transaction.atomic():
                saved = update_contact(
                    contact=locked,
                    name=locked.name,
                    email=address,
                    language=locked.language,
                )
        except ValidationError as error:
            if "email" not in error.message_dict:
                raise
            raise _address_taken() from None
        except IntegrityError:
            # Another contact took the address between the check and the save.
            raise _address_taken() from None
        saved.pending_email_hash = ""
        saved.pending_email_encrypted = None
        saved.pending_email_requested_at = None
        saved.save(
            update_fields=[
                "pending_email_hash",
                "pending_email_encrypted",
                "pending_email_requested_at",
            ]
        )
        links.rotate_links(saved)
        _contact_audit(saved, "contact.correct", {"fields": ["email"]})
        if old_address:
            queue_email(
                kind=EMAIL_CHANGED,
                object_id=saved.pk,
                to=old_address,
                language=saved.language,
            )
    return saved
