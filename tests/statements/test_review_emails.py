"""The workflow's emails: publishers hear of what waits for review, the author of
what became of it, each in their own language and zone, through the outbox."""

import zoneinfo
from datetime import datetime

import pytest
from django.core import mail

from ima_site import outbox
from ima_site.models import OrganizerProfile, OutboxMessage
from statements import emails, services
from tests.factories import make_statement, make_user
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db

HOSTILE_TITLE = 'Stop the raids <script>alert("t")</script>'
HOSTILE_NOTE = 'Fix para 2 <img src=x onerror="alert(1)">\nThanks'


@pytest.fixture
def team(editor, publisher):
    """An editor who writes, two publishers, and people who must get nothing."""
    editor.email = "editor@example.org"
    editor.save()
    publisher.email = "publisher@example.org"
    publisher.save()
    second = make_user("second-publisher", groups=["Publishers"])
    second.email = "second@example.org"
    second.save()
    OrganizerProfile.objects.create(user=second, time_zone="Asia/Manila", language="es")
    gone = make_user("gone-publisher", groups=["Publishers"])
    gone.email = "gone@example.org"
    gone.is_active = False
    gone.save()
    make_user("publisher-without-email", groups=["Publishers"])
    other_editor = make_user("other-editor", groups=["Editors"])
    other_editor.email = "other-editor@example.org"
    other_editor.save()
    return {"editor": editor, "publisher": publisher, "second": second}


def send_all() -> list:
    """Hand every due outbox row to the sender, as the relay and workers would."""
    for message_id in outbox.due_message_ids():
        outbox.send_message(message_id)
    return list(mail.outbox)


def recipients(messages) -> set[str]:
    return {address for message in messages for address in message.to}


def html_of(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def test_sending_for_review_emails_every_publisher_with_a_link(team):
    statement = make_statement(status="draft", title=HOSTILE_TITLE)
    services.submit_for_review(
        statement=statement, by=team["editor"], note=HOSTILE_NOTE
    )
    rows = OutboxMessage.objects.filter(kind=emails.REVIEW_REQUESTED)
    assert {row.language for row in rows} == {"en", "es"}
    messages = send_all()
    assert recipients(messages) == {"publisher@example.org", "second@example.org"}
    message = messages[0]
    link = f"http://127.0.0.1:8000/admin/statements/statement/{statement.pk}/change/"
    assert link in message.body
    assert "editor sent" in message.body
    assert "\n" not in message.subject and "For review" in message.subject
    html = html_of(message)
    assert f'href="{link}"' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert HOSTILE_NOTE in message.body  # plain text carries the note as typed


def test_a_publisher_who_sends_for_review_is_not_emailed_about_it(team):
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=team["publisher"])
    assert recipients(send_all()) == {"second@example.org"}


def test_the_site_sending_for_review_emails_nobody(team):
    statement = make_statement(status="draft")
    services.move_statement_as_site(statement=statement, to="in_review", source="test")
    assert not OutboxMessage.objects.exists()


def test_the_author_hears_it_was_published_with_the_note(team):
    statement = make_statement(status="draft", title=HOSTILE_TITLE)
    services.submit_for_review(statement=statement, by=team["editor"])
    send_all()
    mail.outbox.clear()
    services.publish_statement(
        statement=statement, by=team["publisher"], note=HOSTILE_NOTE
    )
    [message] = send_all()
    assert message.to == ["editor@example.org"]
    assert message.subject.startswith("Published:")
    assert "publisher published" in message.body
    assert "http://127.0.0.1:8000/statements/a-statement/" in message.body
    assert HOSTILE_NOTE in message.body
    html = html_of(message)
    assert "<script>" not in html and "<img" not in html


def test_the_author_hears_the_scheduled_time_in_their_own_zone(team):
    editor = team["editor"]
    OrganizerProfile.objects.create(user=editor, time_zone="Asia/Manila", language="en")
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=editor)
    send_all()
    mail.outbox.clear()
    at = datetime(2030, 7, 1, 1, 30, tzinfo=zoneinfo.ZoneInfo("UTC"))
    services.publish_statement(statement=statement, by=team["publisher"], at=at)
    [message] = send_all()
    assert message.subject.startswith("Scheduled:")
    # 01:30 UTC is 09:30 in Manila.
    assert "9:30" in message.body and "Asia/Manila" in message.body


def test_the_author_hears_it_was_sent_back_with_the_note(team):
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=team["editor"])
    send_all()
    mail.outbox.clear()
    services.return_to_draft(
        statement=statement, by=team["second"], note="The dateline is wrong."
    )
    [message] = send_all()
    assert message.to == ["editor@example.org"]
    assert "sent “Stop the raids on migrant workers” back to draft" in message.body
    assert "The dateline is wrong." in message.body
    row = OutboxMessage.objects.get(kind=emails.AUTHOR_NOTICE)
    assert row.language == "en"


def test_nobody_is_emailed_about_their_own_action(team):
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=team["editor"])
    services.return_to_draft(statement=statement, by=team["editor"])
    assert not OutboxMessage.objects.filter(kind=emails.AUTHOR_NOTICE).exists()
    services.submit_for_review(statement=statement, by=team["publisher"])
    services.publish_statement(statement=statement, by=team["publisher"])
    assert not OutboxMessage.objects.filter(kind=emails.AUTHOR_NOTICE).exists()


def test_a_review_request_for_something_already_handled_is_not_sent(team):
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=team["editor"])
    services.publish_statement(statement=statement, by=team["publisher"])
    messages = send_all()
    # Only the author's notice goes out; the review requests are cancelled.
    assert recipients(messages) == {"editor@example.org"}
    assert set(
        OutboxMessage.objects.filter(kind=emails.REVIEW_REQUESTED).values_list(
            "status", flat=True
        )
    ) == {"cancelled"}


def test_the_emails_go_through_a_real_smtp_server(team, settings):
    with SmtpSink() as smtp:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = smtp.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        statement = make_statement(status="draft", title=HOSTILE_TITLE)
        services.submit_for_review(statement=statement, by=team["editor"])
        for message_id in outbox.due_message_ids():
            assert outbox.send_message(message_id) == "sent"
        received = {tuple(to) for to, _ in smtp.inbox.messages}
        assert received == {("publisher@example.org",), ("second@example.org",)}
        _, message = smtp.inbox.messages[0]
        html = message.get_body(("html",)).get_content()
        assert "&lt;script&gt;" in html and "<script>" not in html
