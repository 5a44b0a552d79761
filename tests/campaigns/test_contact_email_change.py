"""A contact's new email address takes effect only once the new address confirms it.

The emails go through the outbox to a real SMTP server in the test process.
"""

import io
import re
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns import contact_emails, links, pledges
from ima_site import outbox
from ima_site.crypto import encrypt
from ima_site.models import AuditEntry, OutboxMessage
from signatories.models import Contact, Organization
from signatories.services.contacts import (
    contact_email,
    contact_email_hash,
    save_contact,
)

OLD = "maria.santos@members.example.org"
NEW = "maria.fresh@newbox.example.net"
SECRETARIAT = "secretariat@ima.example.org"


@pytest.fixture(autouse=True)
def secretariat(settings):
    settings.ALERT_REPLY_TO = SECRETARIAT


@pytest.fixture
def organization(db):
    return Organization.objects.create(
        name="Migrante Manila", country="PH", city="Manila", is_member=True,
        time_zone="Asia/Manila",
    )  # fmt: skip


def make_contact(organization, email: str, name: str) -> Contact:
    return Contact.objects.create(
        organization=organization,
        name=name,
        email_hash=contact_email_hash(email),
        email_encrypted=encrypt(email),
    )


@pytest.fixture
def contact(organization):
    return make_contact(organization, OLD, "Maria Santos")


@pytest.fixture
def others(organization):
    """A colleague in the same organization and a contact of another one."""
    other = Organization.objects.create(name="Other union", country="HK")
    return [
        make_contact(organization, "pedro.colleague@members.example.org", "Pedro"),
        make_contact(other, "lin.stranger@other.example.org", "Lin Wei"),
    ]


def path_of(url: str) -> str:
    from django.conf import settings

    assert url.startswith(settings.SITE_URL + "/")
    return url[len(settings.SITE_URL) :]


def details_path(contact: Contact) -> str:
    return path_of(links.contact_url(contact, "details"))


def ask_for(client, contact: Contact, email: str, **fields):
    data = {"name": contact.name, "language": contact.language, "email": email}
    return client.post(details_path(contact), {**data, **fields})


def send_outbox(sink) -> list[tuple[str, EmailMessage]]:
    """Run the relay and the sender inline; returns (recipient, email) sent."""
    before = len(sink.inbox.messages)
    for message_id in outbox.due_message_ids():
        outbox.send_message(message_id)
    return [(tos[0], message) for tos, message in sink.inbox.messages[before:]]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def whole(message: EmailMessage) -> str:
    """Subject, text and HTML: everything a reader of the email sees."""
    html = message.get_body(("html",)).get_content()
    return "\n".join([str(message["Subject"]), text_of(message), html])


def confirm_path(message: EmailMessage) -> str:
    url = re.search(r"http://\S+/c/email/\S+/", text_of(message)).group(0)
    return path_of(url)


def token_works(contact: Contact, url: str, purpose: str) -> bool:
    token = url.rstrip("/").rsplit("/", 1)[1]
    return links.read_contact_token(token, purpose) is not None


# --- Asking ------------------------------------------------------------------------


def test_typing_a_new_address_keeps_the_old_one_and_mails_the_new_one(
    client, contact, sink
):
    pledge_free_link = links.contact_url(contact, "unsubscribe")

    response = ask_for(client, contact, NEW, name="Maria S.")

    assert response.status_code == 200
    page = response.content.decode()
    assert NEW in page
    assert "maria.santos" not in page and "members.example.org" not in page
    contact.refresh_from_db()
    # The name is saved at once; the address is not.
    assert contact.name == "Maria S."
    assert contact_email(contact) == OLD
    assert contact.email_hash == contact_email_hash(OLD)
    # Links mailed to the current address keep working.
    assert token_works(contact, pledge_free_link, "unsubscribe")
    [(to, message)] = send_outbox(sink)
    assert to == NEW
    assert "Migrante Manila" in text_of(message)
    assert confirm_path(message)


def test_the_confirmation_email_carries_nothing_the_requester_typed(
    client, contact, sink
):
    ask_for(client, contact, NEW, name="Win a prize at spam.example.com")

    [(_to, message)] = send_outbox(sink)

    assert "spam.example.com" not in whole(message)
    assert "Maria" not in whole(message)
    assert OLD not in whole(message)


def test_another_spelling_of_the_current_address_is_saved_without_asking(
    client, contact, sink
):
    response = ask_for(client, contact, "Maria.Santos@Members.example.org")

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact_email(contact) == "Maria.Santos@Members.example.org"
    assert not contact.pending_email_hash
    assert send_outbox(sink) == []


def test_an_address_of_another_contact_is_refused_when_asked(client, contact, others):
    response = ask_for(client, contact, "pedro.colleague@members.example.org")

    assert response.status_code == 400
    assert "Another contact of this organization" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.pending_email_hash
    assert not OutboxMessage.objects.exists()


