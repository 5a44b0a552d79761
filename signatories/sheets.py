"""Blank sign-up sheets to print, for gathering signatures on paper."""

from django.template.loader import render_to_string
from django.utils.translation import override

from statements.models import Statement

ROWS = 18


def sign_up_sheet_pdf(statement: Statement, language: str) -> bytes:
    """A PDF with the statement's title and summary and a table to fill in by hand."""
    from weasyprint import HTML  # loaded here: it needs Pango from the system

    version = statement.version_for(language)
    with override(language):
        html = render_to_string(
            "signatories/sheet.html",
            {"statement": statement, "version": version, "rows": range(ROWS)},
        )
    return HTML(string=html).write_pdf()
