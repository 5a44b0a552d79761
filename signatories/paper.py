"""Signatures gathered on paper sheets, typed into a CSV file by organizers.

Reading a file names every problem of every line. Checking it against the statement
finds the rows that repeat a signature already there (or an earlier line of the same
file) and the earlier imports of the very same file. The import adds the rows, one
PaperImport row and the audit entry in one transaction.
"""

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower, Trim
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site.models import record_audit_entry
from signatories.forms import clean_public_text
from signatories.models import PaperImport, Signature
from signatories.paper_countries import find_country, normalize
from signatories.services.counts import count_event
from statements.models import Statement

# About 15,000 typed lines; the file is kept in the organizer's session between the
# check and the confirmation, so it stays small.
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True)
class Column:
    key: str
    label: Promise
    required: bool = False
    max_length: int = 0


# The import's columns, in the order the printed sheet shows them.
COLUMNS = (
    Column("name", gettext_lazy("Name"), required=True, max_length=120),
    Column("country", gettext_lazy("Country"), required=True),
    Column("organization", gettext_lazy("Organization"), max_length=160),
    Column("role", gettext_lazy("Role"), max_length=120),
    Column("city", gettext_lazy("City"), max_length=120),
    Column("kind", gettext_lazy("Signs as")),
)
# Columns of the printed sheet that nobody types in: the line number and the
# handwritten signature. A typed-up copy of the sheet may keep them.
SHEET_ONLY_COLUMNS = ("#", gettext_lazy("Signature"))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file; line 0 is the file as a whole."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        if not self.line:
            return self.message
        if self.column:
            return _("Line %(line)d, %(column)s: %(problem)s") % {
                "line": self.line,
                "column": self.column,
                "problem": self.message,
            }
        return _("Line %(line)d: %(problem)s") % {
            "line": self.line,
            "problem": self.message,
        }


class PaperImportError(Exception):
    """The file cannot be imported as it is; nothing of it was saved."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


@dataclass(frozen=True)
class PaperRow:
    line: int
    name: str
    country: str
    organization: str = ""
    role: str = ""
    city: str = ""
    kind: str = Signature.Kind.PERSON

    @property
    def country_name(self) -> str:
        from django_countries import countries

        return f"{countries.name(self.country)} ({self.country})"

    def repeat_key(self) -> tuple[str, str, str]:
        """Same name, country and city: the same signer, whatever the case."""
        return (self.name.lower(), self.country, self.city.lower())


@dataclass(frozen=True)
class Repeat:
    row: PaperRow
    # The earlier line of the same file, or when the signature already there was made.
    first_line: int | None = None
    signed_at: datetime | None = None


@dataclass
class PaperCheck:
    """What an import of this file would do to this statement now."""

    statement: Statement
    file_hash: str
    rows: list[PaperRow]
    repeats: list[Repeat] = field(default_factory=list)
    earlier_imports: list[PaperImport] = field(default_factory=list)

    @property
    def new_rows(self) -> list[PaperRow]:
        repeated = {repeat.row.line for repeat in self.repeats}
        return [row for row in self.rows if row.line not in repeated]

    def fingerprint(self) -> str:
        """Changes whenever the check would tell the organizer something else."""
        facts = [
            self.statement.pk,
            self.file_hash,
            [row.line for row in self.rows],
            [
                [r.row.line, r.first_line, r.signed_at and r.signed_at.isoformat()]
                for r in self.repeats
            ],
            [earlier.pk for earlier in self.earlier_imports],
        ]
        return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


class PaperCheckChanged(Exception):
    """The statement's signatures changed since the organizer saw the check."""

    def __init__(self, check: PaperCheck):
        super().__init__("the paper import's check changed")
        self.check = check


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _labels_in_every_language(label: Promise | str) -> set[str]:
    names = {normalize(str(label))}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            names.add(normalize(str(label)))
    return names


def _header_keys() -> dict[str, str]:
    """Normalized header -> column key; "" for the sheet's columns to ignore."""
    keys: dict[str, str] = {}
    for label in SHEET_ONLY_COLUMNS:
        for name in _labels_in_every_language(label):
            keys[name] = ""
    keys["no"] = ""
    for column in COLUMNS:
        keys[column.key] = column.key
        for name in _labels_in_every_language(column.label):
            keys[name] = column.key
    keys["organisation"] = "organization"
    return keys


def _kind_values() -> dict[str, str]:
    values = {"organisation": Signature.Kind.ORGANIZATION.value}
    for kind in Signature.Kind:
        values[kind.value] = kind.value
        for name in _labels_in_every_language(kind.label):
            values[name] = kind.value
    return values


