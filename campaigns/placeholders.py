"""Placeholders in alert bodies: `{mission_name}` becomes each recipient's own.

The body is Markdown written by an organizer; the values come from the registry
and the directory, which anyone who ever imported a CSV could have filled. So a
value is always text: it is put in after the Markdown is rendered (an
organization called `**bold**` is not bold) and HTML-escaped before the whole
is sanitized like a statement (an organization called `<script>` is shown, not
run; a value used as a link's address must still pass the URL scheme list).

Syntax: `{name}` is a placeholder; `{{` and `}}` write a literal `{` and `}`.
Any other word in single braces is an unknown placeholder: an error shown
before sending, never a broken email.
"""

from __future__ import annotations

import html
import re
import secrets
from functools import lru_cache
from html.parser import HTMLParser
from urllib.parse import quote, urlencode

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from statements.markdown import render_markdown, sanitize_html

from .localtime import action_zone_name, format_action_window

# name -> description (lazy: shown in the organizer's language)
PLACEHOLDERS: dict[str, str | Promise] = {
    "organization": _("The recipient's organization."),
    "action": _("The action's title."),
    "mission_name": _(
        "The recipient's mission of the target country (the nearest, or the one "
        "chosen for the organization); for an action at a named place, the place."
    ),
    "mission_address": _("Its street address, on one line."),
    "mission_city": _("Its city."),
    "mission_map_link": _("A link to it on OpenStreetMap."),
    "date": _("The action's date, local to the mission or place."),
    "time": _("The action's start and end, local time: 10:00–12:00 local time."),
    "time_zone": _("The zone those times are in: Europe/London."),
    "pledge_link": _("The recipient's personal link to pledge and report back."),
    "letter_link": _(
        "The recipient's personal link to write and send their letter of concern "
        "(for an action of that kind; empty for others)."
    ),
}

# `{{` and `}}` first, so that `{{name}}` is the literal text `{name}`.
TOKEN = re.compile(r"\{\{|\}\}|\{([^{}\n]*)\}")


class UnknownPlaceholderError(ValueError):
    """The text names placeholders that do not exist."""

    def __init__(self, names: list[str]):
        self.names = names
        super().__init__(
            "Unknown placeholder(s): " + ", ".join("{" + name + "}" for name in names)
        )


# Placeholders that mean something only for one kind of action.
KIND_ONLY = {"letter_link": "letter_of_concern"}


def placeholders_in(text: str) -> list[str]:
    """The known placeholders the text uses, in order, once each."""
    names: list[str] = []
    for match in TOKEN.finditer(text or ""):
        name = match.group(1)
        if name in PLACEHOLDERS and name not in names:
            names.append(name)
    return names


def misplaced_placeholders(text: str, action_kind: str) -> list[str]:
    """Placeholders the text uses that are empty for this kind of action."""
    return [
        name
        for name in placeholders_in(text)
        if KIND_ONLY.get(name, action_kind) != action_kind
    ]


def unknown_placeholders(text: str) -> list[str]:
    """Names in single braces that are not placeholders, in order, once each."""
    unknown: list[str] = []
    for match in TOKEN.finditer(text or ""):
        name = match.group(1)
        if name is not None and name not in PLACEHOLDERS and name not in unknown:
            unknown.append(name)
    return unknown


def fill_text(text: str, values: dict[str, str]) -> str:
    """Plain text (a subject line) with its placeholders filled and `{{`, `}}` made
    single braces. Unknown names are refused before sending; here they go empty."""

    def fill(match: re.Match) -> str:
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        return values.get(match.group(1), "")

    return TOKEN.sub(fill, text or "")


def render_alert_body(markdown_text: str, values: dict[str, str]) -> tuple[str, str]:
    """(plain text, sanitized HTML) of the body with the values as text.

    Raises UnknownPlaceholderError naming every unknown placeholder. A known
    placeholder without a value becomes empty.
    """
    unknown = unknown_placeholders(markdown_text)
    if unknown:
        raise UnknownPlaceholderError(unknown)
    raw, parts = _template(markdown_text or "")
    markers = {
        _marker(number): text if literal else values.get(text, "")
        for number, (literal, text) in enumerate(parts)
    }

    def in_attribute(match: re.Match[str]) -> str:
        # A value that is the whole address goes in as is (the scheme check below
        # still applies); a part of an address is percent-encoded.
        name, quote_char = match.group(1), match.group(2)
        value = html.unescape(match.group(3))
        if _MARKER.fullmatch(value):
            filled = markers[value]
        else:
            filled = _MARKER.sub(lambda m: quote(markers[m.group(0)], safe=""), value)
        return f"{name}={quote_char}{html.escape(filled)}{quote_char}"

    def in_tag(match: re.Match[str]) -> str:
        return re.sub(r'([\w-]+)=(["\'])(.*?)\2', in_attribute, match.group(0))

    raw = re.sub(r"<[a-zA-Z][^<>]*>", in_tag, raw)
    raw = _MARKER.sub(lambda m: html.escape(markers[m.group(0)]), raw)
    body_html = sanitize_html(raw)
    return html_to_text(body_html), body_html


