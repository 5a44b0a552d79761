"""The organizers' desk: the admin's first page."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ima_site.models import OrganizerProfile, OutboxMessage, record_audit_entry
from signatories.models import OfflineCount, Signature, SignatureCount
from signatories.services.counts import statement_counts
from statements import services
from tests.factories import make_statement, make_user

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def sign(statement, *, at=None, held=False, status="confirmed", name="Ana Reyes"):
    signature = Signature.objects.create(
        statement=statement, name=name, country="PH", status=status, is_held=held
    )
    if at is not None:
        Signature.objects.filter(pk=signature.pk).update(created_at=at)
    return signature


def desk(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, name: str) -> str:
    start = html.index(f'id="desk-{name}"')
    return html[start : html.index("</section>", start)]


def test_a_publisher_sees_what_waits_for_review_with_who_sent_it(
    client, publisher, editor
):
    editor.first_name, editor.last_name = "Ana", "Cruz"
    editor.save()
    statement = make_statement(slug="waiting", status="draft", title="Stop the raids")
    services.submit_for_review(statement=statement, by=editor)

    block = section(desk(client, publisher), "in_review")

    assert "Stop the raids" in block
    assert "Ana Cruz" in block
    assert f"/admin/statements/statement/{statement.pk}/change/" in block
    assert "?status__exact=in_review" in block


def test_scheduled_statements_show_their_time_in_the_organizers_zone(client, publisher):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="America/Lima", language="en"
    )
    at = datetime(2031, 5, 1, 15, 0, tzinfo=ZoneInfo("UTC"))
    make_statement(slug="soon", status="scheduled", title="May Day", publish_at=at)

    block = section(desk(client, publisher), "scheduled")

    assert "May Day" in block
    assert 'datetime="2031-05-01T10:00:00-05:00"' in block
    assert "?status__exact=scheduled" in block


def test_open_statements_show_todays_count_in_the_organizers_day_and_the_total(
    client, publisher
):
    # 10:00 in Manila is 02:00 UTC: the organizer's day began at 16:00 UTC.
    OrganizerProfile.objects.create(
        user=publisher, time_zone="Asia/Manila", language="en"
    )
    manila = ZoneInfo("Asia/Manila")
    now = timezone.now().astimezone(manila)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    statement = make_statement(
        slug="open", title="Sign for the workers", accepts_signatures=True
    )
    sign(statement, at=midnight + timedelta(minutes=1))
    sign(statement, at=midnight + timedelta(minutes=2))
    sign(statement, at=midnight - timedelta(minutes=1))  # yesterday in Manila
    sign(statement, at=midnight + timedelta(minutes=3), held=True)  # not counted
    sign(statement, at=midnight + timedelta(minutes=4), status="pending")
    SignatureCount.objects.create(
        statement=statement, country="PH", kind="person", count=3
    )
    OfflineCount.objects.create(statement=statement, count=40, note="Rally sheets")

    block = section(desk(client, publisher), "open_for_signing")

    assert "Sign for the workers" in block
    assert "2 today, 43 in all" in block
    assert f"statement__id__exact={statement.pk}" in block


def test_held_signatures_are_counted_per_statement_with_a_link_to_them(
    client, publisher
):
    statement = make_statement(slug="held", title="Held here", accepts_signatures=True)
    for number in range(3):
        sign(statement, held=True, name=f"Bot {number}")
    sign(statement, held=True, status="rejected", name="Gone")

    block = section(desk(client, publisher), "held_signatures")

    assert "3 held signatures" in block
    url = (
        "/admin/signatories/signature/?is_held__exact=1&status__in=pending,confirmed"
        f"&statement__id__exact={statement.pk}"
    )
    assert url.replace("&", "&amp;") in block
    linked = client.get(url).content.decode()
    assert "Bot 2" in linked
    assert "Gone" not in linked


def test_failed_emails_are_shown_and_linked(client, publisher):
    OutboxMessage.objects.create(
        kind="signature_confirm",
        object_id=7,
        status=OutboxMessage.Status.FAILED,
        last_error="SMTPDataError: 554 <address> rejected",
    )

    block = section(desk(client, publisher), "failed_emails")

    assert "signature_confirm #7" in block
    assert "?status__exact=failed" in block
    listed = client.get("/admin/ima_site/outboxmessage/?status__exact=failed")
    assert listed.status_code == 200
    assert "554" in listed.content.decode()


def test_an_editor_sees_statements_but_no_signature_or_email_block(client, editor):
    make_statement(slug="open", accepts_signatures=True)

    html = desk(client, editor)

    assert 'id="desk-in_review"' in html
    assert 'id="desk-open_for_signing"' in html
    assert 'id="desk-held_signatures"' not in html
    assert 'id="desk-failed_emails"' not in html
    # No link to a signature list the editor may not open.
    assert "/admin/signatories/signature/" not in section(html, "open_for_signing")
    assert client.get("/admin/ima_site/outboxmessage/").status_code == 403


def test_someone_without_a_role_sees_no_block(client):
    nobody = make_user("nobody", staff=True)
    html = desk(client, nobody)
    assert 'class="desk"' not in html


def test_the_menu_lists_statements_before_signatures(client, publisher):
    html = desk(client, publisher)
    assert html.index('class="app-statements') < html.index('class="app-signatories')


def test_hostile_titles_and_names_are_shown_as_text(client, publisher):
    sender = make_user("sender", groups=["Editors"])
    sender.first_name = HOSTILE
    sender.save()
    statement = make_statement(slug="hostile", status="draft", title=HOSTILE)
    services.submit_for_review(statement=statement, by=sender)
    open_one = make_statement(
        slug="hostile-open", title=HOSTILE, accepts_signatures=True
    )
    sign(open_one, held=True)
    OutboxMessage.objects.create(
        kind="x", object_id=1, status="failed", last_error=HOSTILE
    )

    html = desk(client, publisher)

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_the_desk_costs_the_same_queries_for_many_statements(client, publisher):
    def build(count: int, start: int) -> None:
        for number in range(start, start + count):
            statement = make_statement(
                slug=f"s{number}", status="draft", title=f"Draft {number}"
            )
            services.submit_for_review(statement=statement, by=publisher)
            make_statement(
                slug=f"p{number}", title=f"Open {number}", accepts_signatures=True
            )
            make_statement(
                slug=f"c{number}",
                status="scheduled",
                publish_at=timezone.now() + timedelta(days=number + 1),
            )
            sign(statement, held=True)

    client.force_login(publisher)
    build(2, 0)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/").status_code == 200
    build(25, 2)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/").status_code == 200

    assert len(many) == len(few)
    assert len(many) <= 30


def test_desk_shows_nothing_waiting_in_words_when_all_is_done(client, publisher):
    html = desk(client, publisher)
    assert "Nothing waits for review." in html
    assert "No email has failed." in html


def test_the_sites_own_submission_reads_as_the_site(client, publisher):
    statement = make_statement(slug="imported", status="draft", title="From a file")
    services.move_statement_as_site(
        statement=statement, to="in_review", source="import"
    )
    record_audit_entry(actor=None, action="note", obj=statement)

    block = section(desk(client, publisher), "in_review")

    assert "sent by the site" in block


def test_the_total_on_the_desk_is_the_one_the_public_sees(client, publisher):
    statement = make_statement(slug="public", title="Counted", accepts_signatures=True)
    SignatureCount.objects.create(
        statement=statement, country="PH", kind="person", count=5
    )
    # A batch can leave a row below zero for a while; the public page skips it.
    SignatureCount.objects.create(
        statement=statement, country="MY", kind="person", count=-1
    )

    block = section(desk(client, publisher), "open_for_signing")

    assert statement_counts(statement)["total"] == 5
    assert "0 today, 5 in all" in block