# --- Confirming --------------------------------------------------------------------


def test_opening_the_confirmation_link_changes_nothing(client, contact, sink):
    ask_for(client, contact, NEW)
    [(_to, message)] = send_outbox(sink)

    for _ in range(2):  # a mail scanner, then the person
        response = client.get(confirm_path(message))
        assert response.status_code == 200
        page = response.content.decode()
        assert NEW in page and "Use this address" in page

    contact.refresh_from_db()
    assert contact_email(contact) == OLD
    assert contact.pending_email_hash == contact_email_hash(NEW)
    assert not AuditEntry.objects.filter(action="contact.correct").exists()
    assert send_outbox(sink) == []


def test_pressing_the_button_switches_the_address_and_tells_the_old_one(
    client, contact, sink, settings
):
    ask_for(client, contact, NEW)
    [(_to, confirmation)] = send_outbox(sink)
    old_links = [
        (links.contact_url(contact, "details"), "details"),
        (links.contact_url(contact, "unsubscribe"), "unsubscribe"),
    ]

    response = client.post(confirm_path(confirmation))

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact_email(contact) == NEW
    assert contact.email_hash == contact_email_hash(NEW)
    assert (contact.pending_email_hash, contact.pending_email_encrypted) == ("", None)
    assert Contact.objects.count() == 1
    # Every link mailed so far stops working, the one just used too; the page it
    # leads to has links that work.
    assert not any(token_works(contact, url, purpose) for url, purpose in old_links)
    assert client.post(confirm_path(confirmation)).status_code == 404
    page = client.get(response["Location"])
    assert "Your new email address is confirmed" in page.content.decode()
    entry = AuditEntry.objects.get(action="contact.correct")
    assert entry.details == {"fields": ["email"]}
    assert entry.object_repr == "Migrante Manila"
    [(to, notice)] = send_outbox(sink)
    assert to == OLD
    text = whole(notice)
    assert "Migrante Manila" in text
    assert SECRETARIAT in text
    assert "maria.fresh" not in text and "newbox" not in text


def test_the_notice_gives_the_day_of_the_change_in_the_organizations_zone(
    client, contact, sink
):
    ask_for(client, contact, NEW)
    [(_to, confirmation)] = send_outbox(sink)
    client.post(confirm_path(confirmation))
    entry = AuditEntry.objects.get(action="contact.correct")
    # 20:00 UTC is already the next day in Manila (UTC+8).
    AuditEntry.objects.filter(pk=entry.pk).update(
        at=entry.at.replace(year=2026, month=3, day=9, hour=20)
    )

    [(_to, notice)] = send_outbox(sink)

    assert "March 10, 2026" in text_of(notice)


def test_a_change_made_before_its_email_goes_out_sends_no_confirmation(
    client, contact, sink
):
    ask_for(client, contact, NEW)
    contact.refresh_from_db()
    client.post(path_of(links.contact_url(contact, "confirm_email")))

    sent = send_outbox(sink)

    assert [to for to, _message in sent] == [OLD]
    assert (
        OutboxMessage.objects.get(kind=contact_emails.CONFIRM_EMAIL).status
        == OutboxMessage.Status.CANCELLED
    )


def test_a_confirmation_email_that_waited_past_the_links_lifetime_is_not_sent(
    client, contact, sink
):
    ask_for(client, contact, NEW)
    Contact.objects.filter(pk=contact.pk).update(
        pending_email_requested_at=timezone.now() - timedelta(days=4)
    )

    assert send_outbox(sink) == []


# --- Superseded, expired, tampered -------------------------------------------------


def test_a_second_change_supersedes_the_first_link(client, contact, sink):
    ask_for(client, contact, NEW)
    [(_to, first)] = send_outbox(sink)
    ask_for(client, contact, "maria.second@newbox.example.net")
    [(to, second)] = send_outbox(sink)

    assert to == "maria.second@newbox.example.net"
    assert client.get(confirm_path(first)).status_code == 404
    assert client.post(confirm_path(first)).status_code == 404
    contact.refresh_from_db()
    assert contact_email(contact) == OLD
    assert client.post(confirm_path(second)).status_code == 302
    contact.refresh_from_db()
    assert contact_email(contact) == "maria.second@newbox.example.net"


def test_a_second_change_calls_off_the_first_email_not_sent_yet(client, contact, sink):
    ask_for(client, contact, NEW)
    ask_for(client, contact, "maria.second@newbox.example.net")

    sent = send_outbox(sink)

    assert [to for to, _message in sent] == ["maria.second@newbox.example.net"]


def test_asking_again_for_the_same_address_replaces_the_first_link(
    client, contact, sink
):
    ask_for(client, contact, NEW)
    [(_to, first)] = send_outbox(sink)
    ask_for(client, contact, NEW)
    [(_to, second)] = send_outbox(sink)

    assert client.post(confirm_path(first)).status_code == 404
    assert client.post(confirm_path(second)).status_code == 302


