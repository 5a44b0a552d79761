"""Reading registry CSV files (organizations, missions) row by row.

Each row is checked on its own; a problem names the row (its line in the file,
as a spreadsheet numbers it, the header being row 1) and the column, so the good
rows can be imported and the bad ones fixed and imported again.
"""

from __future__ import annotations

import csv
import io
import math
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import URLValidator
from django_countries import countries as country_registry
from tqdm import tqdm

MAX_FILE_BYTES = 50 * 1024 * 1024


class FileProblem(Exception):
    """The whole file cannot be read: nothing of it is imported."""


class RowError(Exception):
    """A problem with one column of one row."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(f"{column}: {message}")
        self.column = column


@dataclass
class Row:
    number: int
    values: dict[str, str]
    # Set when the row as a whole cannot be read (wrong number of columns).
    problem: str = ""

    def check(self) -> None:
        if self.problem:
            raise RowError("row", self.problem)

    def text(self, name: str, max_length: int, *, required: bool = False) -> str:
        value = " ".join(self.values.get(name, "").split())
        if not value:
            if required:
                raise RowError(name, "is required")
            return ""
        if len(value) > max_length:
            raise RowError(name, f"is longer than {max_length} characters")
        return value

    def multiline(self, name: str, max_length: int) -> str:
        """Text that may span lines (an address): lines kept, each trimmed."""
        lines = [
            " ".join(line.split()) for line in self.values.get(name, "").splitlines()
        ]
        value = "\n".join(line for line in lines if line)
        if len(value) > max_length:
            raise RowError(name, f"is longer than {max_length} characters")
        return value

    def country(self, name: str) -> str:
        code = self.text(name, 100, required=True).upper()
        if len(code) != 2 or code not in country_registry:
            raise RowError(name, f"{code!r} is not an ISO 3166-1 alpha-2 country code")
        return code

    def choice(self, name: str, choices: list[str]) -> str:
        value = self.text(name, 40, required=True).lower()
        if value not in choices:
            raise RowError(name, f"{value!r} is not one of {', '.join(choices)}")
        return value

    def boolean(self, name: str) -> bool | None:
        """true/false, yes/no, 1/0; None when empty."""
        value = self.text(name, 10).lower()
        if not value:
            return None
        if value in {"true", "yes", "y", "1"}:
            return True
        if value in {"false", "no", "n", "0"}:
            return False
        raise RowError(name, f"{value!r} is not one of true, false, yes, no, 1, 0")

    def coordinates(self) -> tuple[float | None, float | None]:
        latitude = self._number("latitude", 90)
        longitude = self._number("longitude", 180)
        if (latitude is None) != (longitude is None):
            missing = "longitude" if longitude is None else "latitude"
            raise RowError(missing, "is required when the other coordinate is given")
        return latitude, longitude

    def _number(self, name: str, limit: float) -> float | None:
        raw = self.text(name, 40)
        if not raw:
            return None
        try:
            value = float(raw.replace(",", "."))
        except ValueError:
            raise RowError(name, f"{raw!r} is not a number") from None
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise RowError(name, f"{raw!r} is not between -{limit:g} and {limit:g}")
        return value

    def time_zone(self, name: str, *, required: bool) -> str:
        value = self.text(name, 64, required=required)
        if value and value not in known_time_zones():
            raise RowError(
                name, f"{value!r} is not a time zone name such as Asia/Manila"
            )
        return value

    def email(self, name: str) -> str:
        from django.core.validators import validate_email

        value = self.text(name, 254)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                raise RowError(name, f"{value!r} is not an email address") from None
        return value

    def url(self, name: str, max_length: int) -> str:
        value = self.text(name, max_length)
        if value:
            try:
                if value.split(":", 1)[0].lower() not in ("http", "https"):
                    raise ValidationError("scheme")
                URLValidator(schemes=["http", "https"])(value)
            except ValidationError:
                raise RowError(name, f"{value!r} is not an http(s) address") from None
        return value


@cache
def known_time_zones() -> frozenset[str]:
    # Membership in the tz database's list, not ZoneInfo(name): that also opens
    # any file path it is given and accepts names like "localtime".
    return frozenset(zoneinfo.available_timezones())


@dataclass
class Report:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self, what: str) -> str:
        return (
            f"{what}: {self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged; {len(self.errors)} row(s) failed"
        )


def read_rows(path: Path, columns: list[str]) -> list[Row]:
    """The data rows of a CSV file with exactly these columns (in any order).

    Lines starting with # are comments; blank lines are skipped. Raises
    FileProblem when the file cannot be read or its header is not right.
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FileProblem(f"{path}: larger than {MAX_FILE_BYTES // 2**20} MB")
        raw = path.read_bytes()
    except OSError as error:
        raise FileProblem(f"{path}: cannot be read ({error.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileProblem(
            f"{path}: not UTF-8 (byte 0x{raw[error.start]:02x} at {error.start})"
        ) from None
    # Comment lines become empty lines, which the reader skips, so that the line
    # numbers stay those of the file.
    lines = ["" if line.lstrip().startswith("#") else line
             for line in io.StringIO(text, newline="")]  # fmt: skip
    reader = csv.reader(lines, strict=True)
    rows: list[Row] = []
    header: list[str] | None = None
    try:
        start = 1
        for record in reader:
            number, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in record]
                _check_header(path, header, columns)
                continue
            problem = ""
            if len(record) != len(header):
                problem = f"has {len(record)} columns, the header {len(header)}"
                record = (record + [""] * len(header))[: len(header)]
            elif any(
                ord(c) < 32 and c not in "\t\r\n" for cell in record for c in cell
            ):
                problem = "contains control characters"
            values = dict(zip(header, record, strict=True))
            rows.append(Row(number=number, values=values, problem=problem))
    except csv.Error as error:
        raise FileProblem(f"{path}: row {start}: broken CSV ({error})") from None
    if header is None:
        raise FileProblem(f"{path}: empty (no header row)")
    return rows


def _check_header(path: Path, header: list[str], columns: list[str]) -> None:
    missing = [name for name in columns if name not in header]
    unknown = [name for name in header if name not in columns]
    repeated = sorted({name for name in header if header.count(name) > 1})
    problems = []
    if missing:
        problems.append("missing column(s): " + ", ".join(missing))
    if unknown:
        problems.append("unknown column(s): " + ", ".join(unknown))
    if repeated:
        problems.append("repeated column(s): " + ", ".join(repeated))
    if problems:
        raise FileProblem(
            f"{path}: {'; '.join(problems)} (expected: {', '.join(columns)})"
        )


class CsvImportCommand(BaseCommand):
    """A registry CSV import as a command: a progress bar over the rows, one line
    per bad row, a summary, and a non-zero exit when any row failed."""

    columns: list[str]
    what: str

    def import_file(self, path: Path, progress: Callable[[int], object]) -> Report:
        raise NotImplementedError

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, file, no_progress, **options):
        path = Path(file)
        try:
            total = len(read_rows(path, self.columns))
            with tqdm(
                total=total, unit="row", disable=no_progress, file=self.stderr._out
            ) as bar:
                report = self.import_file(path, bar.update)
        except FileProblem as problem:
            raise CommandError(str(problem)) from None
        for error in report.errors:
            self.stderr.write(f"{path}: {error}")
        summary = report.summary(self.what)
        if report.errors:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
