import io
import re
from datetime import UTC, date, datetime

import pytest
from django.conf import settings
from django.utils import timezone

from signatories import charts, sheets
from signatories.models import Signature, SignatureCount
from signatories.paper import COLUMNS, read_paper_file
from tests.factories import make_statement, make_user

pytestmark = pytest.mark.django_db


def test_world_map_is_a_small_svg_shaded_by_country(client, open_statement):
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=40
    )
    SignatureCount.objects.create(
        statement=open_statement, country="MY", kind="person", count=2
    )
    SignatureCount.objects.create(
        statement=open_statement, country="ID", kind="person", count=12
    )
    response = client.get(
        f"/statements/{open_statement.slug}/map.svg", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) < 40_000
    import gzip

    svg = gzip.decompress(response.content).decode()
    assert "<title>Philippines: 40</title>" in svg
    # Malaysia's 2 would be the total less the others: Indonesia, the smallest
    # shown, is hidden beside it, and both look alike.
    assert "<title>Malaysia: not shown</title>" in svg
    assert "<title>Indonesia: not shown</title>" in svg
    assert ": 2<" not in svg and ": 12<" not in svg
    assert "<script" not in svg


def test_map_of_a_draft_is_not_found(client, draft):
    assert client.get(f"/statements/{draft.slug}/map.svg").status_code == 404


def test_charts_for_organizers_only(client, publisher, editor, open_statement):
    from signatories.models import Signature

    Signature.objects.create(
        statement=open_statement, name="x", country="PH", status="confirmed"
    )
    url = f"/admin/signatories/signature/chart/?statement={open_statement.pk}"
    client.force_login(editor)
    assert client.get(url).status_code == 403
    client.force_login(publisher)
    body = client.get(url).content.decode()
    assert body.count('class="chart"') == 3
    assert "Philippines" in body
    assert "1 signature counted" in body