# Each placeholder becomes a marker of letters and digits, which Markdown leaves
# alone; the nonce, new in every process, keeps an author from forging one.
_NONCE = secrets.token_hex(6)
_MARKER = re.compile(f"imaph{_NONCE}x[0-9]+z")


def _marker(number: int) -> str:
    return f"imaph{_NONCE}x{number}z"


@lru_cache(maxsize=32)
def _template(markdown_text: str) -> tuple[str, tuple[tuple[bool, str], ...]]:
    """The body rendered once with markers, and what each marker stands for:
    (True, a literal brace) or (False, a placeholder's name). Shared by all the
    recipients of an alert."""
    parts: list[tuple[bool, str]] = []

    def mark(match: re.Match[str]) -> str:
        text = match.group(0)
        if text in ("{{", "}}"):
            parts.append((True, text[0]))
        else:
            parts.append((False, match.group(1)))
        return _marker(len(parts) - 1)

    # render_markdown sanitizes the author's part; the values go in after it and
    # the whole is sanitized once more, which is what holds them.
    return render_markdown(TOKEN.sub(mark, markdown_text)), tuple(parts)


def placeholder_values(
    *, organization, mission, action, pledge_url: str, language: str,
    letter_url: str = "",
) -> dict[str, str]:  # fmt: skip
    """The value of every placeholder for one recipient, as plain text."""
    place = _place(action, mission)
    day, when = format_action_window(
        action,
        mission,
        language=language,
        time_zone=getattr(organization, "time_zone", "") or None,
    )
    return {
        "organization": organization.name if organization is not None else "",
        "action": action.title,
        "mission_name": place["name"],
        "mission_address": place["address"],
        "mission_city": place["city"],
        "mission_map_link": place["map_link"],
        "date": day,
        "time": when,
        "time_zone": action_zone_name(
            action, mission, time_zone=getattr(organization, "time_zone", "") or None
        ),
        "pledge_link": pledge_url,
        "letter_link": letter_url,
    }


def _place(action, mission) -> dict[str, str]:
    if action.where == "place":
        name, address, city = action.place_name, action.place_address, action.place_city
        latitude, longitude = action.place_latitude, action.place_longitude
    elif mission is not None:
        name, address, city = mission.name, mission.address, mission.city
        latitude, longitude = mission.latitude, mission.longitude
    else:
        return {"name": "", "address": "", "city": "", "map_link": ""}
    address = ", ".join(line.strip() for line in address.splitlines() if line.strip())
    return {
        "name": name,
        "address": address,
        "city": city,
        "map_link": map_link(latitude, longitude, query=", ".join(
            part for part in (name, address, city) if part
        )),
    }  # fmt: skip


def map_link(latitude: float | None, longitude: float | None, *, query: str) -> str:
    """An OpenStreetMap link: a pin at the coordinates, else a search."""
    if latitude is not None and longitude is not None:
        return (
            f"https://www.openstreetmap.org/?mlat={latitude:.6f}&mlon={longitude:.6f}"
            f"#map=18/{latitude:.6f}/{longitude:.6f}"
        )
    if not query:
        return ""
    return "https://www.openstreetmap.org/search?" + urlencode({"query": query})


class _TextWriter(HTMLParser):
    """Sanitized alert HTML to the text part of the email: paragraphs, list items,
    and each link's address after its text."""

    BLOCKS = {"p", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul",
              "ol", "dl", "hr"}  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str, int]] = []
        self.lists: list[list[int]] = []
        self.pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.BLOCKS:
            self.parts.append("\n\n")
        if tag == "pre":
            self.pre += 1
        elif tag in ("ul", "ol"):
            start = dict(attrs).get("start") or "1"
            self.lists.append([int(start) if start.isdigit() else 1, tag == "ol"])
        elif tag == "li":
            indent = "  " * max(len(self.lists) - 1, 0)
            bullet = "- "
            if self.lists and self.lists[-1][1]:
                bullet = f"{self.lists[-1][0]}. "
                self.lists[-1][0] += 1
            self.parts.append(f"\n{indent}{bullet}")
        elif tag in ("br", "tr", "dt", "dd"):
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" | ")
        elif tag == "hr":
            self.parts.append("---")
        elif tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self.pre -= 1
        elif tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "a" and self.links:
            href, at = self.links.pop()
            text = "".join(self.parts[at:]).strip()
            if href and href != text and href != f"mailto:{text}":
                self.parts.append(f" ({href})")
        if tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        joined = "".join(self.parts)
        lines = [line.rstrip() for line in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(body_html: str) -> str:
    """The readable text of sanitized alert HTML."""
    writer = _TextWriter()
    writer.feed(body_html)
    writer.close()
    return writer.text()
