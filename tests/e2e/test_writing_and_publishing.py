"""An editor writes and sends for review, a publisher confirms "Publish now": in a
real browser, with JavaScript and at a phone's width."""

import pytest
from playwright.sync_api import expect

from ima_site.models import OutboxMessage
from statements import emails
from statements.models import Statement
from tests.e2e.conftest import csp_violations, log_in
from tests.e2e.test_phone_and_accessibility import PHONE, sideways_overflow
from tests.factories import make_statement, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def organizer(username: str, group: str):
    user = make_user(username, groups=[group])
    user.email = f"{username}@example.org"
    user.save()
    return user


def test_an_editor_writes_sends_for_review_and_a_publisher_publishes(
    browser, live_server
):
    writer = organizer("writer", "Editors")
    approver = organizer("approver", "Publishers")

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    log_in(page, writer)

    page.goto("/admin/statements/statement/add/")
    page.fill("#id_title", "Solidarity with the striking farmworkers")
    # The script fills the address from the title while it is not typed by hand.
    expect(page.locator("#id_slug")).to_have_value(
        "solidarity-with-the-striking-farmworkers"
    )
    page.fill("#id_body", "We stand with the **strikers** of Huelva.")
    # The live preview follows the text…
    expect(page.locator(".live-preview strong")).to_have_text("strikers")
    # …and the Preview button shows it from the server, nothing saved.
    page.fill("#id_dateline", "Madrid, Spain")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#statement-preview strong")).to_have_text("strikers")
    expect(page.locator("#id_dateline")).to_have_value("Madrid, Spain")
    assert not Statement.objects.exists()

    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    statement = Statement.objects.get()
    assert statement.versions.get().is_original

    # An edit not saved yet, then "Send for review": the edit is kept.
    page.fill("#id_dateline", "Huelva, Spain")
    page.get_by_role("button", name="Send for review").click()
    expect(page.locator(".messagelist")).to_contain_text("Sent for review.")
    statement.refresh_from_db()
    assert statement.status == "in_review" and statement.dateline == "Huelva, Spain"
    assert OutboxMessage.objects.filter(kind=emails.REVIEW_REQUESTED).count() == 1
    assert violations == []
    context.close()

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    log_in(page, approver)
    page.goto(f"/admin/statements/statement/{statement.pk}/change/")
    page.get_by_role("button", name="Publish now").click()
    expect(page.locator("h1")).to_contain_text("Publish now?")
    expect(page.locator("#content-main table")).to_contain_text(
        "Solidarity with the striking farmworkers"
    )
    expect(page.locator(".signing-summary")).to_contain_text("does not take")
    statement.refresh_from_db()
    assert statement.status == "in_review"  # asked once, not yet done
    page.fill("#publish-note", "Thank you, out now.")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator(".messagelist")).to_contain_text("Published.")
    statement.refresh_from_db()
    assert statement.status == "published"
    assert OutboxMessage.objects.filter(kind=emails.AUTHOR_NOTICE).count() == 1
    assert violations == []
    context.close()


def test_the_statement_form_fits_a_360_px_phone(browser, live_server):
    writer = organizer("writer", "Editors")
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US", is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, writer)
    page.goto("/admin/statements/statement/add/")
    page.fill("#id_title", "A statement written on a phone")
    page.fill(
        "#id_body", "Some **text** and a long link https://example.org/" + "a" * 80
    )
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#statement-preview")).to_be_visible()
    overflow = sideways_overflow(page)
    assert overflow["scroll"] <= overflow["client"], overflow
    context.close()


def test_the_address_made_while_typing_is_the_one_saving_would_make(
    browser, live_server
):
    make_statement(slug="stop-the-raids")
    writer = organizer("writer", "Editors")
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, writer)
    page.goto("/admin/statements/statement/add/")
    # Taken already: the next free one, as the save does without the script.
    page.fill("#id_title", "Stop the raids!")
    expect(page.locator("#id_slug")).to_have_value("stop-the-raids-2")
    expect(page.locator(".slug-status")).to_have_text("This address is free.")
    # The same rules as the server's for what is not a letter or digit.
    page.fill("#id_title", "Ĉu snake_case?")
    expect(page.locator("#id_slug")).to_have_value("cu-snake_case")
    context.close()