def _delimiter(first_line: str) -> str:
    # Spreadsheets set to Spanish or French save "CSV" with semicolons.
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) of each record that is not blank."""
    lines = io.StringIO(text)
    reader = csv.reader(lines, delimiter=_delimiter(text.split("\n", 1)[0]))
    start = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _shown(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 40 else value[:39] + "…"


def read_paper_file(*, data: bytes) -> list[PaperRow]:
    """Every row of the file, or PaperImportError naming every problem at once."""
    if not data.strip():
        raise PaperImportError([Problem(0, "", _("The file is empty."))])
    if len(data) > MAX_FILE_BYTES:
        raise PaperImportError([Problem(0, "", too_large_message(len(data)))])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PaperImportError(
            [Problem(0, "", _("The file is not UTF-8 text: save it as “CSV UTF-8”."))]
        ) from None
    try:
        records = list(_records(text))
    except csv.Error as error:
        raise PaperImportError(
            [Problem(0, "", _("The file is not CSV: %(error)s") % {"error": error})]
        ) from None
    if not records:
        raise PaperImportError([Problem(0, "", _("The file is empty."))])
    header_line, header = records[0]
    positions, problems = _read_header(header_line, header)
    if problems:
        raise PaperImportError(problems)
    if len(records) == 1:
        raise PaperImportError(
            [Problem(0, "", _("The file has its header line but no signatures."))]
        )
    kinds = _kind_values()
    rows = []
    for line, cells in records[1:]:
        row = _read_row(line, cells, header, positions, kinds, problems)
        if row is not None:
            rows.append(row)
    if problems:
        raise PaperImportError(problems)
    return rows


def too_large_message(size: int) -> str:
    return _(
        "The file has %(size)s bytes; the most is %(most)s. "
        "Split it into smaller files."
    ) % {"size": f"{size:,}", "most": f"{MAX_FILE_BYTES:,}"}


def _read_header(line: int, header: list[str]) -> tuple[dict[str, int], list[Problem]]:
    known = _header_keys()
    positions: dict[str, int] = {}
    problems = []
    for index, title in enumerate(header):
        name = normalize(title)
        if not name:
            continue
        if name not in known:
            problems.append(
                Problem(line, "", _(
                    "“%(column)s” is not a column of the import. The columns are: "
                    "%(columns)s."
                ) % {"column": _shown(title),
                     "columns": ", ".join(c.key for c in COLUMNS)})
            )  # fmt: skip
            continue
        key = known[name]
        if not key:
            continue
        if key in positions:
            problems.append(
                Problem(line, "", _("The column “%(column)s” appears twice.")
                        % {"column": _shown(title)})
            )  # fmt: skip
            continue
        positions[key] = index
    missing = [c.key for c in COLUMNS if c.required and c.key not in positions]
    if missing:
        problems.append(
            Problem(line, "", _("Missing column(s): %(columns)s.")
                    % {"columns": ", ".join(missing)})
        )  # fmt: skip
    return positions, problems


def _read_row(
    line: int,
    cells: list[str],
    header: list[str],
    positions: dict[str, int],
    kinds: dict[str, str],
    problems: list[Problem],
) -> PaperRow | None:
    found_before = len(problems)
    if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
        problems.append(
            Problem(line, "", _(
                "it has %(cells)d cells but the header line names %(columns)d."
            ) % {"cells": len(cells), "columns": len(header)})
        )  # fmt: skip
    values: dict[str, str] = {}
    for column in COLUMNS:
        if column.key not in positions:
            continue
        index = positions[column.key]
        raw = cells[index].strip() if index < len(cells) else ""
        title = header[index].strip()

        def problem(message: str, title: str = title) -> None:
            problems.append(Problem(line, title, message))

        if column.key == "country":
            values["country"] = _country(raw, problem)
            continue
        if column.key == "kind":
            values["kind"] = _kind(raw, kinds, problem)
            continue
        try:
            value = " ".join(clean_public_text(raw, title).split())
        except ValidationError as error:
            problem(" ".join(error.messages))
            continue
        if column.required and not value:
            problem(_("it is empty."))
        elif column.max_length and len(value) > column.max_length:
            problem(
                _("it is longer than %(most)d characters.")
                % {"most": column.max_length}
            )
        values[column.key] = value
    if len(problems) > found_before:
        return None
    kind = values.get("kind") or Signature.Kind.PERSON
    organization = values.get("organization", "")
    if kind == Signature.Kind.ORGANIZATION and not organization:
        # An organization signing: its name is the organization.
        organization = values["name"][:160]
    return PaperRow(
        line=line,
        name=values["name"],
        country=values["country"],
        organization=organization,
        role=values.get("role", ""),
        city=values.get("city", ""),
        kind=kind,
    )


def _country(raw: str, problem) -> str:
    if not raw:
        problem(_("it is empty."))
        return ""
    codes = find_country(raw)
    if len(codes) == 1:
        return next(iter(codes))
    if not codes:
        problem(
            _(
                "“%(value)s” is not a country name or code we know: write its "
                "two-letter code, such as PH."
            )
            % {"value": _shown(raw)}
        )
        return ""
    from django_countries import countries

    problem(
        _("“%(value)s” may mean %(countries)s: write the two-letter code.")
        % {
            "value": _shown(raw),
            "countries": _(" or ").join(
                f"{countries.name(code)} ({code})" for code in sorted(codes)
            ),
        }
    )
    return ""


def _kind(raw: str, kinds: dict[str, str], problem) -> str:
    if not raw:
        return Signature.Kind.PERSON
    kind = kinds.get(normalize(raw))
    if kind is None:
        problem(
            _("“%(value)s” is neither person nor organization.")
            % {"value": _shown(raw)}
        )
        return Signature.Kind.PERSON
    return kind


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _find_repeats(statement: Statement, rows: list[PaperRow]) -> list[Repeat]:
    already: dict[tuple[str, str, str], datetime] = {}
    names = sorted({row.name.lower() for row in rows})
    for chunk in _chunks(names, 2000):
        existing = (
            Signature.objects.filter(statement=statement)
            .annotate(key_name=Lower(Trim("name")), key_city=Lower(Trim("city")))
            .filter(key_name__in=chunk)
            .order_by("created_at")
            .values_list("key_name", "country", "key_city", "created_at")
        )
        for name, country, city, created_at in existing:
            already.setdefault((name, country, city), created_at)
    repeats = []
    first_lines: dict[tuple[str, str, str], int] = {}
    for row in rows:
        key = row.repeat_key()
        if key in already:
            repeats.append(Repeat(row=row, signed_at=already[key]))
        elif key in first_lines:
            repeats.append(Repeat(row=row, first_line=first_lines[key]))
        else:
            first_lines[key] = row.line
    return repeats


def _check(statement: Statement, rows: list[PaperRow], digest: str) -> PaperCheck:
    return PaperCheck(
        statement=statement,
        file_hash=digest,
        rows=rows,
        repeats=_find_repeats(statement, rows),
        earlier_imports=list(
            PaperImport.objects.filter(statement=statement, file_hash=digest)
            .select_related("imported_by")
            .order_by("imported_at")
        ),
    )


def check_paper_file(*, statement: Statement, data: bytes) -> PaperCheck:
    """Read the file and compare it with the statement's signatures; writes nothing."""
    return _check(statement, read_paper_file(data=data), file_hash(data))


