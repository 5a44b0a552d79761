"""Fixtures for alerts: an action at the embassies of Malaysia, member organizations
with contacts, an alert to them, and an SMTP sink that can answer badly."""

from __future__ import annotations

from collections import Counter
from datetime import date, time

import pytest
from django.contrib.auth.models import Permission

from campaigns.models import Action, Alert, AlertVersion, Campaign, Mission
from ima_site.crypto import encrypt
from signatories.models import Contact, Organization
from signatories.services.contacts import contact_email_hash
from tests.factories import make_user
from tests.smtp_sink import Inbox, SmtpSink

# (host country, city, latitude, longitude, zone) of the missions of Malaysia, and
# the organizations' countries: each organization is in a city with a mission.
PLACES = [
    ("PH", "Manila", 14.5995, 120.9842, "Asia/Manila"),
    ("HK", "Hong Kong", 22.3193, 114.1694, "Asia/Hong_Kong"),
    ("GB", "London", 51.5072, -0.1276, "Europe/London"),
    ("US", "New York", 40.7128, -74.0060, "America/New_York"),
]
BODY = (
    "Dear friends of {organization},\n\n"
    "Join the action at **{mission_name}**, {mission_address}, on {date} at {time}.\n\n"
    "[Pledge here]({pledge_link})"
)


def contact_email(number: int) -> str:
    return f"contact{number}@members.example.org"


def make_action(**fields) -> Action:
    campaign = Campaign.objects.create(
        slug="stop-ops-mega",
        title="Stop Ops Mega 3.0",
        target_country="MY",
        status=Campaign.Status.ACTIVE,
    )
    for country, city, latitude, longitude, zone in PLACES:
        Mission.objects.create(
            represented_country="MY",
            host_country=country,
            city=city,
            kind=Mission.Kind.EMBASSY,
            name=f"Embassy of Malaysia in {city}",
            address=f"1 Embassy Road\n{city}",
            latitude=latitude,
            longitude=longitude,
            time_zone=zone,
        )
    fields.setdefault("instructions", "Bring banners. *No* violence.")
    fields.setdefault("kind", Action.Kind.PROTEST)
    return Action.objects.create(
        campaign=campaign,
        slug="day-of-action",
        title="Day of action at the embassies",
        date=date(2026, 12, 10),
        starts=time(10, 0),
        ends=time(12, 0),
        **fields,
    )


def make_contacts(count: int, *, per_organization: int = 10) -> list[Contact]:
    """`count` more contacts of member organizations spread over PLACES, in bulk.

    Numbered on from those already there: contact_email(n) is the n-th contact.
    """
    first_org = Organization.objects.count()
    first = Contact.objects.count()
    organizations = Organization.objects.bulk_create(
        Organization(
            name=f"Migrant Workers Union {n}",
            country=PLACES[n % len(PLACES)][0],
            city=PLACES[n % len(PLACES)][1],
            latitude=PLACES[n % len(PLACES)][2] + 0.01,
            longitude=PLACES[n % len(PLACES)][3] + 0.01,
            time_zone=PLACES[n % len(PLACES)][4],
            is_member=True,
        )
        for n in range(first_org, first_org + -(-count // per_organization))
    )
    return Contact.objects.bulk_create(
        Contact(
            organization=organizations[(n - first) // per_organization],
            name=f"Contact {n}",
            email_hash=contact_email_hash(contact_email(n)),
            email_encrypted=encrypt(contact_email(n)),
            language="en",
        )
        for n in range(first, first + count)
    )


def make_alert(
    *, contacts: int = 20, by=None, body: str = BODY, action=None, **fields
) -> Alert:
    action = action or make_action()
    if contacts:
        make_contacts(contacts)
    alert = Alert.objects.create(action=action, created_by=by, **fields)
    AlertVersion.objects.create(
        alert=alert,
        language="en",
        is_original=True,
        subject="Day of action: 10 December",
        body=body,
    )
    return alert


def give_send_permission(user):
    user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="campaigns", codename="send_alert"
        )
    )
    # has_perm caches the user's permissions: a fresh copy sees the new one.
    return type(user).objects.get(pk=user.pk)


@pytest.fixture
def sender(db):
    """A Publisher with the permission to send alerts."""
    return give_send_permission(make_user("alert-sender", groups=["Publishers"]))


@pytest.fixture
def drafter(db):
    """An Editor who drafted the alert (its created_by)."""
    return make_user("alert-drafter", groups=["Editors"])


class ScriptedInbox(Inbox):
    """Keeps what it receives, except that it first gives the scripted answers
    ("451 try later", "550 no such user") to the addresses named in `answers`."""

    def __init__(self):
        super().__init__()
        self.answers: dict[str, list[str]] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        for recipient in envelope.rcpt_tos:
            if self.answers.get(recipient):
                return self.answers[recipient].pop(0)
        return await super().handle_DATA(server, session, envelope)

    def count_by_recipient(self) -> Counter:
        return Counter(to for tos, _message in self.messages for to in tos)


@pytest.fixture
def sink(settings):
    """A real SMTP server in this process, and the site's mail pointed at it."""
    server = SmtpSink()
    server.inbox = server.controller.handler = ScriptedInbox()
    with server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        yield server


@pytest.fixture
def organizer(db):
    """A Publisher with an email address, who delivers letters."""
    user = make_user("letter-publisher", groups=["Publishers"])
    user.email = "organizer@secretariat.example.org"
    user.save()
    return user


@pytest.fixture
def letter_editor(db):
    user = make_user("letter-editor", groups=["Editors"])
    user.email = "editor@secretariat.example.org"
    user.save()
    return user
