"""A sign-on letter compiled to a PDF: its text in its original language, then its
signatories by country, organizations first, people as each chose to be shown.

WeasyPrint lays a whole document out in memory, so the list is rendered in parts
of CHUNK_NAMES names, each a small PDF of its own, and the parts are joined with
pypdf; each part's page numbers start where the previous part's ended. The
signatures are read from a server-side cursor: the memory used stays flat however
many signed.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import attrgetter
from typing import BinaryIO

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.files import File
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Func,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Lower
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_countries import countries as country_registry
from pypdf import PdfReader, PdfWriter
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from ima_site.languages import interface_languages, text_direction
from signatories.models import OfflineCount, Signature
from signatories.services.counts import hidden_countries
from statements.models import Statement, StatementVersion

from .models import Letter, LetterCompilation

# Names per rendered part. A part's layout is held in memory while it is drawn,
# and each part embeds its own font subsets, adds a fixed cost and ends on a page
# of its own. On 100,000 signatories (bench/letter_compile.py, 2 cores) parts of
# 2,000 to 20,000 names took the same time within the noise of a shared machine
# (40-70 s); from 10,000 on the peak memory stopped falling (+63 MB, against
# +70 MB at 5,000 and +90 MB at 2,000).
CHUNK_NAMES = 10_000
# Names per paragraph: one paragraph of thousands of names lays out at half the
# speed of short ones; a short paragraph break reads as a line break in the list.
PARAGRAPH_NAMES = 100
# Rows fetched at a time from the server-side cursor.
STREAM_ROWS = 2000

# First strong isolate ... pop directional isolate: a name in another script keeps
# its own direction without carrying the separators beside it along.
FSI, PDI = "\u2068", "\u2069"

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class CompiledInfo:
    """What a compiled letter holds: its pages, the count on its first page
    (paper and offline counts included), and the signatories it names."""

    pages: int
    signatures: int
    named: int


class RefusingFetcher(URLFetcher):
    """WeasyPrint's fetcher for the letter: nothing is loaded, from the network or
    from disk. The letter's text is an organizer's Markdown; an address in it must
    not make a worker call out, nor read a file into the PDF."""

    def fetch(self, url, headers=None):
        raise ValueError(f"A letter loads nothing: {url[:80]} refused.")


def render_pdf(html: str) -> bytes:
    """One document to PDF bytes, with no outside resource."""
    return HTML(string=html, url_fetcher=RefusingFetcher()).write_pdf()


# --- What the letter says ------------------------------------------------------------


@dataclass
class CountryGroup:
    """One country's part of a rendered part of the list."""

    name: str
    count: str | None  # "12 signatures"; None where the "<5" rule hides it
    continued: bool = False
    organizations: list[list[str]] = field(default_factory=list)
    people: list[list[str]] = field(default_factory=list)

    def add(self, kind: str, entry: str) -> None:
        paragraphs = (
            self.organizations if kind == Signature.Kind.ORGANIZATION else self.people
        )
        if not paragraphs or len(paragraphs[-1]) >= PARAGRAPH_NAMES:
            paragraphs.append([])
        paragraphs[-1].append(entry)

    def continuation(self) -> CountryGroup:
        return CountryGroup(name=self.name, count=self.count, continued=True)


@dataclass(frozen=True)
class CountryTotals:
    code: str
    name: str
    counted: int
    named: int


def _statement_of(letter: Letter | Statement) -> Statement:
    return letter if isinstance(letter, Statement) else letter.statement


