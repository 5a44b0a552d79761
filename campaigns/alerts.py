"""Writing alerts: a draft with its language versions and its audience.

One service for every way an organizer writes an alert (the API, the admin), so
that the rules on the text hold whichever way it came in: one original version,
one version per language, subjects on one line, no unknown placeholder. Sending
is campaigns.sending's part; nothing here sends.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ima_site.models import record_audit_entry

from .models import Action, Alert, AlertVersion
from .placeholders import PLACEHOLDERS, unknown_placeholders
from .sending import AlertError

SUBJECT_MAX_LENGTH = AlertVersion._meta.get_field("subject").max_length or 200
BODY_MAX_LENGTH = 20_000
# What "blank" means for a subject or a body: nothing but these.
BLANK = " \t\n\r"


@dataclass(frozen=True)
class VersionText:
    """The text of an alert in one language."""

    language: str
    subject: str
    body: str


@dataclass(frozen=True)
class Audience:
    """Who an alert goes to; an empty tuple means any."""

    countries: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    members_only: bool = True
    # A reminder: less the organizations that sent their letter of concern.
    only_without_letter: bool = False


def text_problem(text: str, *, one_line: bool) -> str:
    """What is wrong with a subject (one_line) or a body, in words; "" when fine.

    The API's schema states the same rule as a pattern (serializers_alerts), and a
    test holds the two together.
    """
    if "\x00" in text:
        return _("Null characters are not allowed.")
    if one_line and ("\n" in text or "\r" in text):
        return _("Write the subject on one line.")
    if not text.strip(BLANK):
        return _("This may not be blank.")
    unknown = unknown_placeholders(text)
    if unknown:
        return _(
            "Unknown placeholders: %(unknown)s. The placeholders are %(known)s; "
            "write a brace itself as {{ or }}."
        ) % {
            "unknown": ", ".join("{" + name + "}" for name in unknown),
            "known": ", ".join("{" + name + "}" for name in PLACEHOLDERS),
        }
    return ""


def _check_versions(versions: Sequence[VersionText]) -> None:
    if not versions:
        raise AlertError(_("An alert needs at least one version of its text."))
    seen: set[str] = set()
    for version in versions:
        if not version.language or len(version.language) > 8:
            raise AlertError(
                _("“%(language)s” is not a language code.")
                % {"language": version.language}
            )
        if version.language in seen:
            raise AlertError(
                _("There are two versions in %(language)s: keep one.")
                % {"language": version.language}
            )
        seen.add(version.language)
        if len(version.subject) > SUBJECT_MAX_LENGTH:
            raise AlertError(
                _(
                    "The subject of the %(language)s version is longer than "
                    "%(n)d characters."
                )
                % {"language": version.language, "n": SUBJECT_MAX_LENGTH}
            )
        problem = text_problem(version.subject, one_line=True)
        if problem:
            raise AlertError(
                _("The subject of the %(language)s version: %(problem)s")
                % {"language": version.language, "problem": problem}
            )
        problem = text_problem(version.body, one_line=False)
        if problem:
            raise AlertError(
                _("The body of the %(language)s version: %(problem)s")
                % {"language": version.language, "problem": problem}
            )


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def create_alert(
    *, action: Action, versions: Sequence[VersionText], audience: Audience, by
) -> Alert:
    """Write a draft alert for the action: its versions (the first is the original),
    its audience, and the audit entry, in one transaction. Sends nothing.

    Raises PermissionDenied without campaigns.add_alert, AlertError naming what is
    wrong with the text (nothing is written then).
    """
    if by is not None and not by.has_perm("campaigns.add_alert"):
        raise PermissionDenied(_("You may not write alerts."))
    _check_versions(versions)
    with transaction.atomic():
        alert = Alert.objects.create(
            action=action,
            countries=_unique(code.upper() for code in audience.countries),
            sectors=_unique(audience.sectors),
            languages=_unique(code.lower() for code in audience.languages),
            members_only=audience.members_only,
            only_without_letter=audience.only_without_letter,
            created_by=by if by is not None and by.is_authenticated else None,
        )
        AlertVersion.objects.bulk_create(
            AlertVersion(
                alert=alert,
                language=version.language,
                is_original=number == 0,
                subject=version.subject,
                body=version.body,
            )
            for number, version in enumerate(versions)
        )
        record_audit_entry(
            actor=by,
            action="alert.create",
            obj=alert,
            details={
                "action": action.pk,
                "languages": [version.language for version in versions],
                "countries": alert.countries,
                "sectors": alert.sectors,
                "audience_languages": alert.languages,
                "members_only": alert.members_only,
            },
        )
    return alert
