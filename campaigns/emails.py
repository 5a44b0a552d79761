"""The alert email one contact receives: rendered per delivery, at send time.

Each contact's email is its own (its organization, its mission, its local time, its
personal links, its calendar file), so it is built from the delivery row and the
content frozen when sending started, never from the alert as it is being edited.

A fan-out renders thousands of them, and most of an email is shared: the body of
one organization, the frame around it for one mission and language, the calendar
for one place and time. AlertRenderer renders each of those once, with markers
where the personal parts go (the links, the organization's name in the frame, the
calendar's UID and stamp), and fills them in per email, escaped as the template
would have escaped them. The result is an AlertEmail (campaigns.alert_mail).
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from email.utils import make_msgid
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, Timezone, vGeo

from ima_site.crypto import decrypt
from statements.markdown import render_markdown

from .alert_mail import AlertEmail
from .links import contact_url
from .localtime import action_window
from .models import Action, Alert, AlertDelivery
from .placeholders import (
    fill_text,
    html_to_text,
    placeholder_values,
    render_alert_body,
)

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

    @cached_property
    def instructions(self) -> tuple[str, str]:
        """(text, HTML) of the action's instructions: the same in every email."""
        instructions_html = render_markdown(self.action.instructions)
        return html_to_text(instructions_html).strip(), instructions_html


def site_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def message_id(alert_id: int, contact_id: int) -> str:
    """The same for every attempt: a receiving server that got one already can
    recognise a second copy."""
    return f"<alert-{alert_id}-contact-{contact_id}@{site_domain()}>"


# --- Rendering, shared where recipients share it ---------------------------------

# Markers stand where the personal parts go. Letters and digits (and one "/"):
# escaping, sanitizing and percent-encoding leave them as they are, except the
# pledge link's "/", which tells its percent-encoded form (a {pledge_link} inside
# a link's address) from the plain one. The nonce, new in each process, keeps a
# text from forging one.
_NONCE = secrets.token_hex(8)
ORGANIZATION = f"imapart{_NONCE}organization"
PLEDGE = f"imapart{_NONCE}pledge/x"
PLEDGE_ENCODED = quote(PLEDGE, safe="")
LETTER = f"imapart{_NONCE}letter/x"
LETTER_ENCODED = quote(LETTER, safe="")
DETAILS = f"imapart{_NONCE}details"
UNSUBSCRIBE = f"imapart{_NONCE}unsubscribe"
BODY_TEXT = f"imapart{_NONCE}bodytext"
BODY_HTML = f"imapart{_NONCE}bodyhtml"
_PERSONAL = re.compile(
    "|".join(
        re.escape(marker)
        for marker in (
            ORGANIZATION,
            PLEDGE,
            PLEDGE_ENCODED,
            LETTER,
            LETTER_ENCODED,
            DETAILS,
            UNSUBSCRIBE,
        )  # fmt: skip
    )
)
# Links made of these are the same escaped, sanitized or not: they can fill a
# marker. Others (a SITE_URL with odd characters) render per email.
_FILLABLE_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+(/[A-Za-z0-9._~/-]*)?")
CALENDAR_UID = f"imapart{_NONCE}uid"
CALENDAR_DESCRIPTION = f"imapart{_NONCE}description"
CALENDAR_STAMP = datetime(1901, 1, 1, tzinfo=UTC)


# Parts a renderer keeps of each kind (bodies: one per organization and mission):
# a worker keeps its renderer from batch to batch, across a whole registry.
MAX_KEPT = 2000


def _kept[T](cache: dict, key: tuple, make: Callable[[], T]) -> T:
    if key not in cache:
        if len(cache) >= MAX_KEPT:
            cache.clear()
        cache[key] = make()
    return cache[key]