def _sort_key(name: str) -> str:
    """Sorts names of one language as a reader expects well enough: accents and
    case do not put "Égypte" after "Zambie"."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _country_totals(statement: Statement) -> list[CountryTotals]:
    """Counted and named signatures per country, countries sorted by their name
    in the active language."""
    named = ~Q(display=Signature.Display.COUNT_ONLY) & ~Q(name="")
    rows = (
        Signature.objects.counted()
        .filter(statement=statement)
        .values("country")
        .annotate(counted=Count("id"), named=Count("id", filter=named))
        .order_by()
    )
    totals = [
        CountryTotals(
            code=row["country"],
            name=country_registry.name(row["country"]) or row["country"],
            counted=row["counted"],
            named=row["named"],
        )
        for row in rows
    ]
    return sorted(totals, key=lambda country: (_sort_key(country.name), country.code))


def _shown_name_order():
    """The order of names within a country and kind: by the name as it is shown.

    Ordering initials by the full name behind them would place "H.H." between
    "Hadi" and "Hana" and give away more of the name than the signer shows.
    """
    initials = Func(
        F("name"),
        Value(r"(\S)\S*\s*"),
        Value(r"\1."),
        Value("g"),
        function="regexp_replace",
        output_field=CharField(),
    )
    return Case(
        When(kind=Signature.Kind.ORGANIZATION, then=Lower("organization")),
        When(display=Signature.Display.INITIALS, then=Lower(initials)),
        default=Lower("name"),
        output_field=CharField(),
    )


def _listed(statement: Statement, country_order: list[str]):
    """The named signatures, in the letter's order: country (by name), then
    organizations before people, then the name as shown.

    The signatories the public list would name (Signature.objects.counted(), not
    "only counted", name not erased), whatever the web page shows of them: each
    signer chose how the letter names them.
    """
    country_position = Func(
        Value(country_order, output_field=ArrayField(CharField())),
        F("country"),
        function="array_position",
        output_field=IntegerField(),
    )
    return (
        Signature.objects.counted()
        .filter(statement=statement)
        .exclude(display=Signature.Display.COUNT_ONLY)
        .exclude(name="")
        .only("kind", "name", "organization", "role", "country", "display")
        .order_by(
            country_position,
            Case(When(kind=Signature.Kind.ORGANIZATION, then=0), default=1),
            _shown_name_order(),
            "id",
        )
    )


def _isolator(direction: str) -> Callable[[str], str]:
    """Wraps a typed text in an isolate when its script may run against the
    letter's direction: two Arabic names in an English list stay in their order."""

    def isolate(text: str) -> str:
        if direction == "ltr" and text.isascii():
            return text
        return f"{FSI}{text}{PDI}"

    return isolate


def _entry(signature: Signature, isolate: Callable[[str], str]) -> str:
    """One signatory as the public list shows them (listed_as.html): never an
    email nor a city; a person's organization and role only with their full name."""
    full = signature.display == Signature.Display.FULL
    if signature.kind == Signature.Kind.ORGANIZATION:
        text = isolate(signature.organization)
    else:
        text = isolate(signature.public_name())
        if signature.organization and full:
            text += ", " + isolate(signature.organization)
    if signature.role and full:
        text += " · " + isolate(signature.role)
    return text


def _count_text(number: int) -> str:
    return formats.number_format(number, force_grouping=True)


def _signatures_text(number: int) -> str:
    return ngettext("%(count)s signature", "%(count)s signatures", number) % {
        "count": _count_text(number)
    }


def _css_string(text: str) -> str:
    """A CSS string literal of the text, whatever characters it holds."""
    escaped = "".join(
        f"\\{ord(c):x} " if c in '"\\' or not c.isprintable() else c for c in text
    )
    return f'"{escaped}"'


def _page_label() -> str:
    """The footer's CSS content: "Page N" in the letter's language."""
    before, _sep, after = _("Page %(number)s").partition("%(number)s")
    return f"{_css_string(before)} counter(page) {_css_string(after)}"


# --- Writing it --------------------------------------------------------------------


class _Parts:
    """The letter rendered part by part into one pypdf writer."""

    def __init__(self, common: dict, progress: Progress | None, total: int):
        self.common = common
        self.progress = progress
        self.total = total
        self.writer = PdfWriter()
        self.pages = 0
        self.named = 0
        self.groups: list[CountryGroup] = []
        self.in_part = 0
        self.first = True

    def start_country(self, group: CountryGroup) -> None:
        if self.in_part >= CHUNK_NAMES:
            self.flush()
        self.groups.append(group)

    def add(self, kind: str, entry: str) -> None:
        if self.in_part >= CHUNK_NAMES:
            continued = self.groups[-1].continuation()
            self.flush()
            self.groups.append(continued)
        self.groups[-1].add(kind, entry)
        self.in_part += 1
        self.named += 1

    def flush(self) -> None:
        html = render_to_string(
            "campaigns/letter/letter.html",
            {
                **self.common,
                "with_text": self.first,
                "groups": self.groups,
                "first_page": self.pages + 1,
            },
        )
        reader = PdfReader(io.BytesIO(render_pdf(html)))
        self.writer.append(reader)
        self.pages += len(reader.pages)
        self.first = False
        self.groups = []
        self.in_part = 0
        if self.progress is not None:
            self.progress(self.named, self.total)


