"""The organizers' desk in a real browser, on a desktop and on a 360 px phone."""

import pytest
from playwright.sync_api import expect

from statements import services
from tests.e2e.conftest import csp_violations, log_in
from tests.factories import make_statement, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_TITLE = (
    "Stop the crackdown on undocumented workers in Malaysia: "
    "end Ops Mega 3.0 and the raids on dormitories, markets and building sites"
)


def test_a_publisher_sees_a_waiting_statement_on_the_desk_and_follows_it(page):
    publisher = make_user("publisher", groups=["Editors", "Publishers"])
    writer = make_user("writer", groups=["Editors"])
    statement = make_statement(slug="waiting", status="draft", title=LONG_TITLE)
    services.submit_for_review(statement=statement, by=writer)
    violations = csp_violations(page)

    log_in(page, publisher)

    waiting = page.locator("#desk-in_review")
    expect(waiting).to_contain_text(LONG_TITLE)
    expect(waiting).to_contain_text("sent by writer")
    waiting.get_by_role("link", name=LONG_TITLE).click()
    expect(page).to_have_url(f"/admin/statements/statement/{statement.pk}/change/")
    assert violations == []


def test_the_desk_fits_a_360_px_phone(browser, live_server):
    publisher = make_user("publisher", groups=["Editors", "Publishers"])
    make_statement(slug="waiting", status="draft", title=LONG_TITLE)
    services.submit_for_review(
        statement=make_statement(slug="w2", status="draft", title="x" * 180),
        by=publisher,
    )
    make_statement(slug="open", title=LONG_TITLE, accepts_signatures=True)
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": 360, "height": 740},
        locale="en-US",
    )
    phone = context.new_page()
    phone.set_default_timeout(15_000)
    try:
        log_in(phone, publisher)
        expect(phone.locator("#desk")).to_be_visible()
        scroll, client = phone.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, (scroll, client)
    finally:
        context.close()