class AlertRenderer:
    """Renders the emails of one alert's deliveries (one per batch, say), each
    shared part once."""

    def __init__(self, content: AlertContent) -> None:
        self.content = content
        self._bodies: dict[tuple, tuple[str, str]] = {}
        self._frames: dict[tuple, tuple[str, str]] = {}
        self._calendars: dict[tuple, _CalendarTemplate | None] = {}

    def render(self, delivery: AlertDelivery, *, to: str | None = None) -> AlertEmail:
        """The email for one delivery, to the contact's decrypted address unless
        `to` is given (a test send, a preview). Renders; sends nothing."""
        content = self.content
        contact = delivery.contact
        action = content.action
        language = delivery.language or content.original
        version = content.version(language)
        pledge_url = contact_url(contact, "pledge", action)
        # The letter link only where the action asks for a letter of concern.
        letter_url = (
            contact_url(contact, "concern", action)
            if action.kind == Action.Kind.LETTER_OF_CONCERN
            else ""
        )
        details_url = contact_url(contact, "details")
        unsubscribe_url = contact_url(contact, "unsubscribe")
        fillable = all(
            _FILLABLE_URL.fullmatch(url)
            for url in (pledge_url, letter_url or "http://x", details_url,
                        unsubscribe_url)
        )  # fmt: skip
        with translation.override(language):
            values = placeholder_values(
                organization=delivery.organization,
                mission=delivery.mission,
                action=action,
                pledge_url=PLEDGE if fillable else pledge_url,
                letter_url=(LETTER if fillable and letter_url else letter_url),
                language=language,
            )
            if fillable:
                text, html = self._filled(
                    delivery, language, version, values, pledge_url, letter_url,
                    details_url, unsubscribe_url,
                )  # fmt: skip
            else:
                body_text, body_html = render_alert_body(version["body"], values)
                text, html = self._frame_of(
                    delivery, language, version, values, body_text, body_html,
                    pledge_url, letter_url, details_url, unsubscribe_url,
                )  # fmt: skip
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
        return AlertEmail(
            to=address,
            subject=" ".join(fill_text(version["subject"], values).split()),
            text=text,
            html=html,
            ics=self._calendar(delivery, values, pledge_url),
            headers=headers,
        )

    def _filled(
        self, delivery, language, version, values, pledge_url, letter_url,
        details_url, unsubscribe_url,
    ) -> tuple[str, str]:  # fmt: skip
        # The body differs per organization (its name is a placeholder), the frame
        # per mission and language; the links differ per contact.
        body_key = (version["body"], *values.items())
        body = _kept(
            self._bodies, body_key, lambda: render_alert_body(version["body"], values)
        )
        frame_values = {**values, "organization": ORGANIZATION}
        frame_key = (
            language, version["subject"], delivery.mission_abroad,
            *frame_values.items(),
        )  # fmt: skip
        frame = _kept(
            self._frames,
            frame_key,
            lambda: self._frame_of(
                delivery,
                language,
                version,
                frame_values,
                BODY_TEXT,
                BODY_HTML,
                PLEDGE,
                LETTER if letter_url else "",
                DETAILS,
                UNSUBSCRIBE,
            ),  # fmt: skip
        )
        organization = values["organization"]
        text_parts = {
            ORGANIZATION: organization,
            PLEDGE: pledge_url,
            PLEDGE_ENCODED: quote(pledge_url, safe=""),
            LETTER: letter_url,
            LETTER_ENCODED: quote(letter_url, safe=""),
            DETAILS: details_url,
            UNSUBSCRIBE: unsubscribe_url,
        }
        # The templates escape the name in HTML; the links need no escaping.
        html_parts = {**text_parts, ORGANIZATION: escape(organization)}
        text = frame[0].replace(BODY_TEXT, body[0], 1)
        html = frame[1].replace(BODY_HTML, body[1], 1)
        return (
            _PERSONAL.sub(lambda m: text_parts[m.group(0)], text),
            _PERSONAL.sub(lambda m: html_parts[m.group(0)], html),
        )

    def _frame_of(
        self, delivery, language, version, values, body_text, body_html,
        pledge_url, letter_url, details_url, unsubscribe_url,
    ) -> tuple[str, str]:  # fmt: skip
        instructions_text, instructions_html = self.content.instructions
        context = {
            "language": language,
            "subject": fill_text(version["subject"], values),
            "body_text": body_text,
            "body_html": body_html,
            "instructions_text": instructions_text,
            "instructions_html": instructions_html,
            "values": values,
            "mission_abroad": delivery.mission_abroad,
            "at_place": self.content.action.where == Action.Where.PLACE,
            "pledge_url": pledge_url,
            "letter_url": letter_url,
            "details_url": details_url,
            "unsubscribe_url": unsubscribe_url,
            "site_name": settings.SITE_NAME,
        }
        return (
            render_to_string("emails/alert.txt", context),
            render_to_string("emails/alert.html", context),
        )

    def _calendar(
        self, delivery: AlertDelivery, values: dict[str, str], pledge_url: str
    ) -> str:
        action = self.content.action
        start, end, zone_name = action_window(
            action,
            delivery.mission,
            time_zone=getattr(delivery.organization, "time_zone", "") or None,
        )
        location = ", ".join(
            part for part in (values["mission_name"], values["mission_address"]) if part
        )
        coordinates = _coordinates(delivery, action)
        uid = (
            f"alert-{self.content.alert_id}-contact-{delivery.contact_id}"
            f"@{site_domain()}"
        )
        key = (zone_name, start, end, location, coordinates)
        template = _kept(
            self._calendars,
            key,
            lambda: _CalendarTemplate.of(
                _make_calendar(action, start, end, zone_name, location, coordinates)
            ),
        )
        if template is None:
            calendar = _make_calendar(
                action, start, end, zone_name, location, coordinates,
                uid=uid, stamp=timezone.now(), description=pledge_url,
            )  # fmt: skip
            return calendar.to_ical().decode()
        return template.fill(uid=uid, stamp=timezone.now(), description=pledge_url)


