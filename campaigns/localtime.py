"""The local wall-clock time of an action, where it happens.

An action at each member's nearest mission happens at the same wall-clock time in
every city ("10 December, 10:00-12:00 local time"): the times are read in the
mission's zone. An action at one named place is read in that place's zone.

Days when the clocks change: a wall time that does not exist (inside the hour
skipped in spring) is moved forward by the length of the gap, as a clock that
was not changed would show it (02:30 becomes 03:30); a wall time that happens
twice (inside the hour repeated in autumn) is the first of the two.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.utils import formats, translation
from django.utils.translation import gettext


def zone(name: str | None) -> ZoneInfo:
    """The zone of that name; the site's zone for a blank or unknown one."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(settings.TIME_ZONE)


def local_moment(day: date, wall: time, zone_name: str | None) -> datetime:
    """The aware moment when clocks in the zone show `wall` on `day` (see above)."""
    tz = zone(zone_name)
    # fold=0 takes the offset in force before a change: inside a skipped hour that
    # is the earlier offset, which lands after the gap once normalised; inside a
    # repeated hour it is the first occurrence.
    naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
    return naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def action_zone_name(action, mission=None, *, time_zone: str | None = None) -> str:
    """The zone the action's times are read in.

    A named place: its zone. The nearest mission: the mission's zone; without a
    mission, `time_zone` (the organization's), else the site's.
    """
    if action.where == "place" and action.place_time_zone:
        return str(zone(action.place_time_zone).key)
    if mission is not None and mission.time_zone:
        return str(zone(mission.time_zone).key)
    return str(zone(time_zone).key)


def action_window(
    action, mission=None, *, time_zone: str | None = None
) -> tuple[datetime, datetime | None, str]:
    """Aware start and end (None when open-ended) of the action, and the zone name.

    Both are in that zone, so their clock times are the local ones. Subtract or
    compare them after `.astimezone(UTC)`: Python subtracts two times of one zone
    by their wall clocks, across a change of offset too.
    """
    name = action_zone_name(action, mission, time_zone=time_zone)
    start = local_moment(action.date, action.starts, name)
    end = local_moment(action.date, action.ends, name) if action.ends else None
    return start, end, name


def format_action_window(
    action, mission=None, *, language: str, time_zone: str | None = None
) -> tuple[str, str]:
    """("10 December 2026", "10:00-12:00 local time") in the language given.

    The times are the ones clocks show there, after the rule for skipped hours.
    """
    start, end, _name = action_window(action, mission, time_zone=time_zone)
    with translation.override(language):
        day = formats.date_format(start, "DATE_FORMAT")
        hours = start.strftime("%H:%M")
        if end is not None:
            hours = f"{hours}–{end.strftime('%H:%M')}"
        when = gettext("%(hours)s local time") % {"hours": hours}
    return day, when
