"""Server-rendered SVG charts: no JavaScript, no outside request, a few kilobytes."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils.html import escape

from signatories.models import Signature
from statements.models import Statement


@dataclass
class Bar:
    label: str
    value: int


def signatures_per_day(statement: Statement, days: int = 30) -> list[Bar]:
    since = date.today() - timedelta(days=days - 1)
    rows = dict(
        Signature.objects.counted()
        .filter(statement=statement, created_at__date__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return [
        Bar(label=(since + timedelta(days=i)).strftime("%d %b"),
            value=rows.get(since + timedelta(days=i), 0))
        for i in range(days)
    ]  # fmt: skip


def signatures_per_country(statement: Statement, top: int = 15) -> list[Bar]:
    from django_countries import countries

    rows = (
        Signature.objects.counted()
        .filter(statement=statement)
        .values("country")
        .annotate(n=Count("id"))
        .order_by("-n")[:top]
    )
    return [
        Bar(label=countries.name(r["country"]) or r["country"], value=r["n"])
        for r in rows
    ]


def vertical_bars(bars: list[Bar], *, title: str, width=720, height=220) -> str:
    """Columns, one per bar, with every fifth label under them."""
    top = max((bar.value for bar in bars), default=0) or 1
    step = width / max(len(bars), 1)
    plot = height - 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        h = plot * bar.value / top
        x = i * step
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{plot - h:.1f}" width="{step - 2:.1f}" '
            f'height="{h:.1f}" fill="#a3161b"><title>{escape(bar.label)}: '
            f"{bar.value}</title></rect>"
        )
        if i % 5 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 12}" font-size="11">'
                f"{escape(bar.label)}</text>"
            )
    parts.append(f'<text x="0" y="12" font-size="11">{top}</text></svg>')
    return "".join(parts)


def horizontal_bars(bars: list[Bar], *, title: str, width=720) -> str:
    """Rows, one per bar, label on the left, value at the end."""
    row, label_width = 22, 200
    height = row * max(len(bars), 1) + 4
    top = max((bar.value for bar in bars), default=0) or 1
    span = width - label_width - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for i, bar in enumerate(bars):
        y = i * row
        w = span * bar.value / top
        parts.append(
            f'<text x="0" y="{y + 15}" font-size="12">{escape(bar.label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row - 6}" '
            f'fill="#a3161b"/><text x="{label_width + w + 6:.1f}" y="{y + 15}" '
            f'font-size="12">{bar.value}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
