"""The emails about a contact's change of address, rendered when the outbox sends
them: the confirmation link to the new address, the notice to the old one.

Neither carries the contact's name or the other address: the new address was
typed by whoever held the personal link, and an email to it must not hand them
anything of the contact; the old address is told that something changed, and
where to turn, not where the alerts go now.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from campaigns import links
from ima_site.models import AuditEntry
from ima_site.outbox import RenderedEmail, register
from signatories.models import Contact

CONFIRM_EMAIL = "contact.confirm_email"
EMAIL_CHANGED = "contact.email_changed"


def _render(template: str, subject: str, contact: Contact, **extra) -> RenderedEmail:
    context = {
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "organization": contact.organization.name,
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL + "/",
        **extra,
    }
    return RenderedEmail(
        subject=subject,
        text=render_to_string(f"emails/{template}.txt", context),
        html=render_to_string(f"emails/{template}.html", context),
    )


def _contact(contact_id: int) -> Contact | None:
    return Contact.objects.select_related("organization").filter(pk=contact_id).first()


def change_is_open(contact: Contact) -> bool:
    """Whether the contact has an email change waiting that may still be confirmed."""
    asked = contact.pending_email_requested_at
    lifetime = links.LIFETIMES["confirm_email"]
    return (
        bool(contact.pending_email_hash)
        and asked is not None
        and (timezone.now() - asked < lifetime)
    )


@register(CONFIRM_EMAIL)
def email_confirmation(contact_id: int) -> RenderedEmail | None:
    """The link that makes the new address the contact's; nothing once the change
    is made, replaced or too old."""
    contact = _contact(contact_id)
    if contact is None or not change_is_open(contact):
        return None
    days = links.LIFETIMES["confirm_email"].days
    return _render(
        "contact_confirm_email",
        _("Confirm the new address for action alerts"),
        contact,
        confirm_url=links.contact_url(contact, "confirm_email"),
        days=days,
    )


def _changed_on(contact: Contact) -> date:
    # The day of the change as the audit log has it (the email may go a little
    # later, after a retry), in the organization's time zone where it is known.
    entry = (
        AuditEntry.objects.filter(
            action="contact.correct",
            object_type=Contact._meta.label_lower,
            object_id=str(contact.pk),
            details__fields__contains=["email"],
        )
        .order_by("-at")
        .first()
    )
    moment = entry.at if entry is not None else timezone.now()
    try:
        zone = ZoneInfo(contact.organization.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return timezone.localtime(moment, zone).date()


@register(EMAIL_CHANGED)
def email_changed_notice(contact_id: int) -> RenderedEmail | None:
    """Tells the old address that the alerts moved, and whom to write to if that
    was not asked for. The outbox sets no Reply-To: the secretariat's address is
    in the text."""
    contact = _contact(contact_id)
    if contact is None:
        return None
    return _render(
        "contact_email_changed",
        _("The address for action alerts was changed"),
        contact,
        changed_on=_changed_on(contact),
        secretariat=settings.ALERT_REPLY_TO,
    )
