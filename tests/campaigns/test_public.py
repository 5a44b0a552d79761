"""The public's campaign, member and mission pages and their reading API."""

import re
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import (
    Action,
    Campaign,
    CampaignStatement,
    Mission,
    Pledge,
)
from campaigns.public import action_ends_at, public_actions
from ima_site.crypto import encrypt, keyed_hash
from signatories import worldmap
from signatories.models import Contact, Organization, SignatureCount
from tests.factories import make_statement

pytestmark = pytest.mark.django_db

TODAY = date.today()
LONG_AGO = TODAY - timedelta(days=30)
SOON = TODAY + timedelta(days=30)


def make_campaign(slug="stop-ops-mega", status="active", **fields):
    fields.setdefault("title", "Stop Ops Mega 3.0")
    fields.setdefault("summary", "Malaysia must stop arresting undocumented migrants.")
    fields.setdefault("target_country", "MY")
    fields.setdefault("target_authority", "The Government of Malaysia")
    fields.setdefault("demands", ["Stop the raids", "Free the detained"])
    fields.setdefault("hashtag", "#StopOpsMega")
    fields.setdefault("starts_on", date(2026, 6, 1))
    return Campaign.objects.create(slug=slug, status=status, **fields)


def make_action(campaign, slug, on, **fields):
    fields.setdefault("kind", Action.Kind.PROTEST)
    fields.setdefault("title", f"Day of action {slug}")
    fields.setdefault("starts", time(10, 0))
    fields.setdefault("ends", time(12, 0))
    fields.setdefault("instructions", "Bring **banners**.")
    return Action.objects.create(campaign=campaign, slug=slug, date=on, **fields)


def make_mission(host, city, *, lat=None, lon=None, zone="UTC", **fields):
    fields.setdefault("kind", Mission.Kind.EMBASSY)
    fields.setdefault("name", f"Embassy of Malaysia in {city}")
    return Mission.objects.create(
        represented_country="MY", host_country=host, city=city,
        latitude=lat, longitude=lon, time_zone=zone, **fields,
    )  # fmt: skip


def make_organization(name, country="PH", city="Manila", **fields):
    fields.setdefault("is_member", True)
    return Organization.objects.create(name=name, country=country, city=city, **fields)


def make_contact(organization, name, email):
    return Contact.objects.create(
        organization=organization,
        name=name,
        email_hash=keyed_hash("contact-email", email),
        email_encrypted=encrypt(email),
    )


def pledge(action, organization, mission=None, **fields):
    return Pledge.objects.create(
        action=action, organization=organization, mission=mission, **fields
    )


@pytest.fixture
def campaign():
    return make_campaign()


@pytest.fixture
def manila():
    return make_mission("PH", "Manila", lat=14.55, lon=121.02, zone="Asia/Manila")


@pytest.fixture
def tokyo():
    return make_mission("JP", "Tokyo", lat=35.66, lon=139.73, zone="Asia/Tokyo")


# --- Campaign pages ------------------------------------------------------------------


def test_the_list_shows_active_won_and_closed_campaigns_never_drafts(client):
    for status in ["active", "won", "closed"]:
        make_campaign(slug=f"c-{status}", status=status, title=f"Campaign {status}")
    make_campaign(slug="c-draft", status="draft", title="Secret plan")
    page = client.get("/campaigns/").content.decode()
    for status in ["active", "won", "closed"]:
        assert f"Campaign {status}" in page
    assert "Secret plan" not in page
    assert client.get("/campaigns/c-draft/").status_code == 404
    api = client.get("/api/v1/campaigns/").json()
    assert {row["slug"] for row in api["results"]} == {"c-active", "c-won", "c-closed"}
    assert client.get("/api/v1/campaigns/c-draft/").status_code == 404


def test_the_campaign_page_shows_its_demands_target_and_timeline(client, campaign):
    launch = make_statement(slug="launch", title="We launch Stop Ops Mega")
    letter = make_statement(
        slug="letter",
        title="Sign-on letter to the Prime Minister",
        accepts_signatures=True,
        issued_on=date(2026, 7, 5),
    )
    hidden = make_statement(slug="hidden", status="draft", title="Draft update")
    for position, (statement, role) in enumerate(
        [(launch, "launch"), (letter, "sign_on_letter"), (hidden, "update")]
    ):
        CampaignStatement.objects.create(
            campaign=campaign, statement=statement, role=role, position=position
        )
    SignatureCount.objects.create(
        statement=letter, country="PH", kind="person", count=7
    )
    page = client.get("/campaigns/stop-ops-mega/").content.decode()
    assert "Stop the raids" in page and "Free the detained" in page
    assert "The Government of Malaysia" in page and "Malaysia" in page
    assert "#StopOpsMega" in page
    assert "We launch Stop Ops Mega" in page and "Launch statement" in page
    assert "Sign-on letter to the Prime Minister" in page and "7 signatures" in page
    assert "Draft update" not in page
    detail = client.get("/api/v1/campaigns/stop-ops-mega/").json()
    assert [entry["statement"] for entry in detail["timeline"]] == ["launch", "letter"]
    assert detail["timeline"][1]["signatures"] == 7
    assert detail["demands"] == ["Stop the raids", "Free the detained"]


