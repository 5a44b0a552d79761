"""Signatory exports: CSV streamed row by row, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.db.models import BinaryField, Case, F, Q, Value, When
from django.http import StreamingHttpResponse
from django.utils.cache import add_never_cache_headers
from django_countries import countries as country_registry

from ima_site.crypto import decrypt

if TYPE_CHECKING:
    from signatories.services.exports import SignatoryExport

# A spreadsheet runs a cell starting with one of these as a formula (the full-width
# forms too, which some spreadsheets fold into the ASCII ones).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
COLUMNS = [
    "id", "kind", "name", "organization", "role", "city", "country", "country_name",
    "shown_as", "status", "held", "source", "collected_by", "signed_at", "confirmed_at",
]  # fmt: skip
EMAIL_COLUMN = "email"


def safe_cell(value) -> str:
    """The value as text; a leading formula character is defused with a quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


class _Echo:
    def write(self, value):
        return value


FIELDS = [
    "id", "kind", "name", "organization", "role", "city", "country", "display",
    "status", "is_held", "source", "collected_by", "created_at", "confirmed_at",
]  # fmt: skip


def signature_rows(queryset, *, emails: Q | None = None) -> Iterator[list[str]]:
    """The header and one row per signature, in id order.

    emails, when given, is the rule of the signatures whose address may go out:
    the rows get an email column, filled for those only (the database picks the
    addresses, so no other one is ever read).
    """
    yield [*COLUMNS, EMAIL_COLUMN] if emails is not None else COLUMNS
    names = dict(country_registry)
    fields = FIELDS
    if emails is not None:
        queryset = queryset.annotate(
            exported_email=Case(
                When(emails, then=F("email_encrypted")),
                default=Value(None, output_field=BinaryField()),
            )
        )
        fields = [*FIELDS, "exported_email"]
    rows = queryset.order_by("id").values_list(*fields).iterator(chunk_size=5000)
    for row in rows:
        (pk, kind, name, organization, role, city, country, display, status, held,
         source, collected_by, created_at, confirmed_at) = row[:14]  # fmt: skip
        cells = [
            str(pk), kind, safe_cell(name), safe_cell(organization), safe_cell(role),
            safe_cell(city), country, safe_cell(names.get(country, country)), display,
            status, "yes" if held else "", source, safe_cell(collected_by),
            created_at.isoformat(), confirmed_at.isoformat() if confirmed_at else "",
        ]  # fmt: skip
        if emails is not None:
            # An address is checked at signing, but "=1+1@example.org" is a valid
            # one: it is defused like any other cell.
            cells.append(safe_cell(decrypt(row[14])))
        yield cells


def stream_csv(
    queryset, *, excel: bool = False, emails: Q | None = None
) -> Iterator[str]:
    """CSV lines, one at a time: memory stays flat whatever the number of rows.

    With excel=True the stream starts with a byte order mark, so that Excel reads
    the UTF-8 names of every alphabet correctly.
    """
    writer = csv.writer(_Echo())
    if excel:
        yield "\ufeff"
    for row in signature_rows(queryset, emails=emails):
        yield writer.writerow(row)


def csv_response(export: SignatoryExport) -> StreamingHttpResponse:
    """The export as a download, for the admin and the API alike."""
    response = StreamingHttpResponse(
        export.lines, content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    # Names, and maybe addresses: no cache on the way (a proxy, the browser's disk
    # cache) may keep a copy, whichever way the export was asked for.
    add_never_cache_headers(response)
    return response
