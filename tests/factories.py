"""A few factories for the tests; the personas are fixtures in conftest.py."""

import time
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ima_site.roles import ensure_roles
from statements.models import Link, MediaContact, Statement, StatementVersion, Topic


def make_user(
    username: str, *, groups=(), staff: bool = True, two_factor: bool | None = None
):
    """A user; staff get a confirmed authenticator app unless two_factor=False.

    `client.force_login` then gives a session past the second step too (see the
    fixture in conftest.py); a login through the admin's form asks for
    totp_code(user).
    """
    user = get_user_model().objects.create_user(
        username=username, password="a-long-test-password-1", is_staff=staff
    )
    # Transactional tests empty the tables, groups made by migrations included.
    ensure_roles(Group, Permission)
    user.groups.set(Group.objects.filter(name__in=groups))
    if two_factor or (two_factor is None and staff):
        TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)
    return user


def totp_code(user) -> str:
    """The code the user's authenticator app shows now."""
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    oath = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    oath.time = time.time()
    return f"{oath.token():0{device.digits}d}"


def make_statement(
    *,
    slug: str = "a-statement",
    status: str = "published",
    title: str = "Stop the raids on migrant workers",
    language: str = "en",
    body: str = "The raids must stop.\n\nWe stand with **every** worker.",
    countries=("MY",),
    topics=("crackdown",),
    translations: dict[str, str] | None = None,
    links=0,
    contacts=0,
    **fields,
) -> Statement:
    version_fields = {k: fields.pop(k) for k in ("subtitle", "summary") if k in fields}
    fields.setdefault("issued_on", date(2026, 7, 1))
    fields.setdefault("dateline", "Kuala Lumpur, Malaysia")
    if status in ("published", "archived", "scheduled"):
        fields.setdefault("publish_at", timezone.now())
    statement = Statement.objects.create(
        slug=slug, status=status, countries=list(countries), **fields
    )
    statement.topics.set(
        [
            Topic.objects.get_or_create(slug=t, defaults={"name": t.title()})[0]
            for t in topics
        ]
    )
    StatementVersion.objects.create(
        statement=statement,
        language=language,
        is_original=True,
        title=title,
        body=body,
        **version_fields,
    )
    for code, translated_title in (translations or {}).items():
        StatementVersion.objects.create(
            statement=statement, language=code, title=translated_title, body="…"
        )
    for i in range(links):
        Link.objects.create(
            statement=statement, title=f"Report {i}", url=f"https://example.org/{i}"
        )
    for i in range(contacts):
        MediaContact.objects.create(
            statement=statement,
            name=f"Contact {i}",
            team="Media" if i % 2 else "Legal",
            phone="+60 555 0100",
            email=f"press{i}@example.org",
        )
    return statement
