"""A member contact on a phone: opens the pledge link, pledges, later reports back
with a photo."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from PIL import ExifTags, Image

from campaigns import links
from campaigns.models import Action, Campaign, Mission, Pledge, ReportPhoto
from ima_site.crypto import encrypt
from signatories.models import Contact, Organization
from signatories.services.contacts import contact_email_hash
from tests.e2e.conftest import csp_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def pledge_link():
    mission = Mission.objects.create(
        represented_country="MY",
        host_country="PH",
        city="Manila",
        kind=Mission.Kind.EMBASSY,
        name="Embassy of Malaysia in Manila",
        address="330 Sen. Gil Puyat Avenue, Makati",
        latitude=14.5547,
        longitude=121.0244,
        time_zone="Asia/Manila",
    )
    campaign = Campaign.objects.create(
        slug="stop-ops-mega",
        title="Stop Ops Mega 3.0",
        target_country="MY",
        status=Campaign.Status.ACTIVE,
    )
    action = Action.objects.create(
        campaign=campaign,
        slug="day-of-action",
        kind=Action.Kind.PROTEST,
        title="Day of action at the embassies of Malaysia",
        date=timezone.localdate() + timedelta(days=10),
        starts=time(10, 0),
        ends=time(12, 0),
        instructions="Bring **banners** and the letter.",
    )
    organization = Organization.objects.create(
        name="Migrante Manila", country="PH", city="Manila", is_member=True
    )
    contact = Contact.objects.create(
        organization=organization,
        name="Maria",
        email_hash=contact_email_hash("maria@members.example.org"),
        email_encrypted=encrypt("maria@members.example.org"),
    )
    url = links.contact_url(contact, "pledge", action)
    return url.split("/c/", 1)[1], action, mission


def photo_with_gps(path) -> None:
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (14.0, 33.0, 17.0)})
    Image.new("RGB", (64, 48), "red").save(path, "JPEG", exif=exif)


def test_a_contact_pledges_on_a_phone_then_reports_back_with_a_photo(
    browser, live_server, pledge_link, tmp_path
):
    tail, action, mission = pledge_link
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)

    page.goto(f"/c/{tail}")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Day of")
    assert page.get_by_text("Embassy of Malaysia in Manila").is_visible()
    assert page.get_by_text("10:00–12:00").is_visible()
    page.get_by_label("How many people do you expect?").fill("40")
    page.get_by_role("button", name="We will act").click()
    page.get_by_text("your pledge is saved").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    pledge = Pledge.objects.get()
    assert (pledge.expected_people, pledge.mission) == (40, mission)

    # The day has come and gone.
    action.date = timezone.localdate() - timedelta(days=1)
    action.save()
    photo = tmp_path / "at-the-embassy.jpg"
    photo_with_gps(photo)
    page.goto(f"/c/{tail}")
    page.get_by_label("Yes, it was held").check()
    page.get_by_label("How many people came?").fill("52")
    page.get_by_label("What happened, in a few lines").fill(
        "We read the letter aloud at the gate."
    )
    page.get_by_label("Press links").fill("https://news.example.org/manila")
    page.get_by_label("Photos").set_input_files(str(photo))
    page.get_by_role("button", name="Send our report").click()
    page.get_by_text("your report is saved").wait_for()

    pledge.refresh_from_db()
    assert (pledge.status, pledge.people) == ("held", 52)
    stored = ReportPhoto.objects.get()
    image = Image.open(stored.image.path)
    assert len(image.getexif()) == 0
    shown = page.get_by_role("img", name="Photo 1 of your report")
    # The page may be shown before the photo has arrived: wait for it to load.
    width = shown.evaluate(
        "img => img.complete && img.naturalWidth ? img.naturalWidth"
        " : new Promise(done => { img.onload = () => done(img.naturalWidth);"
        " img.onerror = () => done(0); })"
    )
    assert width == 64
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert violations == []
    context.close()
