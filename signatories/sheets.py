"""Blank sign-up sheets to print, for gathering signatures on paper.

The sheet's columns are the paper import's, in its order and under the names the
import accepts, so a typed-up sheet is the file to import. Every page is filled with
rows to its bottom: the number of rows a page holds is computed from the paper size
and the fixed heights the template gives the heading, the column headers and a row.
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.translation import override

from signatories.models import Signature
from signatories.paper import COLUMNS
from signatories.paper_countries import normalize
from statements.models import Statement


@dataclass(frozen=True)
class Paper:
    width_mm: float
    height_mm: float


# Landscape: the columns need the width.
PAPER_SIZES = {"A4": Paper(297, 210), "Letter": Paper(279.4, 215.9)}

# The heights sheet.html fixes, in millimetres. A row's height includes its border;
# SLACK keeps rounding in the PDF renderer from pushing the last row over the page.
MARGIN_TOP_MM = 10
MARGIN_BOTTOM_MM = 16
HEADING_MM = 44
COLUMN_HEADERS_MM = 12
ROW_MM = 9
SLACK_MM = 1


@dataclass(frozen=True)
class SheetLayout:
    first_page_rows: int
    other_page_rows: int

    def rows_for(self, pages: int) -> int:
        return self.first_page_rows + self.other_page_rows * (pages - 1)

    def pages_for(self, rows: int) -> int:
        """The pages that hold at least that many rows, each page full."""
        if rows <= self.first_page_rows:
            return 1
        rest = rows - self.first_page_rows
        return 1 + -(-rest // self.other_page_rows)


def sheet_layout(paper: str = "A4") -> SheetLayout:
    size = PAPER_SIZES[paper]
    body = size.height_mm - MARGIN_TOP_MM - MARGIN_BOTTOM_MM - SLACK_MM
    table = body - COLUMN_HEADERS_MM
    return SheetLayout(
        first_page_rows=int((table - HEADING_MM) // ROW_MM),
        other_page_rows=int(table // ROW_MM),
    )


def _sheet_columns() -> list[dict]:
    """Each column's heading in the active language, with the import's own name
    under it when the two differ, and a hint for the kind column."""
    columns = []
    for column in COLUMNS:
        label = str(column.label)
        hint = ""
        if column.key == "kind":
            hint = (
                f"{Signature.Kind.PERSON.label} / {Signature.Kind.ORGANIZATION.label}"
            )
        columns.append(
            {
                "key": column.key,
                "label": label,
                "show_key": normalize(label) != column.key,
                "hint": hint,
            }
        )
    return columns


def sign_up_sheet_pdf(
    statement: Statement, language: str, *, paper: str = "A4", pages: int = 1
) -> bytes:
    """A PDF of that many full pages: the statement's title and summary, then a
    table to fill in by hand; the statement's full address on every page."""
    from weasyprint import HTML  # loaded here: it needs Pango from the system

    layout = sheet_layout(paper)
    version = statement.version_for(language)
    numbers = iter(range(1, layout.rows_for(pages) + 1))
    page_rows = [
        [next(numbers) for _ in range(layout.first_page_rows)],
        *(
            [next(numbers) for _ in range(layout.other_page_rows)]
            for _page in range(pages - 1)
        ),
    ]
    size = PAPER_SIZES[paper]
    with override(language):
        html = render_to_string(
            "signatories/sheet.html",
            {
                "statement": statement,
                "version": version,
                "address": settings.SITE_URL + version.get_absolute_url(),
                "columns": _sheet_columns(),
                "pages": page_rows,
                "page_size": f"{size.width_mm}mm {size.height_mm}mm",
                "mm": {
                    "top": MARGIN_TOP_MM,
                    "bottom": MARGIN_BOTTOM_MM,
                    "heading": HEADING_MM,
                    "headers": COLUMN_HEADERS_MM,
                    "row": ROW_MM,
                },
            },
        )
    return HTML(string=html).write_pdf()