def test_blank_sign_up_sheet_is_a_pdf(client, open_statement):
    pytest.importorskip("weasyprint", reason="WeasyPrint needs Pango from the system")
    organizer = make_user("sheet-printer", groups=["Publishers"])
    client.force_login(organizer)
    response = client.get(
        f"/admin/signatories/signature/sheet/?statement={open_statement.pk}&language=es"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_the_sheet_page_says_its_button_downloads_a_pdf(client, open_statement):
    client.force_login(make_user("sheet-printer", groups=["Publishers"]))
    body = client.get("/admin/signatories/signature/sheet/").content.decode()
    assert 'value="Download the PDF"' in body
    assert 'value="Show the charts"' not in body


def test_sheet_needs_the_permission(client, editor, open_statement):
    client.force_login(editor)
    url = f"/admin/signatories/signature/sheet/?statement={open_statement.pk}"
    assert client.get(url).status_code == 403


# --- The blank sign-up sheet ----------------------------------------------------


def sheet_pages(statement, **options) -> list[str]:
    """The text of each page of the sheet's PDF, as a reader gets it back."""
    pytest.importorskip("weasyprint", reason="WeasyPrint needs Pango from the system")
    from pypdf import PdfReader

    pdf = sheets.sign_up_sheet_pdf(statement, options.pop("language", "en"), **options)
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def row_numbers(text: str) -> list[int]:
    return [int(line) for line in text.splitlines() if re.fullmatch(r"\d+", line)]


@pytest.mark.parametrize("paper", ["A4", "Letter"])
@pytest.mark.parametrize("pages", [1, 3])
def test_sign_up_sheet_fills_every_page_and_prints_the_address_on_each(
    open_statement, paper, pages
):
    layout = sheets.sheet_layout(paper)
    texts = sheet_pages(open_statement, paper=paper, pages=pages)
    assert len(texts) == pages
    address = f"{settings.SITE_URL}/statements/{open_statement.slug}/"
    numbers = []
    for number, text in enumerate(texts, start=1):
        assert address in text
        assert f"{number} / {pages}" in text
        numbers += row_numbers(text)
    assert numbers[: layout.rows_for(pages)] == list(
        range(1, layout.rows_for(pages) + 1)
    )
    # A page holds many rows, not one: the last page is as full as the others.
    assert layout.first_page_rows >= 10 and layout.other_page_rows >= 15
    assert len(set(row_numbers(texts[-1])) & set(numbers)) >= layout.first_page_rows


def test_one_more_row_per_page_would_not_fit(open_statement, monkeypatch):
    """The computed rows fill each page to its bottom."""
    full = sheets.sheet_layout("A4")
    monkeypatch.setattr(
        sheets, "sheet_layout",
        lambda paper="A4": sheets.SheetLayout(full.first_page_rows + 1,
                                              full.other_page_rows + 1),
    )  # fmt: skip
    assert len(sheet_pages(open_statement, pages=1)) == 2


def test_pages_for_a_number_of_rows_round_up_to_full_pages():
    layout = sheets.SheetLayout(first_page_rows=14, other_page_rows=19)
    assert [layout.pages_for(n) for n in (1, 14, 15, 33, 34)] == [1, 1, 2, 2, 3]


def test_sheet_columns_are_the_imports_in_its_order(open_statement):
    (text,) = sheet_pages(open_statement)
    headers = [str(column.label) for column in COLUMNS]
    positions = [text.index(header) for header in headers]
    assert positions == sorted(positions)
    assert text.index("#") < positions[0] < positions[-1] < text.index("Signature")


def test_a_typed_up_spanish_sheet_is_a_file_the_import_reads(open_statement):
    text = sheet_pages(open_statement, language="es")[0]
    # The Spanish headings, each with the import's own name under it.
    for key in ("name", "country", "organization", "city", "kind"):
        assert key in text
    assert "Nombre" in text and "País" in text
    from django.utils import translation

    with translation.override("es"):
        header = ",".join(column["label"] for column in sheets._sheet_columns())
    (row,) = read_paper_file(data=f"{header}\nAna,Filipinas,,,Manila,\n".encode())
    assert (row.country, row.city) == ("PH", "Manila")


def test_sheet_form_refuses_a_paper_size_it_does_not_know(client, open_statement):
    client.force_login(make_user("sheet-printer-2", groups=["Publishers"]))
    response = client.get(
        f"/admin/signatories/signature/sheet/?statement={open_statement.pk}"
        "&language=en&paper=Tabloid"
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


# --- Charts ------------------------------------------------------------------------


def signed_at(statement, when: datetime, **fields) -> Signature:
    signature = Signature.objects.create(
        statement=statement,
        status="confirmed",
        **{"name": "x", "country": "PH", **fields},
    )
    Signature.objects.filter(pk=signature.pk).update(created_at=when)
    return signature


def test_days_are_the_organizers_days(open_statement):
    # 20:00 in London on 1 March is already 2 March in Manila.
    signed_at(open_statement, datetime(2026, 3, 1, 20, 0, tzinfo=UTC))
    with timezone.override("Europe/London"):
        assert charts.signatures_by_day(open_statement) == {date(2026, 3, 1): 1}
    with timezone.override("Asia/Manila"):
        assert charts.signatures_by_day(open_statement) == {date(2026, 3, 2): 1}


def test_total_over_time_has_dated_axis_total_and_goal_line(open_statement):
    signed_at(open_statement, datetime(2026, 3, 2, 10, tzinfo=UTC))
    signed_at(open_statement, datetime(2026, 3, 2, 11, tzinfo=UTC))
    signed_at(open_statement, datetime(2026, 3, 20, 9, tzinfo=UTC))
    with timezone.override("UTC"):
        points = charts.running_total(open_statement)
        svg = charts.total_over_time(points, goal=100, title="Total")
    assert points[0] == (date(2026, 3, 1), 0)
    assert points[1] == (date(2026, 3, 2), 2)
    assert points[-1][0] == timezone.localdate() and points[-1][1] == 3
    assert ">Total: 3<" in svg
    assert 'class="goal"' in svg and ">Goal: 100<" in svg
    assert ">2 Mar<" in svg or ">1 Mar<" in svg or ">Mar 2026<" in svg
    assert "<script" not in svg


def test_no_goal_line_without_a_goal():
    svg = charts.total_over_time(
        [(date(2026, 3, 1), 0), (date(2026, 3, 2), 5)], goal=None, title="Total"
    )
    assert 'class="goal"' not in svg and ">Total: 5<" in svg
    # Short spans are labelled by day and month, both ends shown.
    assert ">1 Mar<" in svg and ">2 Mar<" in svg


def test_goal_above_the_total_is_within_the_chart():
    svg = charts.total_over_time(
        [(date(2026, 3, 1), 0), (date(2026, 3, 2), 5)], goal=1000, title="t"
    )
    y = float(re.search(r'<line [^>]*y1="([\d.]+)"[^>]*class="goal"', svg).group(1))
    assert 0 < y < 280


def test_per_day_chart_has_one_dated_column_per_day_up_to_today(open_statement):
    signed_at(open_statement, timezone.now())
    days = charts.signatures_per_day(open_statement)
    assert len(days) == 30 and days[-1] == (timezone.localdate(), 1)
    svg = charts.vertical_bars(days, title="Per day")
    assert svg.count("<rect") == 30
    today = days[-1][0]
    assert f">{today.day} {today.strftime('%b')}<" in svg


def test_date_ticks_are_few_and_evenly_spaced():
    ticks = charts.day_ticks(date(2026, 1, 1), date(2026, 12, 31))
    assert len(ticks) <= 8
    assert ticks[-1] == date(2026, 12, 31)
    gaps = {(b - a).days for a, b in zip(ticks[1:], ticks[2:], strict=False)}
    assert len(gaps) <= 1


def test_chart_labels_are_escaped():
    svg = charts.horizontal_bars(
        [charts.Bar(label="<script>alert(1)</script>", value=3)], title='a"b<c'
    )
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'aria-label="a&quot;b&lt;c"' in svg


def test_chart_page_states_the_total_goal_and_time_zone(client, publisher):
    statement = make_statement(
        slug="charted", status="published", accepts_signatures=True, signature_goal=250
    )
    signed_at(statement, timezone.now())
    client.force_login(publisher)
    body = client.get(
        f"/admin/signatories/signature/chart/?statement={statement.pk}"
    ).content.decode()
    summary = body[body.index('id="chart-summary"') :]
    assert "1 signature counted" in summary and "goal: 250" in summary
    assert "Days are in the time zone" in summary
    assert ">Goal: 250<" in body and ">Total: 1<" in body