def import_paper_signatures(
    *,
    statement: Statement,
    data: bytes,
    file_name: str,
    collected_by: str,
    by,
    add_repeats: bool = False,
    expected_check: str | None = None,
) -> PaperImport:
    """Add the file's rows as confirmed paper signatures, all or nothing.

    Repeated rows are skipped unless add_repeats. With expected_check (the
    fingerprint of the check the organizer saw), a check that came out differently
    now raises PaperCheckChanged and adds nothing.
    """
    rows = read_paper_file(data=data)
    with transaction.atomic():
        # One import at a time per statement, so that two organizers confirming the
        # same file together cannot both add it. NO KEY UPDATE still lets web
        # signatures (whose foreign key takes KEY SHARE) in meanwhile.
        locked = Statement.objects.select_for_update(no_key=True).get(pk=statement.pk)
        if not locked.accepts_signatures:
            raise PaperImportError(
                [Problem(0, "", _("This statement does not take signatures."))]
            )
        check = _check(locked, rows, file_hash(data))
        if expected_check is not None and check.fingerprint() != expected_check:
            raise PaperCheckChanged(check)
        chosen = check.rows if add_repeats else check.new_rows
        now = timezone.now()
        created = Signature.objects.bulk_create(
            Signature(
                statement=locked, name=row.name, country=row.country, kind=row.kind,
                organization=row.organization, role=row.role, city=row.city,
                status=Signature.Status.CONFIRMED, source=Signature.Source.PAPER,
                collected_by=collected_by[:160], display=Signature.Display.FULL,
                confirmed_at=now,
            )
            for row in chosen
        )  # fmt: skip
        # One count event per country and kind, not per row: the batch job adds
        # deltas, and a large sheet stays one short transaction.
        groups = Counter((s.country, s.kind) for s in created)
        first_of_group = {(s.country, s.kind): s for s in reversed(created)}
        for group, number in groups.items():
            count_event(first_of_group[group], number)
        skipped = len(check.rows) - len(created)
        paper_import = PaperImport.objects.create(
            statement=locked,
            file_name=file_name[:255],
            file_hash=check.file_hash,
            collected_by=collected_by[:160],
            added=len(created),
            skipped=skipped,
            imported_by=by if by is not None and by.is_authenticated else None,
        )
        record_audit_entry(
            actor=by,
            action="signatures.paper_import",
            obj=locked,
            details={
                # "count" is what the audit log's sentence reads; "added" the import.
                "count": len(created),
                "added": len(created),
                "skipped": skipped,
                "repeats_added": len(check.repeats) if add_repeats else 0,
                "same_file_before": len(check.earlier_imports),
                "collected_by": collected_by,
                "file_name": file_name,
                "file_hash": check.file_hash,
                "paper_import": paper_import.pk,
            },
        )
    return paper_import
