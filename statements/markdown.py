"""Markdown to safe HTML: whatever an organizer types, no script reaches a page."""

import html
import re

import markdown as markdown_lib
import nh3

ALLOWED_TAGS = {
    "p", "br", "hr", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u",
    "s", "sub", "sup", "blockquote", "ul", "ol", "li", "a", "code", "pre", "abbr",
    "table", "thead", "tbody", "tr", "th", "td", "dl", "dt", "dd",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
ALLOWED_URL_SCHEMES = {"http", "https", "mailto", "tel"}


def render_markdown(text: str) -> str:
    """Render Markdown and keep only a short list of harmless tags and attributes."""
    raw = markdown_lib.markdown(text or "", extensions=["extra", "sane_lists"])
    # A page has one h1, the title: headings in the body start at h2.
    raw = re.sub(r"<(/?)h1\b", r"<\1h2", raw)
    return sanitize_html(raw)


def sanitize_html(raw: str) -> str:
    """HTML cut down to the short list of harmless tags, attributes and schemes."""
    return nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def markup_free(text: str) -> str:
    """Text with tags removed and no angle bracket left (for feed titles).

    Unescaping can turn a typed "&lt;script&gt;" into a tag again, so the brackets
    that remain afterwards are replaced by look-alikes.
    """
    text = html.unescape(nh3.clean(text, tags=set(), attributes={}))
    return " ".join(text.replace("<", "‹").replace(">", "›").split())


def plain_text(text: str) -> str:
    """The text of the Markdown with every tag removed, whitespace folded."""
    stripped = nh3.clean(render_markdown(text), tags=set(), attributes={})
    return " ".join(html.unescape(stripped).split())