def test_actions_show_date_local_window_kind_and_rendered_instructions(
    client, campaign
):
    make_action(campaign, "day", SOON, instructions="Bring **banners**.")
    page = client.get("/campaigns/stop-ops-mega/").content.decode()
    assert "10:00–12:00 local time" in page
    assert "Protest at a mission" in page
    assert "<strong>banners</strong>" in page
    action = client.get("/api/v1/campaigns/stop-ops-mega/").json()["actions"][0]
    assert action["starts"] == "10:00" and action["ends"] == "12:00"
    assert action["kind"] == "protest" and not action["is_over"]


def test_before_an_action_the_public_sees_only_how_many_cities_pledged(
    client, campaign, manila, tokyo
):
    action = make_action(campaign, "upcoming", SOON)
    pledge(action, make_organization("Migrante Manila"), manila, expected_people=30)
    pledge(action, make_organization("Bayan Manila"), manila)
    pledge(
        action, make_organization("Tokyo Migrant Union", country="JP", city="Tokyo"),
        tokyo,
    )  # fmt: skip
    pledge(
        action, make_organization("Called off", country="JP", city="Osaka"),
        status=Pledge.Status.CANCELLED,
    )  # fmt: skip
    page = client.get("/campaigns/stop-ops-mega/").content.decode()
    assert "2 cities have pledged actions." in page
    for secret in ["Migrante", "Bayan", "Tokyo Migrant Union", "Called off",
                   "Tokyo", "Osaka", "Embassy of Malaysia"]:  # fmt: skip
        assert secret not in page, secret
    assert 'src="/campaigns/stop-ops-mega/map.svg"' not in page
    svg = client.get("/campaigns/stop-ops-mega/map.svg").content.decode()
    assert "<circle" not in svg and "Tokyo" not in svg
    api = client.get("/api/v1/campaigns/stop-ops-mega/").content.decode()
    assert '"pledged_cities":2' in api
    for secret in ["Migrante", "Tokyo", "Osaka", "Embassy"]:
        assert secret not in api, secret


def test_after_an_action_approved_reports_are_public_and_others_are_not(
    client, campaign, manila, tokyo
):
    action = make_action(campaign, "past", LONG_AGO)
    approved = {"status": Pledge.Status.HELD, "approved_at": timezone.now()}
    pledge(
        action, make_organization("Migrante Manila"), manila, people=40,
        account="We were 40 at the gate.", press_links=["https://news.example/a",
        "javascript:alert(1)"], **approved,
    )  # fmt: skip
    pledge(
        action, make_organization("Quiet Group", country="JP", city="Tokyo",
        listed=False), tokyo, people=5, **approved,
    )  # fmt: skip
    pledge(
        action, make_organization("Unapproved Org", country="JP", city="Osaka"),
        make_mission("JP", "Osaka", lat=34.69, lon=135.5), people=9,
        account="Not approved yet", status=Pledge.Status.HELD,
    )  # fmt: skip
    pledge(action, make_organization("Only Pledged", country="KR", city="Seoul"))
    page = client.get("/campaigns/stop-ops-mega/").content.decode()
    assert "Held in 2 places" in page
    assert "Manila, Philippines" in page and "Tokyo, Japan" in page
    assert "Migrante Manila" in page and "We were 40 at the gate." in page
    assert 'href="https://news.example/a"' in page and "javascript:" not in page
    # An organization that asked not to be listed is not named in its report.
    assert "Quiet Group" not in page and "A member organization" in page
    for hidden in ["Unapproved Org", "Osaka", "Not approved yet", "Only Pledged"]:
        assert hidden not in page, hidden
    assert 'src="/campaigns/stop-ops-mega/map.svg"' in page
    svg = client.get("/campaigns/stop-ops-mega/map.svg").content.decode()
    assert svg.count("<circle") == 2 and "Osaka" not in svg
    api = client.get("/api/v1/campaigns/stop-ops-mega/").json()["actions"][0]
    assert api["is_over"]
    assert {(p["city"], p["people"]) for p in api["held"]} == {
        ("Manila", 40),
        ("Tokyo", 5),
    }
    assert [r["organization"] for r in api["reports"]] == ["Migrante Manila", ""]
    assert api["reports"][0]["press_links"] == ["https://news.example/a"]


