"""An organizer adds a typed-up paper sheet with one row already signed, on a
desktop and on a 360 px phone."""

import pytest
from playwright.sync_api import expect

from signatories.models import PaperImport, Signature
from tests.e2e.conftest import csp_violations, log_in
from tests.factories import make_statement, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHEET = (
    "name,country,organization,city\n"
    "Ana Reyes,Filipinas,Migrante International,Manila\n"
    "Budi Santoso,Indonesia,,Jakarta\n"
    "Maria Clara de los Santos y Buenaventura-Villanueva,Pilipinas,"
    "Samahan ng mga Manggagawang Migrante sa Hong Kong at Macau,Quezon City\n"
)


def add_sheet(page, tmp_path, statement) -> None:
    sheet = tmp_path / "sheet-from-the-rally.csv"
    sheet.write_text(SHEET, encoding="utf-8")
    page.goto("/admin/signatories/signature/paper/")
    page.select_option("#id_statement", str(statement.pk))
    page.fill("#id_collected_by", "Migrante HK")
    page.set_input_files("#id_file", str(sheet))
    page.get_by_role("button", name="Check the file").click()


@pytest.fixture
def statement_with_a_signer():
    statement = make_statement(slug="paper-sheet", accepts_signatures=True)
    Signature.objects.create(
        statement=statement, name="Maria Clara de los Santos y Buenaventura-Villanueva",
        country="PH", city="Quezon City", status="confirmed",
    )  # fmt: skip
    return statement


def test_organizer_checks_a_sheet_skips_the_repeat_and_adds_the_rest(
    page, tmp_path, statement_with_a_signer
):
    violations = csp_violations(page)
    log_in(page, make_user("paper-desk", groups=["Publishers"]))
    add_sheet(page, tmp_path, statement_with_a_signer)

    expect(page.locator("#paper-counts")).to_contain_text("2 new signatures")
    expect(page.locator("#paper-counts")).to_contain_text("1 repeated row")
    expect(page.locator("#paper-repeats")).to_contain_text("Already signed on")
    expect(page.get_by_label("Skip them: they are already there")).to_be_checked()
    assert Signature.objects.filter(source="paper").count() == 0

    page.get_by_role("button", name="Add the signatures").click()
    expect(page.locator(".messagelist")).to_contain_text("2 paper signatures added to")
    expect(page.locator(".messagelist")).to_contain_text("1 repeated rows skipped")
    assert sorted(
        Signature.objects.filter(source="paper").values_list("name", flat=True)
    ) == ["Ana Reyes", "Budi Santoso"]
    assert PaperImport.objects.get().skipped == 1
    assert violations == []


def test_the_check_page_fits_a_360_px_phone(browser, live_server, tmp_path,
                                            statement_with_a_signer):  # fmt: skip
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 740},
        locale="en-US",
    )  # fmt: skip
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, make_user("paper-phone", groups=["Publishers"]))
        add_sheet(page, tmp_path, statement_with_a_signer)
        expect(page.locator("#paper-repeats")).to_be_visible()
        width = page.evaluate(
            "() => [document.documentElement.scrollWidth,"
            " document.documentElement.clientWidth]"
        )
        assert width[0] <= width[1], width
    finally:
        context.close()