def render_delivery_email(
    delivery: AlertDelivery,
    *,
    content: AlertContent | None = None,
    to: str | None = None,
) -> EmailMultiAlternatives:
    """The email for one delivery, to the contact's decrypted address unless `to`
    is given (a test send, a preview). Renders; sends nothing."""
    content = content or AlertContent.of(delivery.alert)
    return AlertRenderer(content).render(delivery, to=to).as_django()


def test_email(alert_email: AlertEmail, *, alert_id: int) -> AlertEmail:
    """The email marked as a test, with a Message-ID of its own: a server that saw
    the test must not take the real email for a copy of it."""
    return replace(
        alert_email,
        subject=_("[Test] %(subject)s") % {"subject": alert_email.subject},
        headers={
            **alert_email.headers,
            "Message-ID": make_msgid(f"alert-{alert_id}-test", domain=site_domain()),
        },
    )


# --- The calendar file ------------------------------------------------------------


def _make_calendar(
    action: Action,
    start: datetime,
    end: datetime | None,
    zone_name: str,
    location: str,
    coordinates: tuple[float | None, float | None],
    *,
    uid: str = CALENDAR_UID,
    stamp: datetime = CALENDAR_STAMP,
    description: str = CALENDAR_DESCRIPTION,
) -> Calendar:
    """An .ics file with the action at its local time (TZID of the mission's zone,
    or the place's), one UID per delivery so that a second copy updates the first."""
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.SITE_NAME}//alerts//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    event.add("summary", action.title)
    if location:
        event.add("location", location)
    latitude, longitude = coordinates
    if latitude is not None and longitude is not None:
        event.add("geo", vGeo((latitude, longitude)))
    event.add("description", description)
    # The datetimes carry ZoneInfo(zone_name): their TZID is that name.
    calendar.add_component(vtimezone(zone_name, start.year))
    calendar.add_component(event)
    return calendar


# The event's personal properties, each a content line of its own in the file.
_PERSONAL_LINES = ("UID", "DTSTAMP", "DESCRIPTION")


@dataclass(frozen=True)
class _CalendarTemplate:
    """A calendar file serialised once with markers in its personal lines."""

    lines: tuple[str, ...]
    slots: dict[str, int]

    @classmethod
    def of(cls, calendar: Calendar) -> _CalendarTemplate | None:
        lines = calendar.to_ical().decode().split("\r\n")
        markers = {
            "UID": f"UID:{CALENDAR_UID}",
            "DTSTAMP": f"DTSTAMP:{CALENDAR_STAMP:%Y%m%dT%H%M%SZ}",
            "DESCRIPTION": f"DESCRIPTION:{CALENDAR_DESCRIPTION}",
        }
        slots = {}
        for name, line in markers.items():
            if lines.count(line) != 1:
                return None  # not where expected: such calendars render per email
            slots[name] = lines.index(line)
        return cls(lines=tuple(lines), slots=slots)

    def fill(self, *, uid: str, stamp: datetime, description: str) -> str:
        # Each line made and folded by icalendar, as in a calendar made whole.
        event = Event()
        event.add("uid", uid)
        event.add("dtstamp", stamp)
        event.add("description", description)
        lines = list(self.lines)
        for name in _PERSONAL_LINES:
            lines[self.slots[name]] = (
                event.content_line(name, event[name]).to_ical().decode()
            )
        return "\r\n".join(lines)


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