def test_an_action_at_every_embassy_is_over_only_when_the_last_zone_is_done(
    campaign, manila
):
    make_mission("US", "New York", zone="America/New_York")
    action = make_action(campaign, "evening", date(2026, 12, 10))
    pledge(
        action, make_organization("Early Reporter"), manila,
        status=Pledge.Status.HELD, approved_at=timezone.now(), people=3,
    )  # fmt: skip
    new_york_noon = datetime(2026, 12, 10, 12, 0, tzinfo=ZoneInfo("America/New_York"))
    [item] = public_actions(campaign, now=new_york_noon - timedelta(minutes=1))
    assert not item.is_over and item.reports == [] and item.pledged_cities == 1
    [item] = public_actions(campaign, now=new_york_noon)
    assert item.is_over and [r.organization for r in item.reports] == ["Early Reporter"]


def test_a_named_place_action_is_over_at_its_own_local_end(campaign):
    action = make_action(
        campaign, "rally", date(2026, 12, 10), where=Action.Where.PLACE,
        place_name="Plaza", place_city="Geneva", place_country="CH",
        place_time_zone="Europe/Zurich",
    )  # fmt: skip
    ends = action_ends_at(action, ["Pacific/Pago_Pago"])
    assert ends.isoformat() == "2026-12-10T12:00:00+01:00"


def test_hostile_campaign_text_is_escaped_everywhere(client):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    campaign = make_campaign(
        slug="evil", title=evil, summary=evil, demands=[evil], hashtag=evil,
        target_authority=evil, body=f"Body {evil} [link](javascript:alert(1))",
    )  # fmt: skip
    make_action(
        campaign, "a", SOON, title=evil, instructions=evil,
        where=Action.Where.PLACE, place_name=evil, place_city=evil,
        place_country="CH", place_time_zone="Europe/Zurich",
    )  # fmt: skip
    for url in ["/campaigns/", "/campaigns/evil/"]:
        page = client.get(url).content.decode()
        assert "<script>alert" not in page, url
        assert "<img src=x" not in page, url
        assert "javascript:" not in page, url
        assert "onerror=alert" not in page or "&lt;img" in page, url


def test_a_campaign_map_places_points_on_the_right_side_of_the_world():
    # Manila is east of Geneva and south of it, on the source map's projection.
    manila = worldmap.project(14.55, 121.02)
    geneva = worldmap.project(46.2, 6.14)
    lima = worldmap.project(-12.05, -77.04)
    assert lima[0] < geneva[0] < manila[0]
    assert geneva[1] < manila[1] < lima[1]
    svg = worldmap.render_map(
        {}, title="t", hidden_label="", names={}, points=[(14.55, 121.02, "<b>")]
    )
    assert "&lt;b&gt;" in svg and "<b>" not in svg


# --- Members and missions ------------------------------------------------------------


def test_members_lists_listed_registry_members_by_country_only(client):
    make_organization("Migrante International", acronym="MI", sector="Domestic work")
    make_organization("Kenya Diaspora Union", country="KE", city="Nairobi")
    make_organization("Shy Collective", listed=False)
    make_organization("Signed Once Org", is_member=False)
    page = client.get("/members/").content.decode()
    assert "Migrante International" in page and "(MI)" in page
    assert "Domestic work" in page and "Philippines" in page and "Kenya" in page
    assert page.index("Kenya") < page.index("Philippines")
    assert "Shy Collective" not in page and "Signed Once Org" not in page
    api = client.get("/api/v1/organizations/").json()
    assert {row["name"] for row in api["results"]} == {
        "Migrante International",
        "Kenya Diaspora Union",
    }
    assert set(api["results"][0]) == {"id", "name", "acronym", "country", "city",
                                      "sector"}  # fmt: skip
    filtered = client.get("/api/v1/organizations/?country=KE").json()
    assert [row["name"] for row in filtered["results"]] == ["Kenya Diaspora Union"]


def test_missions_of_a_country_are_grouped_by_host_country(client, manila, tokyo):
    make_mission("JP", "Osaka", kind=Mission.Kind.CONSULATE, name="Consulate Osaka",
                 phone="+81 6 0000", website="https://osaka.example/",
                 address="1-2 Namba", email="secret-desk@example.org")  # fmt: skip
    Mission.objects.create(
        represented_country="ID", host_country="JP", city="Tokyo", kind="embassy",
        name="Embassy of Indonesia", time_zone="Asia/Tokyo",
    )  # fmt: skip
    page = client.get("/missions/MY/").content.decode()
    assert "In Japan" in page and "In Philippines" in page
    assert "Consulate Osaka" in page and "1-2 Namba" in page and "+81 6 0000" in page
    assert 'href="https://osaka.example/"' in page
    assert "Embassy of Indonesia" not in page
    assert client.get("/missions/my/").status_code == 301
    assert client.get("/missions/XX/").status_code == 404
    assert client.get("/missions/NO/").status_code == 200
    api = client.get("/api/v1/missions/?represented_country=MY&host_country=JP").json()
    assert {row["city"] for row in api["results"]} == {"Tokyo", "Osaka"}
    assert "email" not in api["results"][0]


