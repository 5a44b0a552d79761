"""Server-rendered SVG charts: no JavaScript, no outside request, a few kilobytes.

Days are the organizer's days: signatures are grouped by date in the current time
zone, and "today" is the current time zone's today. Every text put in a chart is
escaped; numbers are formatted here, never taken as text from a row.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from signatories.models import Signature
from statements.models import Statement

RED = "#a3161b"
GRID = "#ccc"
INK = "#333"


@dataclass
class Bar:
    label: str
    value: int


def _counted(statement: Statement):
    return Signature.objects.counted().filter(statement=statement)


def signatures_by_day(statement: Statement) -> dict[date, int]:
    """Counted signatures per day of the current time zone, days with none left out."""
    zone = timezone.get_current_timezone()
    return dict(
        _counted(statement)
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )


def signatures_per_day(statement: Statement, days: int = 30) -> list[tuple[date, int]]:
    """The last `days` days up to today, each with its number of signatures."""
    today = timezone.localdate()
    since = today - timedelta(days=days - 1)
    by_day = signatures_by_day(statement)
    return [
        (since + timedelta(days=i), by_day.get(since + timedelta(days=i), 0))
        for i in range(days)
    ]


def running_total(statement: Statement) -> list[tuple[date, int]]:
    """The total at the end of each day, from the day before the first signature
    to today."""
    by_day = signatures_by_day(statement)
    today = timezone.localdate()
    if not by_day:
        return []
    start = min(min(by_day), today) - timedelta(days=1)
    end = max(max(by_day), today)
    total, points = 0, []
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        total += by_day.get(day, 0)
        points.append((day, total))
    return points


def signatures_per_country(statement: Statement, top: int = 15) -> list[Bar]:
    from django_countries import countries

    rows = (
        _counted(statement)
        .values("country")
        .annotate(n=Count("id"))
        .order_by("-n", "country")[:top]
    )
    return [
        Bar(label=countries.name(r["country"]) or r["country"], value=r["n"])
        for r in rows
    ]


def chart_summary(statement: Statement) -> dict:
    """The figures the chart page states in words."""
    total = _counted(statement).count()
    offline = statement.offline_counts.aggregate(total=Sum("count"))["total"] or 0
    return {
        "total": total,
        "offline": offline,
        "goal": statement.signature_goal,
        "today": timezone.localdate(),
        "time_zone": timezone.get_current_timezone_name(),
    }


# --- Drawing -----------------------------------------------------------------------


def nice_ceiling(value: float) -> tuple[int, int]:
    """A round top for the value axis and the step between its ticks (1, 2, 5 x 10^n),
    so that the axis has at most five steps."""
    if value <= 0:
        return 1, 1
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * 5 >= value:
                top = -(-int(value) // step) * step
                return max(top, step), step
        magnitude *= 10


def day_ticks(first: date, last: date, most: int = 7) -> list[date]:
    """Days to label on a date axis: evenly spaced, at most `most`, the last day
    always and the first when it fits."""
    span = (last - first).days
    if span <= 0:
        return [first]
    for every in (1, 2, 7, 14, 28, 56, 91, 182, 364):
        if span // every + 1 <= most:
            break
    # Counted back from the last day: today is always labelled.
    ticks = [last - timedelta(days=i) for i in range(0, span + 1, every)][::-1]
    if (ticks[0] - first).days * 2 >= every:
        ticks.insert(0, first)
    return ticks


def day_label(day: date, span_days: int) -> str:
    # Long spans need the year; short ones read better as "3 Mar".
    return date_format(day, "M Y" if span_days > 300 else "j M")


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


def _open(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]


def _empty(title: str, width: int = 720, height: int = 60) -> str:
    return "".join(
        [
            *_open(width, height, title),
            f'<text x="0" y="30" font-size="13" fill="{INK}">'
            f"{escape(_('No signatures yet.'))}</text></svg>",
        ]
    )


def _value_axis(parts: list[str], *, top: int, step: int, left: int, right: int,
                y_of) -> None:  # fmt: skip
    for tick in range(0, top + 1, step):
        y = y_of(tick)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" '
            f'stroke="{GRID}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{INK}">{escape(_number(tick))}</text>'
        )


def _date_axis(parts: list[str], *, days: list[date], bottom: float, x_of) -> None:
    span = (days[-1] - days[0]).days
    for day in day_ticks(days[0], days[-1]):
        x = x_of(day)
        # The last label ends at its tick, so the chart's edge does not cut it.
        anchor = "end" if day == days[-1] else "middle"
        parts.append(
            f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 5}" '
            f'stroke="{INK}"/><text x="{x:.1f}" y="{bottom + 18}" font-size="11" '
            f'text-anchor="{anchor}" fill="{INK}">{escape(day_label(day, span))}</text>'
        )


def total_over_time(
    points: list[tuple[date, int]], *, goal: int | None, title: str,
    width: int = 720, height: int = 280,
) -> str:  # fmt: skip
    """The running total as a line over dated days, with the goal as a dashed line."""
    if not points:
        return _empty(title)
    left, right, top_margin, bottom_margin = 56, width - 16, 28, 36
    bottom = height - bottom_margin
    total = points[-1][1]
    top, step = nice_ceiling(max(total, goal or 0))
    first, last = points[0][0], points[-1][0]
    span = max((last - first).days, 1)

    def x_of(day: date) -> float:
        return left + (right - left) * (day - first).days / span

    def y_of(value: float) -> float:
        return bottom - (bottom - top_margin) * value / top

    parts = _open(width, height, title)
    _value_axis(parts, top=top, step=step, left=left, right=right, y_of=y_of)
    line = " ".join(f"{x_of(day):.1f},{y_of(value):.1f}" for day, value in points)
    area = f"{x_of(first):.1f},{bottom} {line} {x_of(last):.1f},{bottom}"
    parts.append(
        f'<polygon points="{area}" fill="{RED}" fill-opacity="0.12"/>'
        f'<polyline points="{line}" fill="none" stroke="{RED}" stroke-width="2"/>'
    )
    for day, value in points:
        parts.append(
            f'<circle cx="{x_of(day):.1f}" cy="{y_of(value):.1f}" r="6" '
            f'fill="transparent"><title>{escape(date_format(day, "DATE_FORMAT"))}: '
            f"{escape(_number(value))}</title></circle>"
        )
    if goal:
        y = y_of(goal)
        goal_text = _("Goal: %(goal)s") % {"goal": _number(goal)}
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="{INK}" '
            f'stroke-width="1.5" stroke-dasharray="6 4" class="goal"/>'
            f'<text x="{right}" y="{y - 5:.1f}" font-size="12" text-anchor="end" '
            f'fill="{INK}" class="goal-label">{escape(goal_text)}</text>'
        )
    total_text = _("Total: %(total)s") % {"total": _number(total)}
    parts.append(
        f'<text x="{left}" y="16" font-size="13" font-weight="bold" fill="{INK}" '
        f'class="total">{escape(total_text)}</text>'
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{INK}"/>'
    )
    _date_axis(parts, days=[first, last], bottom=bottom, x_of=x_of)
    parts.append("</svg>")
    return "".join(parts)


def vertical_bars(
    days: list[tuple[date, int]], *, title: str, width: int = 720, height: int = 240
) -> str:
    """A column per day, on a dated axis, with the value axis on the left."""
    if not days:
        return _empty(title)
    left, right, top_margin, bottom_margin = 56, width - 16, 12, 36
    bottom = height - bottom_margin
    top, step = nice_ceiling(max(value for _day, value in days))
    slot = (right - left) / len(days)
    first = days[0][0]

    def x_of(day: date) -> float:
        return left + slot * ((day - first).days + 0.5)

    def y_of(value: float) -> float:
        return bottom - (bottom - top_margin) * value / top

    parts = _open(width, height, title)
    _value_axis(parts, top=top, step=step, left=left, right=right, y_of=y_of)
    for day, value in days:
        y = y_of(value)
        parts.append(
            f'<rect x="{x_of(day) - slot / 2 + 1:.1f}" y="{y:.1f}" '
            f'width="{max(slot - 2, 1):.1f}" height="{bottom - y:.1f}" fill="{RED}">'
            f"<title>{escape(date_format(day, 'DATE_FORMAT'))}: "
            f"{escape(_number(value))}</title></rect>"
        )
    parts.append(
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{INK}"/>'
    )
    _date_axis(parts, days=[first, days[-1][0]], bottom=bottom, x_of=x_of)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(bars: list[Bar], *, title: str, width: int = 720) -> str:
    """Rows, one per bar, label on the left, value at the end."""
    if not bars:
        return _empty(title)
    row, label_width = 22, 200
    height = row * len(bars) + 4
    top = max(bar.value for bar in bars) or 1
    span = width - label_width - 70
    parts = _open(width, height, title)
    for i, bar in enumerate(bars):
        y = i * row
        w = span * bar.value / top
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12" fill="{INK}">'
            f"{escape(bar.label)}</text>"
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="{RED}"><title>{escape(bar.label)}: {escape(_number(bar.value))}'
            f'</title></rect><text x="{label_width + w + 6:.1f}" y="{y + 15}" '
            f'font-size="12" fill="{INK}">{escape(_number(bar.value))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def statement_charts(statement: Statement) -> list[tuple[str, SafeString]]:
    """The chart page's charts, each with its heading: every text in them escaped."""
    charts = [
        (
            _("Total over time"),
            total_over_time(
                running_total(statement),
                goal=statement.signature_goal,
                title=_("Signatures in total, day by day"),
            ),
        ),
        (
            _("Signatures per day, last 30 days"),
            vertical_bars(signatures_per_day(statement), title=_("Signatures per day")),
        ),
        (
            _("Signatures by country"),
            horizontal_bars(
                signatures_per_country(statement), title=_("Signatures by country")
            ),
        ),
    ]
    # Built above from escaped text and numbers only.
    return [(heading, mark_safe(svg)) for heading, svg in charts]  # noqa: S308
