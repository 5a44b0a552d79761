"""Organizers' own time zone and language: the admin's times, their "today" on the
desk, and the emails the site sends them."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ima_site.models import OrganizerProfile


@dataclass(frozen=True)
class Preferences:
    time_zone: zoneinfo.ZoneInfo
    language: str
    # False when the organizer has no profile and gets the site's defaults.
    chosen: bool


def default_preferences() -> Preferences:
    return Preferences(
        time_zone=zoneinfo.ZoneInfo(settings.TIME_ZONE),
        language=settings.LANGUAGE_CODE,
        chosen=False,
    )


def preferences_for(user) -> Preferences:
    """The organizer's zone and language, or the site's when they chose none."""
    if user is None or not user.is_authenticated:
        return default_preferences()
    row = (
        OrganizerProfile.objects.filter(user=user)
        .values_list("time_zone", "language")
        .first()
    )
    if row is None:
        return default_preferences()
    time_zone, language = row
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # A zone the system's tz database no longer knows: the site's, not a 500.
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    if language not in dict(settings.LANGUAGES):
        language = settings.LANGUAGE_CODE
    return Preferences(time_zone=zone, language=language, chosen=True)


def save_organizer_profile(*, user, time_zone: str, language: str) -> OrganizerProfile:
    """Set the organizer's own zone and language; repeating it changes nothing."""
    if time_zone not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(zone)s” is not a time zone.") % {"zone": time_zone})
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("“%(language)s” is not a language of the site.") % {"language": language}
        )
    with transaction.atomic():
        profile, _created = OrganizerProfile.objects.update_or_create(
            user=user, defaults={"time_zone": time_zone, "language": language}
        )
    return profile