@pytest.mark.parametrize("query", ["host_country=jp", "represented_country=",
                                   "host_country=JPN"])  # fmt: skip
def test_a_wrong_country_filter_is_a_400_naming_it(client, query):
    response = client.get(f"/api/v1/missions/?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()


def test_list_pages_use_a_bounded_number_of_queries(client, campaign, manila):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    urls = ["/campaigns/", "/members/", "/missions/MY/", "/campaigns/stop-ops-mega/",
            "/api/v1/campaigns/", "/api/v1/missions/", "/api/v1/organizations/",
            "/api/v1/campaigns/stop-ops-mega/"]  # fmt: skip

    def add(numbers):
        for number in numbers:
            make_campaign(slug=f"more-{number}")
            make_organization(f"Member {number}", country="ID", city=f"City {number}")
            mission = make_mission("ID", f"City {number}", lat=-6, lon=106)
            on = SOON if number % 2 else LONG_AGO
            action = make_action(campaign, f"a{number}", on)
            pledge(
                action, make_organization(f"Pledger {number}"), mission,
                status=Pledge.Status.HELD, approved_at=timezone.now(), people=number,
            )  # fmt: skip

    add(range(2))
    before = {url: count(url) for url in urls}
    add(range(2, 17))
    after = {url: count(url) for url in urls}
    assert after == before


# --- The canary crawl ----------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.found.append(value)


def test_no_contact_name_or_email_appears_on_any_public_page_or_endpoint(client):
    campaign = make_campaign()
    past = make_action(campaign, "past", LONG_AGO)
    future = make_action(campaign, "future", SOON)
    mission = make_mission("PH", "Manila", lat=14.55, lon=121.02)
    canaries = []
    for number in range(3):
        organization = make_organization(f"Canary Org {number}", listed=number != 1)
        name, email = f"Zqxcanaryname{number}", f"zqxcanary{number}@example.org"
        contact = make_contact(organization, name, email)
        canaries += [name, email]
        pledge(
            past, organization, mission, status=Pledge.Status.HELD,
            approved_at=timezone.now(), people=10, updated_by=contact,
            account="We were there.",
        )  # fmt: skip
        pledge(future, organization, mission, updated_by=contact)
    statement = make_statement(slug="letter", accepts_signatures=True)
    CampaignStatement.objects.create(
        campaign=campaign, statement=statement, role="sign_on_letter"
    )
    start = ["/", "/campaigns/", "/members/", "/missions/MY/", "/api/v1/campaigns/",
             "/api/v1/missions/", "/api/v1/organizations/",
             "/api/v1/campaigns/stop-ops-mega/"]  # fmt: skip
    seen: set[str] = set()
    queue = list(start)
    while queue:
        url = queue.pop()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code != 200:
            continue
        body = response.content.decode(errors="replace")
        for canary in canaries:
            assert canary.lower() not in body.lower(), (canary, url)
        if "html" in response["Content-Type"]:
            parser = Links()
            parser.feed(body)
            targets = parser.found
        elif "json" in response["Content-Type"]:
            targets = re.findall(r'"(https?://[^"]+|/[^"]*)"', body)
        else:
            targets = []
        for target in targets:
            parts = urlsplit(urljoin(url, target))
            local = not parts.netloc or parts.netloc in ("testserver", "127.0.0.1:8000")
            if local and not parts.path.startswith(("/admin", "/static")):
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                if path not in seen and len(seen) < 400:
                    queue.append(path)
    assert "/campaigns/stop-ops-mega/" in seen and "/members/" in seen


def test_the_sitemap_lists_public_campaigns_only():
    from campaigns.sitemaps import CampaignPageSitemap, CampaignSitemap

    make_campaign(slug="public-one")
    make_campaign(slug="draft-one", status="draft")
    locations = [item.get_absolute_url() for item in CampaignSitemap().items()]
    assert locations == ["/campaigns/public-one/"]
    assert [
        CampaignPageSitemap().location(i) for i in CampaignPageSitemap().items()
    ] == ["/campaigns/", "/members/"]


def test_the_navigation_leads_to_the_campaigns(client):
    assert 'href="/campaigns/"' in client.get("/").content.decode()
