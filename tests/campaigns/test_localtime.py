"""Action times are the wall-clock times at each mission or place, DST included."""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from campaigns.localtime import action_window, format_action_window, local_moment


def action(day, starts, ends=None, **fields):
    values = {"where": "nearest_mission", "place_time_zone": "", "title": "Protest"}
    values.update(fields)
    return SimpleNamespace(date=day, starts=starts, ends=ends, **values)


def mission(zone):
    return SimpleNamespace(time_zone=zone)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_the_same_wall_clock_time_is_a_different_moment_at_each_mission():
    protest = action(date(2026, 12, 10), time(10), time(12))

    kl_start, kl_end, kl_zone = action_window(protest, mission("Asia/Kuala_Lumpur"))
    ny_start, _, ny_zone = action_window(protest, mission("America/New_York"))

    assert (kl_zone, ny_zone) == ("Asia/Kuala_Lumpur", "America/New_York")
    assert kl_start == utc(2026, 12, 10, 2) and kl_end == utc(2026, 12, 10, 4)
    assert ny_start == utc(2026, 12, 10, 15)
    assert (kl_start.hour, ny_start.hour) == (10, 10)


def test_a_named_place_uses_its_own_zone_whatever_the_mission():
    rally = action(
        date(2026, 7, 10), time(9), where="place", place_time_zone="Asia/Manila"
    )

    start, end, zone = action_window(rally, mission("Europe/London"))

    assert zone == "Asia/Manila"
    assert start == utc(2026, 7, 10, 1)
    assert end is None


def test_london_in_summer_and_winter_is_an_hour_apart_in_utc():
    summer, _, _ = action_window(action(date(2026, 7, 10), time(10)), mission("Europe/London"))  # fmt: skip
    winter, _, _ = action_window(action(date(2026, 12, 10), time(10)), mission("Europe/London"))  # fmt: skip

    assert summer == utc(2026, 7, 10, 9)
    assert winter == utc(2026, 12, 10, 10)


def test_an_action_across_the_spring_change_lasts_one_hour_less():
    # New York, 8 March 2026: at 02:00 the clocks go to 03:00.
    night = action(date(2026, 3, 8), time(1), time(4))

    start, end, _ = action_window(night, mission("America/New_York"))

    assert start == utc(2026, 3, 8, 6)  # 01:00 EST
    assert end == utc(2026, 3, 8, 8)  # 04:00 EDT
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=2)


def test_a_time_in_the_skipped_hour_moves_forward_by_the_gap():
    # London, 29 March 2026: at 01:00 the clocks go to 02:00; 01:30 is 02:30 BST.
    start = local_moment(date(2026, 3, 29), time(1, 30), "Europe/London")
    # New York, 8 March 2026: 02:00 goes to 03:00; 02:30 is 03:30 EDT.
    new_york = local_moment(date(2026, 3, 8), time(2, 30), "America/New_York")

    assert start == utc(2026, 3, 29, 1, 30)
    assert (start.hour, start.minute) == (2, 30)
    assert start.utcoffset() == timedelta(hours=1)
    assert new_york == utc(2026, 3, 8, 7, 30)
    assert (new_york.hour, new_york.minute) == (3, 30)


def test_a_time_in_the_repeated_hour_is_the_first_of_the_two():
    # 01:30 happens twice in London on 25 October 2026: first in BST (00:30 UTC).
    start = local_moment(date(2026, 10, 25), time(1, 30), "Europe/London")
    new_york = local_moment(date(2026, 11, 1), time(1, 30), "America/New_York")

    # (Python never finds a time in a repeated hour equal to one in another zone:
    # compare in UTC.)
    assert start.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert (start.hour, start.minute, start.fold) == (1, 30, 0)
    assert new_york.astimezone(UTC) == utc(2026, 11, 1, 5, 30)  # 01:30 EDT, not EST


def test_an_action_across_the_autumn_change_lasts_one_hour_more():
    night = action(date(2026, 10, 25), time(0), time(3))

    start, end, _ = action_window(night, mission("Europe/London"))

    assert start == utc(2026, 10, 24, 23)  # 00:00 BST
    assert end == utc(2026, 10, 25, 3)  # 03:00 GMT
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=4)


def test_zones_without_dst_keep_their_offset_on_others_change_days():
    for day in (date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25)):
        kl, _, _ = action_window(action(day, time(10)), mission("Asia/Kuala_Lumpur"))
        tokyo, _, _ = action_window(action(day, time(10)), mission("Asia/Tokyo"))
        assert kl == datetime.combine(day, time(2), tzinfo=UTC)
        assert tokyo == datetime.combine(day, time(1), tzinfo=UTC)


def test_a_southern_zone_changes_in_the_other_season():
    # Santiago moves its clocks back on 5 April 2026 (00:00 -> 23:00 the day before).
    before, _, _ = action_window(action(date(2026, 4, 4), time(10)), mission("America/Santiago"))  # fmt: skip
    after, _, _ = action_window(action(date(2026, 4, 6), time(10)), mission("America/Santiago"))  # fmt: skip

    assert before == utc(2026, 4, 4, 13)
    assert after == utc(2026, 4, 6, 14)


def test_without_a_mission_the_organizations_zone_is_used_then_the_sites(settings):
    settings.TIME_ZONE = "UTC"
    protest = action(date(2026, 12, 10), time(10))

    _, _, zone = action_window(protest, None, time_zone="Europe/Madrid")
    _, _, fallback = action_window(protest, None)
    _, _, unknown = action_window(protest, mission("Mars/Olympus_Mons"))

    assert zone == "Europe/Madrid"
    assert fallback == "UTC"
    assert unknown == "UTC"


def test_the_window_reads_as_the_date_and_hours_in_the_recipients_language():
    protest = action(date(2026, 12, 10), time(10), time(12))

    day, hours = format_action_window(
        protest, mission("Asia/Kuala_Lumpur"), language="en"
    )
    spanish_day, _ = format_action_window(
        protest, mission("Asia/Kuala_Lumpur"), language="es"
    )

    assert "10" in day and "2026" in day and "Dec" in day
    assert "diciembre" in spanish_day
    assert hours == "10:00–12:00 local time"


def test_the_hours_shown_for_a_skipped_hour_are_the_ones_on_the_clock():
    night = action(date(2026, 3, 29), time(1, 30), time(4))

    _, hours = format_action_window(night, mission("Europe/London"), language="en")

    assert hours == "02:30–04:00 local time"
