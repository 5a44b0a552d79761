"""Members' letters of concern: written from the template or uploaded through the
personal link, approved by a Publisher, sent to the member's mission with the
member in copy (through a real SMTP server), and reminders to those who have
not sent."""

from __future__ import annotations

import io
import re

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from campaigns import concern, concern_sending, links, sending
from campaigns.emails import AlertContent, AlertRenderer
from campaigns.models import Action, AlertDelivery, LetterOfConcern, Mission
from campaigns.recipients import alert_recipients
from ima_site.models import AuditEntry
from signatories.models import Contact
from tests.campaigns.conftest import contact_email, make_action, make_alert
from tests.campaigns.letters import pdf_bytes
from tests.factories import make_user

pytestmark = pytest.mark.django_db

TEMPLATE = (
    "To {mission_name}\n\n"
    "We, {organization}, are deeply concerned about the arrests of migrant "
    "workers.\n\nRelease them now."
)


@pytest.fixture(autouse=True)
def fresh_network_limit():
    """The link form counts requests per network in the shared cache for an hour:
    each test starts from none, whatever ran before it."""
    from django.core.cache import cache

    from campaigns.concern_link import network_key

    cache.delete(network_key("127.0.0.1"))
    yield
    cache.delete(network_key("127.0.0.1"))


@pytest.fixture
def action(db):
    action = make_action(kind=Action.Kind.LETTER_OF_CONCERN, letter_template=TEMPLATE)
    for mission in Mission.objects.all():
        mission.email = f"{mission.city.lower().replace(' ', '')}@missions.example.org"
        mission.save()
    return action


@pytest.fixture
def alert(action):
    return make_alert(action=action, contacts=20, body="Write: {letter_link}")


@pytest.fixture
def contact(alert):
    return Contact.objects.select_related("organization").order_by("id").first()


def page(contact, action) -> str:
    return links.contact_path(contact, "concern", action)


def submit(client, url, **data):
    return client.post(url, {"submit": "1", "share_address": "on", **data})


def test_the_page_starts_from_the_template_filled_for_the_member(
    client, action, contact
):
    answer = client.get(page(contact, action))
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Embassy of Malaysia in Manila" in html
    assert f"We, {contact.organization.name}, are deeply concerned" in html
    assert answer["Cache-Control"].startswith("max-age=0")


def test_a_member_sends_the_letter_for_approval_and_nothing_goes_yet(
    client, action, contact, mailoutbox
):
    url = page(contact, action)
    answer = submit(client, url, text="Dear Excellency,\n\nRelease them.")
    assert answer.status_code == 302
    letter = LetterOfConcern.objects.get()
    assert (letter.stage, letter.organization, letter.mission.city) == (
        "submitted",
        contact.organization,
        "Manila",
    )
    assert mailoutbox == []
    assert AuditEntry.objects.filter(action="concern.submit").count() == 1
    assert "waits for the secretariat" in client.get(url).content.decode()


def test_an_empty_letter_is_refused_naming_what_is_missing(client, action, contact):
    answer = submit(client, page(contact, action), text="   ")
    assert answer.status_code == 400
    assert "Write your letter" in answer.content.decode()
    assert LetterOfConcern.objects.get().stage == "draft"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"GIF89a", "not a PDF"),
        (None, "JavaScript"),
    ],
)
def test_an_upload_that_is_not_a_clean_pdf_is_refused(
    client, action, contact, content, message
):
    data = content if content is not None else pdf_bytes(javascript=True)
    answer = submit(
        client,
        page(contact, action),
        text="",
        pdf=SimpleUploadedFile("letter.pdf", data, "application/pdf"),
    )
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not LetterOfConcern.objects.filter(stage="submitted").exists()


def test_a_too_big_upload_is_refused_with_the_limit(client, action, contact, settings):
    settings.LETTER_UPLOAD_LIMIT = 1000
    answer = submit(
        client,
        page(contact, action),
        pdf=SimpleUploadedFile("letter.pdf", pdf_bytes() + b" " * 2000),
    )
    assert answer.status_code == 400
    assert "too big" in answer.content.decode()


