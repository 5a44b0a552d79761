"""A reviewer works through signatures in the admin, on a laptop's screen."""

import pytest
from playwright.sync_api import expect

from signatories.models import Signature
from tests.e2e.conftest import csp_violations, log_in
from tests.factories import make_statement, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture
def reviewer_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=LAPTOP, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(
        page,
        make_user("reviewer", groups=["Publishers"]),
        "/admin/login/?next=/admin/signatories/signature/",
    )
    yield page
    context.close()


def sign_many(statement, count: int, **fields) -> list[Signature]:
    return [
        Signature.objects.create(
            statement=statement,
            **{
                "name": f"Signer number {i}",
                "country": "PH",
                "status": "confirmed",
                **fields,
            },
        )  # fmt: skip
        for i in range(count)
    ]


def test_the_signature_list_fits_a_1280_px_screen(reviewer_page):
    statement = make_statement(
        slug="stop-the-crackdown-on-undocumented-workers-in-malaysia",
        accepts_signatures=True,
    )
    sign_many(
        statement, 3, organization="Migrante International Hong Kong Chapter",
        role="Secretary general", city="Kowloon",
    )  # fmt: skip
    Signature.objects.create(
        statement=statement, kind="organization", name="Contact person",
        organization="Asia Pacific Mission for Migrants and their Families",
        country="CD", status="pending", is_held=True, hold_reason="network-burst",
    )  # fmt: skip
    page = reviewer_page
    page.reload()
    expect(page.locator("#result_list")).to_contain_text("network-burst")
    widths = page.evaluate(
        """() => ({
            page: document.documentElement.scrollWidth,
            screen: document.documentElement.clientWidth,
            table: document.querySelector("#result_list").scrollWidth,
            box: document.querySelector("#result_list").parentElement.clientWidth,
        })"""
    )
    assert widths["page"] <= widths["screen"], widths
    assert widths["table"] <= widths["box"], widths


def test_a_reviewer_holds_and_releases_a_signature_with_its_buttons(reviewer_page):
    statement = make_statement(slug="hold-me", accepts_signatures=True)
    [signature] = sign_many(statement, 1, name="Ana Reyes")
    page = reviewer_page
    violations = csp_violations(page)
    page.goto(f"/admin/signatories/signature/{signature.pk}/change/")
    page.get_by_role("button", name="Hold", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("1 signature held.")
    signature.refresh_from_db()
    assert signature.is_held
    page.get_by_role("button", name="Release", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("1 signature released.")
    signature.refresh_from_db()
    assert not signature.is_held
    expect(page.get_by_role("button", name="Hold", exact=True)).to_be_visible()
    assert violations == []


def test_erasing_six_selected_rows_asks_once_and_says_six(reviewer_page):
    statement = make_statement(slug="erase-us", accepts_signatures=True)
    rows = sign_many(statement, 8)
    page = reviewer_page
    page.reload()
    for signature in rows[:6]:
        page.locator(f"input.action-select[value='{signature.pk}']").check()
    page.select_option("select[name='action']", "erase")
    page.get_by_role("button", name="Run").click()

    expect(page.locator("#review-count")).to_have_text("This touches 6 signatures.")
    expect(page.locator("#content-main")).to_contain_text("cannot be undone")
    assert Signature.objects.count() == 8
    page.get_by_role("button", name="Erase 6 signatures").click()

    expect(page.locator(".messagelist")).to_contain_text("6 signatures erased.")
    assert set(Signature.objects.all()) == set(rows[6:])
