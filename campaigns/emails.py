"""The alert email one contact receives: rendered per delivery, at send time.

Each contact's email is its own (its organization, its mission, its local time, its
personal links, its calendar file), so it is built from the delivery row and the
content frozen when sending started, never from the alert as it is being edited.
"""

from __future__ import annotations

import email.message
import functools
from dataclasses import dataclass
from datetime import date, time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from icalendar import Calendar, Event, Timezone, vGeo

from ima_site.crypto import decrypt
from statements.markdown import render_markdown

from .links import contact_url
from .localtime import action_window
from .models import Action, Alert, AlertDelivery
from .placeholders import html_to_text, placeholder_values, render_alert_body

# The action's fields an email shows: frozen with the text, so that an edit of the
# action (a new time, say) reaches nobody until an explicit cancel-and-resend.
ACTION_FIELDS = (
    "id", "campaign_id", "slug", "kind", "title", "where", "place_name",
    "place_address", "place_city", "place_country", "place_latitude",
    "place_longitude", "place_time_zone", "instructions",
)  # fmt: skip


def freeze_content(alert: Alert) -> dict:
    """The alert's versions and its action as they are now, as JSON."""
    versions = list(alert.versions.all())
    if not versions:
        raise ValueError("The alert has no text yet: write at least one version.")
    original = next((v for v in versions if v.is_original), versions[0])
    action = alert.action
    frozen_action = {name: getattr(action, name) for name in ACTION_FIELDS}
    frozen_action.update(
        date=action.date.isoformat(),
        starts=action.starts.isoformat(),
        ends=action.ends.isoformat() if action.ends else None,
    )
    return {
        "original": original.language,
        "versions": {
            v.language: {"subject": v.subject, "body": v.body} for v in versions
        },
        "action": frozen_action,
    }


@dataclass(frozen=True)
class AlertContent:
    """What every delivery of one alert is rendered from (built once per batch)."""

    alert_id: int
    original: str
    versions: dict[str, dict[str, str]]
    action: Action

    @classmethod
    def of(cls, alert: Alert) -> AlertContent:
        """The content frozen when sending started (the live one before that)."""
        return cls.from_frozen(alert.pk, alert.frozen_content or freeze_content(alert))

    @classmethod
    def from_frozen(cls, alert_id: int, frozen: dict) -> AlertContent:
        fields = dict(frozen["action"])
        fields["date"] = date.fromisoformat(fields["date"])
        fields["starts"] = time.fromisoformat(fields["starts"])
        fields["ends"] = time.fromisoformat(fields["ends"]) if fields["ends"] else None
        return cls(
            alert_id=alert_id,
            original=frozen["original"],
            versions=frozen["versions"],
            action=Action(**fields),
        )

    def version(self, language: str) -> dict[str, str]:
        return self.versions.get(language) or self.versions[self.original]


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(alert_id: int, contact_id: int) -> str:
    """The same for every attempt: a receiving server that got one already can
    recognise a second copy."""
    return f"<alert-{alert_id}-contact-{contact_id}@{site_domain()}>"


def render_delivery_email(
    delivery: AlertDelivery,
    *,
    content: AlertContent | None = None,
    to: str | None = None,
) -> EmailMultiAlternatives:
    """The email for one delivery, to the contact's decrypted address unless `to`
    is given (a test send, a preview). Renders; sends nothing."""
    content = content or AlertContent.of(delivery.alert)
    contact = delivery.contact
    organization = delivery.organization
    mission = delivery.mission
    action = content.action
    language = delivery.language or content.original
    version = content.version(language)
    pledge_url = contact_url(contact, "pledge", action)
    with translation.override(language):
        values = placeholder_values(
            organization=organization,
            mission=mission,
            action=action,
            pledge_url=pledge_url,
            language=language,
        )
        body_text, body_html = render_alert_body(version["body"], values)
        instructions_html = render_markdown(action.instructions)
        context = {
            "language": language,
            "subject": version["subject"],
            "body_text": body_text,
            "body_html": body_html,
            "instructions_text": html_to_text(instructions_html).strip(),
            "instructions_html": instructions_html,
            "values": values,
            "mission_abroad": delivery.mission_abroad,
            "at_place": action.where == Action.Where.PLACE,
            "pledge_url": pledge_url,
            "details_url": contact_url(contact, "details"),
            "unsubscribe_url": contact_url(contact, "unsubscribe"),
            "site_name": settings.SITE_NAME,
        }
        text = render_to_string("emails/alert.txt", context)
        html = render_to_string("emails/alert.html", context)
    address = to if to is not None else decrypt(contact.email_encrypted)
    if not address:
        raise ValueError("The contact's email address cannot be read.")
    one_click = contact_url(contact, "unsubscribe_one_click")
    headers = {
        "Message-ID": message_id(content.alert_id, contact.pk),
        # RFC 2369 and RFC 8058: mail programs show an unsubscribe button that
        # POSTs to the link, which a link-checking scanner's GET never does.
        "List-Unsubscribe": f"<{one_click}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
    }
    message = EmailMultiAlternatives(
        subject=" ".join(version["subject"].split()),
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers=headers,
        reply_to=[settings.ALERT_REPLY_TO] if settings.ALERT_REPLY_TO else None,
    )
    message.attach_alternative(html, "text/html")
    message.attach(calendar_part(delivery, content, values))
    return message


def calendar_part(
    delivery: AlertDelivery, content: AlertContent, values: dict[str, str]
) -> email.message.MIMEPart:
    """An .ics file with the action at its local time (TZID of the mission's zone,
    or the place's), one UID per delivery so that a second copy updates the first."""
    action = content.action
    start, end, zone_name = action_window(
        action,
        delivery.mission,
        time_zone=getattr(delivery.organization, "time_zone", "") or None,
    )
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//alerts//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add(
        "uid", f"alert-{content.alert_id}-contact-{delivery.contact_id}@{site_domain()}"
    )
    event.add("dtstamp", timezone.now())
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    event.add("summary", action.title)
    location = ", ".join(
        part for part in (values["mission_name"], values["mission_address"]) if part
    )
    if location:
        event.add("location", location)
    latitude, longitude = _coordinates(delivery, action)
    if latitude is not None and longitude is not None:
        event.add("geo", vGeo((latitude, longitude)))
    event.add("description", values["pledge_link"])
    # The datetimes carry ZoneInfo(zone_name): their TZID is that name.
    calendar.add_component(vtimezone(zone_name, start.year))
    calendar.add_component(event)
    part = email.message.MIMEPart()
    part.set_content(
        calendar.to_ical().decode(),
        subtype="calendar",
        charset="utf-8",
        disposition="attachment",
        filename="action.ics",
        params={"method": "PUBLISH"},
    )
    return part


@functools.lru_cache(maxsize=64)
def vtimezone(zone_name: str, year: int) -> Timezone:
    """The zone's rules around the action's year, made once per worker: building
    them is the slowest part of an email, and every email of a zone shares them."""
    return Timezone.from_tzid(
        zone_name, first_date=date(year - 1, 1, 1), last_date=date(year + 1, 12, 31)
    )


def _coordinates(
    delivery: AlertDelivery, action: Action
) -> tuple[float | None, float | None]:
    if action.where == Action.Where.PLACE:
        return action.place_latitude, action.place_longitude
    if delivery.mission is not None:
        return delivery.mission.latitude, delivery.mission.longitude
    return None, None