def test_another_purpose_or_action_cannot_open_the_page(client, action, contact):
    pledge = links.contact_path(contact, "pledge", action)
    token = pledge.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/c/letter/{token}/").status_code == 404
    other = Action.objects.create(
        campaign=action.campaign,
        slug="protest",
        kind=Action.Kind.PROTEST,
        title="Protest",
        date=action.date,
        starts=action.starts,
    )
    assert client.get(page(contact, other)).status_code == 404


def test_only_a_publisher_approves_and_an_editor_is_refused(action, contact):
    letter = concern.save_concern(
        contact=contact, action=action, text="Release them.", submit=True
    )
    editor = make_user("concern-editor", groups=["Editors"])
    with pytest.raises(PermissionDenied):
        concern.approve_concern(concern=letter, by=editor)
    letter.refresh_from_db()
    assert letter.stage == "submitted"


def test_an_approved_letter_goes_once_to_the_mission_with_the_member_in_copy(
    action, contact, organizer, sink, django_capture_on_commit_callbacks
):
    letter = concern.save_concern(
        contact=contact,
        action=action,
        text="Excellency,\n\nWe ask you to release the workers held in Manila.",
        submit=True,
    )
    with django_capture_on_commit_callbacks() as queued:
        concern.approve_concern(concern=letter, by=organizer)
    assert len(queued) == 1
    assert concern_sending.send_concern(letter.pk) is True
    # The same task again (a redelivery) sends nothing more.
    assert concern_sending.send_concern(letter.pk) is False
    assert len(sink.inbox.messages) == 1
    recipients, message = sink.inbox.messages[0]
    member = contact_email(0)
    assert sorted(recipients) == sorted(["manila@missions.example.org", member])
    assert message["To"] == "manila@missions.example.org"
    assert message["Cc"] == member and message["Reply-To"] == member
    (attachment,) = list(message.iter_attachments())
    pdf = attachment.get_payload(decode=True)
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "release the workers held in Manila" in text
    assert contact.organization.name in text
    letter.refresh_from_db()
    assert letter.status == "sent" and letter.smtp_response.startswith("250")
    # The member cannot change it any more.
    with pytest.raises(concern.ConcernError):
        concern.save_concern(contact=contact, action=action, text="Changed")


def test_a_refused_letter_shows_the_note_and_can_be_sent_again(
    client, action, contact, organizer
):
    letter = concern.save_concern(
        contact=contact, action=action, text="Release them.", submit=True
    )
    concern.refuse_concern(concern=letter, by=organizer, note="Name the ministry.")
    url = page(contact, action)
    assert "Name the ministry." in client.get(url).content.decode()
    assert submit(client, url, text="Release them, Minister.").status_code == 302
    assert LetterOfConcern.objects.get().stage == "submitted"


def test_an_uploaded_pdf_is_kept_when_the_member_submits_again(client, action, contact):
    url = page(contact, action)
    upload = SimpleUploadedFile("letter.pdf", pdf_bytes(), "application/pdf")
    assert client.post(url, {"save": "1", "text": "", "pdf": upload}).status_code == 302
    answer = submit(client, url, text="the template text", keep_pdf="on")
    assert answer.status_code == 302
    letter = LetterOfConcern.objects.get()
    assert letter.uploaded and letter.stage == "submitted"
    assert letter.pdf.read().startswith(b"%PDF-")
    own = client.get(links.contact_path(contact, "concern", action) + "letter.pdf")
    assert own.status_code == 200 and own["Content-Type"] == "application/pdf"


def test_the_alert_carries_each_contacts_own_letter_link(alert, action):
    sending.start_alert(alert=alert, by=None)
    deliveries = list(AlertDelivery.objects.select_related("contact", "organization"))
    renderer = AlertRenderer(AlertContent.of(alert))
    first, second = (renderer.render(row, to="x@example.org") for row in deliveries[:2])
    link = re.compile(r"http://[^\s]+/c/letter/[^\s/]+/")
    assert link.search(first.text) and link.search(second.text)
    assert link.search(first.text).group(0) != link.search(second.text).group(0)
    assert link.search(first.text).group(0) in first.html


