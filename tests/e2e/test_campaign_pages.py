"""The campaign, member and mission pages on a 360 px phone: nothing sideways."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from campaigns.models import Action, Campaign, Mission, Pledge
from signatories.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
LONG_WORD = "Internationalmigrantsalliancesolidaritycampaignfordetainedworkers"


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US", is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def campaign():
    campaign = Campaign.objects.create(
        slug="stop-ops-mega",
        status="active",
        title="Stop Ops Mega 3.0: stop the mass arrests of undocumented migrants",
        summary=f"Malaysia must stop arresting undocumented migrants. {LONG_WORD}",
        target_country="MY",
        target_authority="The Government of Malaysia and the Ministry of Home Affairs",
        demands=["Stop the raids now", f"Free all detained migrants {LONG_WORD}"],
        hashtag="#StopOpsMegaNowAndForeverForAllMigrantWorkers",
    )
    manila = Mission.objects.create(
        represented_country="MY", host_country="PH", city="Manila", kind="embassy",
        name="Embassy of Malaysia in Manila", latitude=14.55, longitude=121.02,
        time_zone="Asia/Manila", website=f"https://example.org/{LONG_WORD}/{LONG_WORD}",
        address="330 Senator Gil Puyat Avenue, Makati City",
    )  # fmt: skip
    for slug, on in [("past", date.today() - timedelta(days=20)),
                     ("next", date.today() + timedelta(days=20))]:  # fmt: skip
        action = Action.objects.create(
            campaign=campaign, slug=slug, kind="protest", title=f"Day of action {slug}",
            date=on, starts=time(10), ends=time(12),
            instructions=f"Gather at the embassy. https://example.org/{LONG_WORD}",
        )  # fmt: skip
        organization = Organization.objects.create(
            name=f"Migrante International {slug} {LONG_WORD}", country="PH",
            city="Manila", is_member=True, sector="Domestic work",
        )  # fmt: skip
        Pledge.objects.create(
            action=action, organization=organization, mission=manila,
            status=Pledge.Status.HELD, approved_at=timezone.now(), people=40,
            account=f"We were 40. {LONG_WORD}",
            press_links=[f"https://news.example/{LONG_WORD}{LONG_WORD}"],
        )  # fmt: skip
    return campaign


def sideways_overflow(page) -> dict:
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          const wide = [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + "." + e.className);
          return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide};
        }"""
    )


def test_campaign_pages_fit_a_360_px_phone(phone, campaign):
    for path in ["/campaigns/", "/campaigns/stop-ops-mega/", "/members/",
                 "/missions/MY/", "/es/campaigns/stop-ops-mega/"]:  # fmt: skip
        response = phone.goto(path)
        assert response.status == 200, path
        overflow = sideways_overflow(phone)
        assert overflow["scroll"] <= overflow["client"], (path, overflow)


def test_the_campaign_page_shows_its_map_and_reports_without_javascript(
    browser, live_server, campaign
):
    context = browser.new_context(
        base_url=live_server.url, java_script_enabled=False, locale="en-US"
    )
    page = context.new_page()
    page.goto("/campaigns/stop-ops-mega/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Stop Ops")
    assert page.locator("img.map").evaluate("img => img.naturalWidth") > 0
    assert "1 city has pledged actions." in page.content()
    assert "We were 40." in page.content()
    context.close()
