"""A publisher sends an alert from the admin in a real browser: the recipients, a
preview, a test to themselves, "Send now", and the counts climbing to "Sent" on
the page by themselves; at 1280 px and on a 360 px phone, nothing sideways."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from campaigns import sending
from campaigns.models import Alert, AlertDelivery
from tests.campaigns.conftest import make_alert
from tests.e2e.conftest import csp_violations, log_in
from tests.e2e.test_phone_and_accessibility import PHONE, sideways_overflow
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
CONTACTS = 12


@pytest.fixture
def here(monkeypatch, settings):
    """The bulk worker's part is played by the test, as `send_alert --here` does:
    no task is queued, and the test sends the batches while the page watches."""
    settings.ALERT_BATCH_SIZE = 4
    monkeypatch.setattr(sending, "start_senders", lambda alert_id: None)


@pytest.fixture
def alert(db):
    drafter = make_user("drafter", groups=["Editors"])
    return make_alert(contacts=CONTACTS, by=drafter)


def publisher():
    user = make_user("publisher", groups=["Publishers"])
    user.email = "publisher@secretariat.example.org"
    user.save()
    return user


def fits(page) -> None:
    overflow = sideways_overflow(page)
    assert overflow["scroll"] <= overflow["client"], (page.url, overflow)


def test_a_publisher_checks_tests_sends_and_watches_an_alert_go_out(
    browser, live_server, alert, here
):
    user = publisher()
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    change = f"/admin/campaigns/alert/{alert.pk}/change/"
    try:
        log_in(page, user, change)
        expect(page.locator("h1")).to_contain_text("Change alert")

        # Who gets it, and which embassy.
        page.get_by_role("link", name="Recipients", exact=True).click()
        table = page.locator("table.alert-matching")
        expect(table).to_contain_text("Migrant Workers Union 0")
        expect(table).to_contain_text("Embassy of Malaysia in Manila")
        expect(table).to_contain_text("10:00–12:00")
        fits(page)

        # The email as one of them gets it, and a test of it to me.
        page.get_by_role("link", name="Preview", exact=True).first.click()
        expect(page.locator(".alert-headers")).to_contain_text(
            "Day of action: 10 December"
        )
        frame = page.frame_locator("iframe.alert-email")
        expect(frame.locator("body")).to_contain_text(
            "Dear friends of Migrant Workers Union 0"
        )
        fits(page)
        page.get_by_role("button", name="as a test").click()
        expect(page.locator(".messagelist")).to_contain_text(
            "A test was sent to publisher@secretariat.example.org"
        )
        assert [message.to for message in mail.outbox] == [
            ["publisher@secretariat.example.org"]
        ]

        # Send now: asked once, with the counts.
        page.goto(change)
        page.get_by_role("button", name="Save and send now…").click()
        expect(page.locator(".alert-summary")).to_contain_text(
            f"{CONTACTS} contacts get this alert, in 2 organizations."
        )
        fits(page)
        assert not AlertDelivery.objects.exists()
        page.get_by_role("button", name="Send now").click()
        expect(page.locator(".messagelist")).to_contain_text(
            f"Sending to {CONTACTS} contacts."
        )
        progress = page.locator("#alert-progress")
        expect(progress.locator('[data-progress="total"]')).to_have_text(str(CONTACTS))
        expect(progress.locator('[data-progress="sent"]')).to_have_text("0")
        expect(progress.locator('[data-progress="status_display"]')).to_have_text(
            "Sending"
        )
        # Frozen: the texts are no longer a form.
        expect(page.locator('textarea[name="versions-0-body"]')).to_have_count(0)

        # Pause and resume: buttons of their own forms, saving nothing.
        page.get_by_role("button", name="Pause").click()
        expect(page.locator(".messagelist")).to_contain_text("Paused")
        expect(progress.locator('[data-progress="status_display"]')).to_have_text(
            "Paused"
        )
        page.get_by_role("button", name="Resume").click()
        expect(page.locator(".messagelist")).to_contain_text("Resumed.")
        expect(progress.locator('[data-progress="status_display"]')).to_have_text(
            "Sending"
        )

        # The bulk worker's part; the page follows without a reload.
        while sending.send_batch(alert_id=alert.pk):
            pass
        assert sending.finish_if_done(alert_id=alert.pk)
        expect(progress.locator('[data-progress="sent"]')).to_have_text(
            str(CONTACTS), timeout=20_000
        )
        expect(progress.locator('[data-progress="status_display"]')).to_have_text(
            "Sent"
        )
        expect(progress.locator('[data-progress="waiting"]')).to_have_text("0")
        assert Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT
        assert len(mail.outbox) == 1 + CONTACTS
        fits(page)
        assert violations == []
    finally:
        context.close()


def test_the_alert_pages_fit_a_360_px_phone(browser, live_server, alert):
    user = publisher()
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US", is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    base = f"/admin/campaigns/alert/{alert.pk}/"
    try:
        log_in(page, user, base + "change/")
        expect(page.locator("h1")).to_contain_text("Change alert")
        for path in (
            "change/",
            "recipients/",
            "preview/",
            "send/",
            "schedule/",
            "schedule-local/",
        ):
            page.goto(base + path)
            expect(page).to_have_url(live_server.url + base + path)
            expect(page.locator("h1")).not_to_contain_text("login")
            fits(page)
        page.goto("/admin/")
        fits(page)
        assert violations == []
    finally:
        context.close()


def test_the_place_fields_show_only_for_an_action_at_a_named_place(
    browser, live_server, alert
):
    user = publisher()
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)
    try:
        log_in(page, user, "/admin/campaigns/action/add/")
        expect(page.locator("#id_place_name")).to_be_hidden()
        page.select_option("#id_where", "place")
        expect(page.locator("#id_place_name")).to_be_visible()
        page.select_option("#id_where", "nearest_mission")
        expect(page.locator("#id_place_name")).to_be_hidden()
        assert violations == []
    finally:
        context.close()