def test_a_reminder_goes_only_to_those_who_have_not_sent(action, alert, organizer):
    contacts = list(Contact.objects.select_related("organization").order_by("id"))
    sent_by = contacts[0].organization
    concern.save_concern(
        contact=contacts[0], action=action, text="Release them.", submit=True
    )
    reminder = concern.create_reminder(action=action, by=organizer)
    assert reminder.only_without_letter
    organizations = {r.organization_id for r in alert_recipients(reminder)}
    assert sent_by.pk not in organizations
    assert organizations == {
        c.organization_id for c in contacts if c.organization_id != sent_by.pk
    }
    assert "{letter_link}" in reminder.versions.get().body


def test_the_overview_shows_who_has_sent_and_is_closed_to_outsiders(
    client, action, alert, organizer
):
    sending.start_alert(alert=alert, by=None)
    contact = Contact.objects.order_by("id").first()
    concern.save_concern(contact=contact, action=action, text="Release.", submit=True)
    url = f"/admin/campaigns/letterofconcern/action/{action.pk}/"
    client.force_login(organizer)
    html = client.get(url).content.decode()
    assert "Waiting for approval" in html and "Nothing yet" in html
    client.logout()
    outsider = make_user("outsider", groups=[])
    client.force_login(outsider)
    assert client.get(url).status_code in (302, 403)


def test_a_member_asks_for_the_link_on_the_campaign_page(
    client, action, contact, mailoutbox, django_capture_on_commit_callbacks
):
    from ima_site.models import OutboxMessage
    from ima_site.outbox import send_message

    detail = client.get(f"/campaigns/{action.campaign.slug}/")
    assert "Email me my link" in detail.content.decode()
    url = f"/campaigns/{action.campaign.slug}/letter-link/"
    known = client.post(url, {"email": contact_email(0)})
    unknown = client.post(url, {"email": "nobody@example.org"})
    # The same answer for an address of the registry and any other.
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    rows = list(OutboxMessage.objects.order_by("id"))
    assert [row.status for row in rows] == ["queued", "cancelled"]
    send_message(rows[0].pk)
    (email,) = mailoutbox
    assert email.to == [contact_email(0)]
    path = re.search(r"/c/letter/[^\s/]+/", email.body).group(0)
    assert contact.organization.name in client.get(path).content.decode()
    # No more than three a day to one contact.
    for _ in range(5):
        client.post(url, {"email": contact_email(0)})
    assert OutboxMessage.objects.exclude(status="cancelled").count() == 3


def test_a_bad_address_is_refused_naming_it(client, action):
    url = f"/campaigns/{action.campaign.slug}/letter-link/"
    answer = client.post(url, {"email": "not an address"})
    assert answer.status_code == 400
    assert "valid email" in answer.content.decode()


def test_a_letter_changed_while_it_was_read_is_not_approved(
    client, action, contact, organizer
):
    url = page(contact, action)
    submit(client, url, text="First text.")
    letter = LetterOfConcern.objects.get()
    client.force_login(organizer)
    change = f"/admin/campaigns/letterofconcern/{letter.pk}/change/"
    html = client.get(change).content.decode()
    assert "First text." in html
    read = re.search(r'name="version" value="([0-9a-f]+)"', html).group(1)
    # Meanwhile the member changes it.
    concern.save_concern(
        contact=contact, action=action, text="Second text.", submit=True
    )
    answer = client.post(
        f"/admin/campaigns/letterofconcern/{letter.pk}/approve/",
        {"version": read},
        follow=True,
    )
    assert "changed the letter while you read it" in answer.content.decode()
    assert LetterOfConcern.objects.get().stage == "submitted"
    # Read again, it is approved.
    html = client.get(change).content.decode()
    read = re.search(r'name="version" value="([0-9a-f]+)"', html).group(1)
    client.post(
        f"/admin/campaigns/letterofconcern/{letter.pk}/approve/", {"version": read}
    )
    assert LetterOfConcern.objects.get().stage == "approved"
    assert AuditEntry.objects.filter(action="concern.approve").count() == 1