def _letter_context(
    statement: Statement, version: StatementVersion, countries: list[CountryTotals]
) -> dict:
    """What the letter shows besides its list, in the active language."""
    offline_counts = OfflineCount.objects.filter(statement=statement)
    offline = offline_counts.aggregate(total=Sum("count"))["total"] or 0
    total = sum(country.counted for country in countries) + offline
    now = timezone.localtime()
    # The site's own words (headings, the count) exist in its interface languages
    # only; in a letter written in another, they are in the default language and
    # marked so, to run in their own direction.
    labels = translation.get_language()
    if labels not in interface_languages():
        labels = settings.LANGUAGE_CODE
    return {
        "statement": statement,
        "version": version,
        "language": version.language,
        "direction": version.direction(),
        "labels": ""
        if labels == version.language
        else format_html(' lang="{}" dir="{}"', labels, text_direction(labels)),
        "letter_date": formats.date_format(
            statement.issued_on or now.date(), "DATE_FORMAT"
        ),
        "addressees": version.shown_addressees(),
        "slogans": version.shown_slogans(),
        "signed_by_role": version.shown_signed_by_role(),
        "total": total,
        "signed_by_line": ngettext(
            "Signed by %(count)s organization or person",
            "Signed by %(count)s organizations and people",
            total,
        )
        % {"count": _count_text(total)},
        "offline_line": ngettext(
            "including %(count)s signature gathered offline",
            "including %(count)s signatures gathered offline",
            offline,
        )
        % {"count": _count_text(offline)}
        if offline
        else "",
        "as_of": formats.date_format(now, "DATETIME_FORMAT"),
        "title_css": _css_string(version.title),
        "page_label_css": _page_label(),
    }


def write_letter_pdf(
    letter: Letter | Statement, out: BinaryIO, *, progress: Progress | None = None
) -> CompiledInfo:
    """Write the letter as it is now, as a PDF, to `out`.

    Takes the Letter, or only its statement (a letter may be printed before its
    delivery is set up). `progress(named so far, named in all)` is called after
    each rendered part.
    """
    statement = _statement_of(letter)
    version = statement.original_version()
    if version is None:
        raise ValueError(f"The statement {statement.slug!r} has no text.")
    with translation.override(version.language):
        countries = _country_totals(statement)
        hidden = hidden_countries({c.code: c.counted for c in countries})
        context = _letter_context(statement, version, countries)
        total_named = sum(country.named for country in countries)
        parts = _Parts(context, progress, total_named)
        if progress is not None:
            progress(0, total_named)
        isolate = _isolator(context["direction"])
        rows = _listed(statement, [country.code for country in countries]).iterator(
            chunk_size=STREAM_ROWS
        )
        by_country: Iterator = groupby(rows, key=attrgetter("country"))
        pending = next(by_country, None)
        for country in countries:
            parts.start_country(
                CountryGroup(
                    name=country.name,
                    count=None
                    if country.code in hidden
                    else _signatures_text(country.counted),
                )
            )
            if pending is not None and pending[0] == country.code:
                for signature in pending[1]:
                    parts.add(signature.kind, _entry(signature, isolate))
                pending = next(by_country, None)
        # A country whose first signature came between the two queries:
        # array_position() put it last. Its count is not known, so none is shown.
        while pending is not None:
            code, signatures = pending
            parts.start_country(
                CountryGroup(name=country_registry.name(code) or code, count=None)
            )
            for signature in signatures:
                parts.add(signature.kind, _entry(signature, isolate))
            pending = next(by_country, None)
        parts.flush()
        parts.writer.add_metadata({"/Title": version.title})
        parts.writer.write(out)
    return CompiledInfo(
        pages=parts.pages, signatures=context["total"], named=parts.named
    )


# --- Storing it ----------------------------------------------------------------------


def _store(letter: Letter, *, test: bool) -> LetterCompilation:
    with tempfile.TemporaryFile() as pdf:
        info = write_letter_pdf(letter, pdf)
        pdf.seek(0)
        digest = hashlib.sha256()
        for block in iter(lambda: pdf.read(1 << 20), b""):
            digest.update(block)
        size = pdf.tell()
        pdf.seek(0)
        compilation = LetterCompilation(
            letter=letter,
            test=test,
            sha256=digest.hexdigest(),
            size=size,
            pages=info.pages,
            signatures=info.signatures,
            named=info.named,
        )
        compilation.pdf.save("letter.pdf", File(pdf), save=False)
    stored = compilation.pdf.name
    try:
        compilation.save()
    except BaseException:
        # No row, no file: nothing may point to evidence that is not recorded.
        if stored:
            compilation.pdf.storage.delete(stored)
        raise
    return compilation


def compile_letter(*, letter: Letter, test: bool = False) -> LetterCompilation:
    """The letter's compiled PDF, stored through the default storage.

    The final compilation (test=False) is made once: under a lock on the letter's
    row, so two workers never make two, and returned as it is afterwards (it is
    the evidence of what was sent; a retry resends the same file). A test
    compilation is made afresh every time.
    """
    if test:
        return _store(letter, test=True)
    with transaction.atomic():
        Letter.objects.select_for_update().get(pk=letter.pk)
        existing = LetterCompilation.objects.filter(letter=letter, test=False).first()
        if existing is not None:
            return existing
        return _store(letter, test=False)
