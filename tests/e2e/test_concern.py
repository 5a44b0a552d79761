"""A member contact on a phone writes its letter of concern from the template,
uploads nothing, agrees to show its address and sends it for approval; a
Publisher approves it as read; the letter goes to the mission."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from campaigns import concern, concern_sending, links
from campaigns.models import Action, Campaign, LetterOfConcern, Mission
from ima_site.crypto import encrypt
from signatories.models import Contact, Organization
from signatories.services.contacts import contact_email_hash
from tests.e2e.conftest import csp_violations
from tests.e2e.test_phone_and_accessibility import serious_violations
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def test_a_member_writes_its_letter_on_a_phone_and_it_goes_once_approved(
    browser, live_server, mailoutbox
):
    Mission.objects.create(
        represented_country="MY",
        host_country="PH",
        city="Manila",
        kind=Mission.Kind.EMBASSY,
        name="Embassy of Malaysia in Manila",
        email="manila@missions.example.org",
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
        slug="letter",
        kind=Action.Kind.LETTER_OF_CONCERN,
        title="Send a letter of concern",
        date=timezone.localdate() + timedelta(days=10),
        starts=time(9, 0),
        letter_template="Your Excellency,\n\nWe, {organization}, are concerned.",
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
    path = links.contact_path(contact, "concern", action)
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    violations = csp_violations(page)

    page.goto(path)
    assert page.get_by_text("Embassy of Malaysia in Manila").is_visible()
    assert serious_violations(page) == []
    letter = page.get_by_role("textbox", name="Your letter")
    assert "We, Migrante Manila, are concerned." in letter.input_value()
    letter.fill(letter.input_value() + "\n\nRelease the workers held in Kajang.")
    page.get_by_role("button", name="Send for approval").click()
    page.get_by_text("Tick this box").wait_for()
    assert serious_violations(page) == []
    assert not LetterOfConcern.objects.filter(stage="submitted").exists()
    page.get_by_label("I agree that the mission sees this address").check()
    page.get_by_role("button", name="Send for approval").click()
    page.get_by_text("waits for the secretariat's approval").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert violations == []
    context.close()

    submitted = LetterOfConcern.objects.get()
    assert "Kajang" in submitted.text
    publisher = make_user("concern-publisher", groups=["Publishers"])
    concern.approve_concern(
        concern=submitted, by=publisher, version=concern.concern_version(submitted)
    )
    assert concern_sending.send_concern(submitted.pk)
    (email,) = mailoutbox
    assert email.to == ["manila@missions.example.org"]
    assert email.cc == ["maria@members.example.org"]