def test_a_letter_left_sending_by_a_dead_worker_goes_once_and_a_fresh_one_waits(
    action, contact, organizer, sink, settings
):
    from datetime import timedelta

    from django.utils import timezone

    letter = concern.save_concern(
        contact=contact, action=action, text="Release them.", submit=True
    )
    concern.approve_concern(concern=letter, by=organizer)
    # Just approved: its own task is on its way, beat does not add another.
    assert concern_sending.release_due_concerns() == []
    # A worker claimed it and died before the server answered.
    assert concern_sending.claim(letter.pk) is not None
    assert concern_sending.send_concern(letter.pk) is False
    LetterOfConcern.objects.filter(pk=letter.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=settings.LETTER_STALE_SECONDS + 1)
    )
    assert concern_sending.release_due_concerns() == [letter.pk]
    assert concern_sending.send_concern(letter.pk) is True
    assert concern_sending.release_due_concerns() == []
    assert len(sink.inbox.messages) == 1


def test_the_member_says_yes_before_its_address_goes_to_the_mission(
    client, action, contact
):
    url = page(contact, action)
    assert "c***@" in client.get(url).content.decode()
    answer = client.post(url, {"submit": "1", "text": "Release them."})
    assert answer.status_code == 400
    assert "Tick this box" in answer.content.decode()
    assert not LetterOfConcern.objects.filter(stage="submitted").exists()


def test_a_reminder_keeps_the_missions_the_organizer_chose(action, alert, organizer):
    from campaigns.models import MissionChoice

    contact = Contact.objects.select_related("organization").order_by("id").first()
    london = Mission.objects.get(city="London")
    MissionChoice.objects.create(
        alert=alert, organization=contact.organization, mission=london
    )
    sending.start_alert(alert=alert, by=None)
    reminder = concern.create_reminder(action=action, by=organizer)
    assert reminder.mission_choices.get().mission == london
    sending.start_alert(alert=reminder, by=None)
    letter = concern.save_concern(
        contact=contact, action=action, text="Release them.", submit=True
    )
    assert letter.mission == london


def test_a_draft_campaigns_letter_page_is_closed(client, action, contact):
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=action.campaign_id).update(status="draft")
    assert client.get(page(contact, action)).status_code == 404


def test_a_letter_link_in_an_alert_for_another_kind_of_action_is_refused(db):
    protest = make_action()
    alert = make_alert(action=protest, contacts=2, body="Write: {letter_link}")
    with pytest.raises(sending.AlertError, match="only for an action that asks"):
        sending.start_alert(alert=alert, by=None)
    assert not AlertDelivery.objects.exists()


def test_a_second_press_on_remind_gives_the_same_draft(action, alert, organizer):
    first = concern.create_reminder(action=action, by=organizer)
    assert concern.create_reminder(action=action, by=organizer) == first
    sending.start_alert(alert=first, by=None)
    assert concern.create_reminder(action=action, by=organizer) != first


def test_one_network_asking_too_often_gets_the_same_answer_and_no_email(
    client, action, contact, settings
):
    from campaigns import concern_link
    from ima_site.models import OutboxMessage

    url = f"/campaigns/{action.campaign.slug}/letter-link/"
    for number in range(concern_link.NETWORK_REQUESTS_PER_HOUR):
        client.post(url, {"email": f"someone{number}@example.org"})
    rows = OutboxMessage.objects.count()
    answer = client.post(url, {"email": contact_email(0)})
    assert answer.status_code == 302
    assert answer["Location"].endswith("/letter-link/sent/")
    assert OutboxMessage.objects.count() == rows