def test_an_expired_link_shows_the_invalid_link_page(
    client, contact, sink, monkeypatch
):
    ask_for(client, contact, NEW)
    contact.refresh_from_db()
    four_days_ago = time.time() - 4 * 24 * 3600
    with monkeypatch.context() as patched:
        patched.setattr(time, "time", lambda: four_days_ago)
        old_link = path_of(links.contact_url(contact, "confirm_email"))

    for response in (client.get(old_link), client.post(old_link)):
        assert response.status_code == 404
        assert "This link does not work" in response.content.decode()
    contact.refresh_from_db()
    assert contact_email(contact) == OLD


def test_a_tampered_or_misused_link_shows_the_invalid_link_page(client, contact, sink):
    ask_for(client, contact, NEW)
    [(_to, message)] = send_outbox(sink)
    good = confirm_path(message)
    token = good.rstrip("/").rsplit("/", 1)[1]
    flipped = token[:20] + ("A" if token[20] != "A" else "B") + token[21:]
    details_token = links.make_token(contact, "details")

    for path in (
        good.replace(token, flipped),
        good.replace(token, details_token),
        good.replace(token, token[:-3]),
    ):
        response = Client().post(path)
        assert response.status_code == 404, path
        assert "This link does not work" in response.content.decode()
    contact.refresh_from_db()
    assert contact_email(contact) == OLD


def test_an_address_taken_by_another_contact_meanwhile_gives_a_message(
    client, contact, sink
):
    ask_for(client, contact, NEW)
    [(_to, message)] = send_outbox(sink)
    # The secretariat adds the same address for a colleague before it is confirmed.
    save_contact(
        organization=contact.organization, name="Ana", email=NEW, language="en"
    )

    response = client.post(confirm_path(message))

    assert response.status_code == 409
    assert "Another contact of Migrante Manila already receives" in (
        response.content.decode()
    )
    contact.refresh_from_db()
    assert contact_email(contact) == OLD
    assert not AuditEntry.objects.filter(action="contact.correct").exists()
    assert send_outbox(sink) == []


# --- What the emails carry ---------------------------------------------------------


def test_the_emails_carry_no_other_contacts_data(client, contact, others, sink):
    ask_for(client, contact, NEW)
    [(_to, confirmation)] = send_outbox(sink)
    client.post(confirm_path(confirmation))
    [(_to, notice)] = send_outbox(sink)

    for message in (confirmation, notice):
        text = whole(message)
        for other in others:
            assert other.name not in text
            assert contact_email(other).split("@")[0] not in text
        assert "Other union" not in text


# --- Organizers and imports --------------------------------------------------------


def test_an_organizer_changes_the_address_at_once_and_the_waiting_link_dies(
    client, publisher, contact, sink
):
    ask_for(client, contact, NEW)
    [(_to, message)] = send_outbox(sink)
    admin = Client()
    admin.force_login(publisher)
    url = reverse("admin:signatories_contact_change", args=[contact.pk])
    assert admin.get(url).status_code == 200

    response = admin.post(
        url, {"name": "Maria Santos", "email": "maria@office.example.org",
              "language": "en"}
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    contact.refresh_from_db()
    assert contact_email(contact) == "maria@office.example.org"
    assert client.post(confirm_path(message)).status_code == 404
    contact.refresh_from_db()
    assert contact_email(contact) == "maria@office.example.org"


def test_a_registry_reimport_leaves_a_waiting_change_alone(client, db, tmp_path, sink):
    csv = tmp_path / "registry.csv"
    csv.write_text(
        "name,acronym,country,city,sector,is_member,contact_name,email,language,"
        "latitude,longitude,timezone\n"
        f"Migrante Manila,MM,PH,Manila,,yes,Maria Santos,{OLD},en,,,Asia/Manila\n",
        encoding="utf-8",
    )
    call_command(
        "import_organizations", str(csv), "--no-progress", stdout=io.StringIO()
    )
    contact = Contact.objects.get()
    ask_for(client, contact, NEW)
    [(_to, message)] = send_outbox(sink)

    call_command(
        "import_organizations", str(csv), "--no-progress", stdout=io.StringIO()
    )

    contact.refresh_from_db()
    assert Contact.objects.count() == 1
    assert contact_email(contact) == OLD
    assert contact.pending_email_hash == contact_email_hash(NEW)
    assert client.post(confirm_path(message)).status_code == 302


def test_retention_forgets_a_new_address_never_confirmed(contact):
    from signatories.services.retention import apply_retention

    pledges.request_email_change(contact=contact, email="new@members.example.org")
    apply_retention()
    contact.refresh_from_db()
    assert contact.pending_email_encrypted is not None  # still within its 3 days

    apply_retention(now=timezone.now() + timedelta(days=3, minutes=1))

    contact.refresh_from_db()
    assert contact.pending_email_encrypted is None
    assert contact.pending_email_hash == ""
