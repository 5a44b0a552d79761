"""A world map shaded by signatures per country, as a small server-rendered SVG.

Country outlines come from the pygal_maps_world package's world map (ISO 3166-1
alpha-2 classes on each country's group). Its curves are turned into polylines,
scaled down and thinned once per process, so the map weighs tens of kilobytes.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 - a file of an installed package
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

from django.utils.html import escape

SCALE = 0.4  # the source map is 2475 x 1388
TOLERANCE = 0.8  # drop points closer than this to the last kept one
SVG = "{http://www.w3.org/2000/svg}"
TOKEN = re.compile(r"[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")
SHADES = ["#f3e3e3", "#e3b3b4", "#cf7d80", "#b9464b", "#a3161b", "#6e0e12"]

# The source map is a Robinson projection centred on 10°E: fitted on small countries
# and far coasts (Singapore, Andorra, Mauritius, Iceland, Cape Horn, East Cape), it
# places them within a pixel of the outlines. Robinson's table, every 5° of latitude:
# the parallel's length and its distance from the equator.
ROBINSON_X = [
    1.0, 0.9986, 0.9954, 0.99, 0.9822, 0.973, 0.96, 0.9427, 0.9216, 0.8962, 0.8679,
    0.835, 0.7986, 0.7597, 0.7186, 0.6732, 0.6213, 0.5722, 0.5322,
]  # fmt: skip
ROBINSON_Y = [
    0.0, 0.062, 0.124, 0.186, 0.248, 0.31, 0.372, 0.434, 0.4958, 0.5571, 0.6176,
    0.6769, 0.7346, 0.7903, 0.8435, 0.8936, 0.9394, 0.9761, 1.0,
]  # fmt: skip
CENTRAL_MERIDIAN = 10.0
RADIUS = 515.4  # in the source map's units
ORIGIN = (1277.3, 684.4)  # where the central meridian crosses the equator


def _polylines(d: str) -> list[list[tuple[float, float]]]:
    """The outline of an SVG path as closed polylines (curves by their ends)."""
    tokens = TOKEN.findall(d)
    shapes: list[list[tuple[float, float]]] = []
    x = y = 0.0
    command = ""
    i = 0
    counts = {"m": 2, "l": 2, "t": 2, "h": 1, "v": 1, "c": 6, "s": 4, "q": 4, "a": 7}
    while i < len(tokens):
        if tokens[i].isalpha():
            command = tokens[i]
            i += 1
            if command in "zZ":
                continue
        n = counts[command.lower()]
        args = [float(t) for t in tokens[i : i + n]]
        i += n
        relative = command.islower()
        kind = command.lower()
        if kind == "h":
            x = x + args[0] if relative else args[0]
        elif kind == "v":
            y = y + args[0] if relative else args[0]
        else:
            dx, dy = args[-2], args[-1]
            x, y = (x + dx, y + dy) if relative else (dx, dy)
        if kind == "m":
            shapes.append([(x, y)])
            command = "l" if relative else "L"  # further pairs are line-tos
        elif shapes:
            shapes[-1].append((x, y))
    return shapes


def _thin(points: list[tuple[float, float]]) -> list[tuple[int, int]]:
    kept = [points[0]]
    for point in points[1:]:
        last = kept[-1]
        if abs(point[0] - last[0]) + abs(point[1] - last[1]) >= TOLERANCE / SCALE:
            kept.append(point)
    return [(round(px * SCALE), round(py * SCALE)) for px, py in kept]


@lru_cache(maxsize=1)
def country_paths() -> dict[str, str]:
    """ISO code -> compact path data, computed once per process."""
    source = files("pygal_maps_world").joinpath("worldmap.svg").read_bytes()
    root = ET.fromstring(source)  # noqa: S314 - a file of an installed package
    paths: dict[str, str] = {}
    for group in root.iter(f"{SVG}g"):
        classes = (group.get("class") or "").split()
        if "country" not in classes:
            continue
        code = classes[0].upper()
        parts = []
        for path in group.iter(f"{SVG}path"):
            for shape in _polylines(path.get("d", "")):
                points = _thin(shape)
                if len(points) < 3:
                    continue
                first, *rest = points
                parts.append(
                    f"M{first[0]} {first[1]}"
                    + "".join(
                        f"l{b[0] - a[0]} {b[1] - a[1]}"
                        for a, b in zip(points, rest, strict=False)
                    )
                    + "z"
                )
        if parts:
            paths[code] = "".join(parts)
    return paths


def _robinson(table: list[float], latitude: float) -> float:
    step = min(abs(latitude), 90.0) / 5
    index = min(int(step), len(table) - 2)
    return table[index] + (table[index + 1] - table[index]) * (step - index)


def project(latitude: float, longitude: float) -> tuple[float, float]:
    """Where a point on Earth falls on the drawn map (after SCALE)."""
    # Longitudes past the map's edge (170°W to 180°) come back in from the other side.
    offset = (longitude - CENTRAL_MERIDIAN + 180) % 360 - 180
    x = ORIGIN[0] + RADIUS * 0.8487 * _robinson(ROBINSON_X, latitude) * math.radians(
        offset
    )
    y = ORIGIN[1] - RADIUS * 1.3523 * math.copysign(
        _robinson(ROBINSON_Y, latitude), latitude
    )
    return round(x * SCALE, 1), round(y * SCALE, 1)


def shade(count: int | None, top: int) -> str:
    if count is None:
        return SHADES[0]  # hidden counts all look alike, whatever they are
    if count <= 0 or top <= 0:
        return "#e6e6e6"
    step = min(len(SHADES) - 1, int((len(SHADES) - 1) * count / top + 0.999))
    return SHADES[step]


def render_map(
    counts: dict[str, int | None],
    *,
    title: str,
    hidden_label: str,
    names: dict[str, str],
    points: Sequence[tuple[float, float, str]] = (),
) -> str:
    """The SVG; a country whose count is None (hidden) shows hidden_label.

    Points (latitude, longitude, label) are drawn as dots over the countries.

    The caller decides what is hidden (small counts, and what would let them be
    worked out): the map shows no more than the list on the page.
    """
    top = max((count for count in counts.values() if count is not None), default=0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {round(2475 * SCALE)} '
        f'{round(1388 * SCALE)}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for code, d in country_paths().items():
        count = counts.get(code, 0)
        # A country without a count to show is named alone: "0" would be untrue
        # of a country left out to protect a few signers.
        title = names.get(code, code)
        if count is None:
            title = f"{title}: {hidden_label}"
        elif count > 0:
            title = f"{title}: {count}"
        parts.append(
            f'<path d="{d}" fill="{shade(count, top)}" stroke="#fff" stroke-width=".4">'
            f"<title>{escape(title)}</title></path>"
        )
    for latitude, longitude, label in points:
        x, y = project(latitude, longitude)
        parts.append(
            f'<circle cx="{x}" cy="{y}" r="4" fill="#a3161b" stroke="#fff" '
            f'stroke-width="1.2"><title>{escape(label)}</title></circle>'
        )
    parts.append("</svg>")
    return "".join(parts)
