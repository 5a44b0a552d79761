"""Alert emails and their delivery rows, in this process: what a contact receives,
who may send, and how each row ends (sent, retried, failed, skipped, cancelled)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from icalendar import Calendar

from campaigns import sending
from campaigns.links import read_contact_token
from campaigns.models import Action, Alert, AlertDelivery, AlertVersion
from ima_site.models import AuditEntry, SiteConfiguration
from signatories.models import Contact, Organization
from tests.campaigns.conftest import (
    contact_email,
    make_action,
    make_alert,
    make_contacts,
)

pytestmark = pytest.mark.django_db


def drain(alert: Alert) -> None:
    """What the bulk worker does, in this process."""
    while sending.send_batch(alert_id=alert.pk):
        pass
    sending.finish_if_done(alert_id=alert.pk)


def message_for(sink, address: str):
    [message] = [m for tos, m in sink.inbox.messages if address in tos]
    return message


def test_each_contact_gets_its_alert_exactly_once(
    sink, sender, django_capture_on_commit_callbacks
):
    alert = make_alert(contacts=30)
    with django_capture_on_commit_callbacks(execute=False):
        sending.start_alert(alert=alert, by=sender)
    drain(alert)
    counts = sink.inbox.count_by_recipient()
    assert counts == {contact_email(n): 1 for n in range(30)}
    progress = sending.alert_progress(alert)
    assert (progress["total"], progress["sent"], progress["status"]) == (30, 30, "sent")
    assert AlertDelivery.objects.filter(sent_at__isnull=True).count() == 0


def test_sending_the_same_alert_twice_sends_nothing_more(sink, sender):
    alert = make_alert(contacts=5)
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    with pytest.raises(sending.AlertError, match="already sent"):
        sending.start_alert(alert=alert, by=sender)
    drain(alert)
    assert len(sink.inbox.messages) == 5
    assert AlertDelivery.objects.count() == 5


def test_the_email_carries_the_contacts_mission_time_links_and_calendar(
    sink, sender, settings
):
    settings.SITE_URL = "https://ima.example.org"
    settings.ALERT_REPLY_TO = "secretariat@ima.example.org"
    alert = make_alert(contacts=1)
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    message = message_for(sink, contact_email(0))
    delivery = AlertDelivery.objects.get()
    assert message["Message-ID"] == (
        f"<alert-{alert.pk}-contact-{delivery.contact_id}@ima.example.org>"
    )
    assert message["Reply-To"] == "secretariat@ima.example.org"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<https://ima.example.org/") and unsubscribe.endswith(
        ">"
    )
    token = unsubscribe.strip("<>").rstrip("/").rsplit("/", 1)[-1]
    contact, _action = read_contact_token(token, "unsubscribe_one_click")
    assert contact.pk == delivery.contact_id
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    # Organization 0 is in Manila: the embassy there, 10:00 Manila time.
    for part in (text, html):
        assert "Migrant Workers Union 0" in part
        assert "Embassy of Malaysia in Manila" in part
        assert "10:00" in part and "Asia/Manila" in part
        assert "Bring banners" in part
    [ics] = [
        p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"
    ]
    assert ics.get_filename() == "action.ics"
    assert ics.get_param("method") == "PUBLISH"
    event = Calendar.from_ical(ics.get_content()).walk("VEVENT")[0]
    assert (
        str(event["UID"])
        == f"alert-{alert.pk}-contact-{delivery.contact_id}@ima.example.org"
    )
    assert event["DTSTART"].params["TZID"] == "Asia/Manila"
    assert event.decoded("DTSTART") == datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    assert event.decoded("DTEND") == datetime(2026, 12, 10, 4, 0, tzinfo=UTC)
    assert "Embassy of Malaysia in Manila" in str(event["LOCATION"])


def test_what_an_organization_typed_is_shown_not_run(sink, sender):
    alert = make_alert(contacts=1)
    Organization.objects.update(name='<script>alert(1)</script> & "Co"')
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    message = message_for(sink, contact_email(0))
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    text = message.get_body(("plain",)).get_content()
    assert '<script>alert(1)</script> & "Co"' in text


def test_placeholders_in_the_subject_are_filled_for_each_contact(sink, sender):
    alert = make_alert(contacts=1)
    AlertVersion.objects.update(subject="{organization}: {{act}} at {mission_city}")
    Organization.objects.update(name="Migrante <Manila>")
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    subject = message_for(sink, contact_email(0))["Subject"]
    assert subject.startswith("Migrante <Manila>: {act} at ")
    assert "{mission_city}" not in subject and "{{" not in subject


def test_a_contact_gets_its_own_language_else_the_original(sink, sender):
    alert = make_alert(contacts=2)
    AlertVersion.objects.create(
        alert=alert, language="es", subject="Día de acción", body="Hola {organization}"
    )
    Contact.objects.filter(name="Contact 0").update(language="es")
    Contact.objects.filter(name="Contact 1").update(language="id")
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    assert message_for(sink, contact_email(0))["Subject"] == "Día de acción"
    assert (
        message_for(sink, contact_email(1))["Subject"] == "Day of action: 10 December"
    )


def test_unsubscribed_and_bouncing_contacts_are_skipped_and_counted(sink, sender):
    alert = make_alert(contacts=4)
    Contact.objects.filter(name="Contact 0").update(unsubscribed_at=timezone.now())
    Contact.objects.filter(name="Contact 1").update(bounces=5)
    sending.start_alert(alert=alert, by=sender)
    # One more unsubscribes after the start: the worker skips that row too.
    Contact.objects.filter(name="Contact 2").update(unsubscribed_at=timezone.now())
    drain(alert)
    assert set(sink.inbox.count_by_recipient()) == {contact_email(3)}
    reasons = dict(
        AlertDelivery.objects.filter(status="skipped").values_list(
            "contact__name", "skip_reason"
        )
    )
    assert reasons == {
        "Contact 0": "unsubscribed",
        "Contact 1": "bouncing",
        "Contact 2": "unsubscribed",
    }
    progress = sending.alert_progress(alert)
    assert (progress["sent"], progress["skipped"]) == (1, 3)
    entry = AuditEntry.objects.get(action="alert.send")
    assert entry.details["skipped"] == {"unsubscribed": 1, "bouncing": 1}
    assert entry.details["recipients"] == 2


def test_a_temporary_refusal_is_retried_then_sent(sink, sender, settings):
    settings.ALERT_RETRY_SECONDS = 1
    alert = make_alert(contacts=2)
    sink.inbox.answers[contact_email(0)] = ["451 4.7.1 Try again later"]
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    row = AlertDelivery.objects.get(contact__name="Contact 0")
    assert (row.status, row.attempts) == ("queued", 1)
    assert "451" in row.last_error and "@" not in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert Alert.objects.get().status == "sending"
    AlertDelivery.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    drain(alert)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert sink.inbox.count_by_recipient()[contact_email(0)] == 1
    assert Alert.objects.get().status == "sent"


def test_a_permanent_refusal_fails_at_once(sink, sender):
    alert = make_alert(contacts=2)
    sink.inbox.answers[contact_email(0)] = ["550 5.1.1 No such user"]
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    row = AlertDelivery.objects.get(contact__name="Contact 0")
    assert (row.status, row.attempts) == ("failed", 1)
    assert "550" in row.last_error
    progress = sending.alert_progress(alert)
    assert (progress["sent"], progress["failed"], progress["status"]) == (1, 1, "sent")


def test_retries_stop_after_the_last_attempt(sink, sender, settings):
    settings.ALERT_MAX_ATTEMPTS = 2
    alert = make_alert(contacts=1)
    sink.inbox.answers[contact_email(0)] = ["451 busy"] * 5
    sending.start_alert(alert=alert, by=sender)
    for _attempt in range(3):
        AlertDelivery.objects.update(next_attempt_at=timezone.now())
        drain(alert)
    row = AlertDelivery.objects.get()
    assert (row.status, row.attempts) == ("failed", 2)


def test_a_row_that_kills_its_worker_every_time_ends_failed(sink, sender, settings):
    settings.ALERT_MAX_ATTEMPTS = 3
    alert = make_alert(contacts=1)
    sending.start_alert(alert=alert, by=sender)
    for attempt in range(1, 4):
        # A worker claims the row and dies before it can mark it.
        assert len(sending.claim_batch(alert_id=alert.pk)) == 1
        assert AlertDelivery.objects.get().attempts == attempt
        AlertDelivery.objects.update(
            claimed_at=timezone.now()
            - timedelta(seconds=settings.ALERT_STALE_SECONDS + 1)
        )
        sending.release_due_deliveries()
    row = AlertDelivery.objects.get()
    assert row.status == "failed" and "worker stopped" in row.last_error
    assert sending.claim_batch(alert_id=alert.pk) == []
    assert Alert.objects.get().status == "sent"
    assert sink.inbox.messages == []


def test_paused_alerts_wait_and_resume_where_they_stopped(sink, sender, settings):
    settings.ALERT_BATCH_SIZE = 4
    alert = make_alert(contacts=10)
    sending.start_alert(alert=alert, by=sender)
    sending.send_batch(alert_id=alert.pk)
    sending.pause_alert(alert=alert, by=sender)
    drain(alert)
    assert len(sink.inbox.messages) == 4
    assert sending.release_due_deliveries() == []
    sending.resume_alert(alert=alert, by=sender)
    drain(alert)
    assert sink.inbox.count_by_recipient() == {contact_email(n): 1 for n in range(10)}


def test_cancel_stops_the_rest_and_a_resend_gives_only_them_the_edited_text(
    sink, sender, settings
):
    settings.ALERT_BATCH_SIZE = 4
    alert = make_alert(contacts=10)
    sending.start_alert(alert=alert, by=sender)
    sending.send_batch(alert_id=alert.pk)
    # An edit while sending reaches nobody: the content was frozen at the start.
    AlertVersion.objects.update(subject="Edited subject")
    sending.send_batch(alert_id=alert.pk)
    assert {m["Subject"] for _tos, m in sink.inbox.messages} == {
        "Day of action: 10 December"
    }
    sending.cancel_alert(alert=alert, by=sender)
    drain(alert)
    progress = sending.alert_progress(alert)
    assert (progress["sent"], progress["cancelled"], progress["status"]) == (
        8,
        2,
        "cancelled",
    )
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    counts = sink.inbox.count_by_recipient()
    assert counts == {contact_email(n): 1 for n in range(10)}
    subjects = [m["Subject"] for _tos, m in sink.inbox.messages]
    assert subjects.count("Edited subject") == 2
    assert AuditEntry.objects.filter(action="alert.resend").count() == 1


def test_nine_oclock_in_each_recipients_own_zone(
    sender, django_capture_on_commit_callbacks
):
    alert = make_alert(contacts=0)
    make_contacts(8, per_organization=2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sending.start_alert(
            alert=alert, by=sender, local_date=date(2030, 3, 1), local_time=time(9, 0)
        )
    assert callbacks == []  # nothing due yet: no fan-out, beat releases it
    assert Alert.objects.get().status == "scheduled"
    send_after = {
        row.organization.time_zone: row.send_after
        for row in AlertDelivery.objects.select_related("organization")
    }
    assert send_after["Asia/Manila"] == datetime(2030, 3, 1, 1, 0, tzinfo=UTC)
    assert send_after["Europe/London"] == datetime(2030, 3, 1, 9, 0, tzinfo=UTC)
    assert send_after["America/New_York"] == datetime(2030, 3, 1, 14, 0, tzinfo=UTC)
    assert sending.release_due_deliveries() == []
    assert sending.claim_batch(alert_id=alert.pk) == []
    # London's time comes: its rows, and only they, are released.
    AlertDelivery.objects.filter(organization__time_zone="Europe/London").update(
        send_after=timezone.now()
    )
    assert sending.release_due_deliveries() == [alert.pk]
    assert Alert.objects.get().status == "sending"
    claimed = sending.claim_batch(alert_id=alert.pk)
    assert set(
        AlertDelivery.objects.filter(pk__in=claimed).values_list(
            "organization__time_zone", flat=True
        )
    ) == {"Europe/London"}


def test_send_at_a_moment_is_scheduled(sender):
    alert = make_alert(contacts=2)
    at = timezone.now() + timedelta(hours=2)
    sending.start_alert(alert=alert, by=sender, at=at)
    assert Alert.objects.get().status == "scheduled"
    assert set(AlertDelivery.objects.values_list("send_after", flat=True)) == {at}


def test_an_unknown_placeholder_stops_the_send_before_any_row(sender):
    alert = make_alert(contacts=2, body="Hello {organisation}")
    with pytest.raises(sending.AlertError, match="organisation"):
        sending.start_alert(alert=alert, by=sender)
    assert AlertDelivery.objects.count() == 0
    assert Alert.objects.get().status == "draft"


def test_bad_timing_is_refused_with_a_reason(sender):
    alert = make_alert(contacts=1)
    with pytest.raises(sending.AlertError, match="both a date and a time"):
        sending.start_alert(alert=alert, by=sender, local_time=time(9, 0))
    with pytest.raises(sending.AlertError, match="not both"):
        sending.start_alert(
            alert=alert,
            by=sender,
            at=timezone.now(),
            local_date=date(2030, 1, 1),
            local_time=time(9, 0),
        )
    assert AlertDelivery.objects.count() == 0


def test_only_publishers_may_send_pause_resume_or_cancel(editor, outsider, sender):
    alert = make_alert(contacts=2)
    for person in (editor, outsider):
        with pytest.raises(PermissionDenied):
            sending.start_alert(alert=alert, by=person)
    assert AlertDelivery.objects.count() == 0
    sending.start_alert(alert=alert, by=sender)
    for service in (sending.pause_alert, sending.resume_alert, sending.cancel_alert):
        with pytest.raises(PermissionDenied):
            service(alert=alert, by=editor)
    assert Alert.objects.get().status == "sending"


def test_with_review_by_a_second_person_the_drafter_may_not_send(drafter):
    from tests.campaigns.conftest import give_send_permission

    drafter = give_send_permission(drafter)
    SiteConfiguration.objects.update_or_create(
        pk=SiteConfiguration.current().pk, defaults={"review_by_second_person": True}
    )
    alert = make_alert(contacts=2, by=drafter)
    with pytest.raises(PermissionDenied, match="second person"):
        sending.start_alert(alert=alert, by=drafter)
    assert AlertDelivery.objects.count() == 0


def test_a_test_send_goes_only_to_the_organizer_with_the_text_as_it_is_now(
    sink, sender
):
    alert = make_alert(contacts=3)
    sending.send_test_alert(alert=alert, to="organizer@ima.example.org", by=sender)
    [(tos, message)] = sink.inbox.messages
    assert tos == ["organizer@ima.example.org"]
    assert message["Subject"].startswith("[Test]")
    assert "-contact-" not in message["Message-ID"]
    assert "Migrant Workers Union 0" in message.get_body(("plain",)).get_content()
    assert AlertDelivery.objects.count() == 0
    assert Alert.objects.get().status == "draft"


def test_the_links_in_a_test_send_open_nothing_for_the_real_contact(sink, sender):
    alert = make_alert(contacts=1)
    sending.send_test_alert(alert=alert, to="organizer@ima.example.org", by=sender)
    [(_tos, message)] = sink.inbox.messages
    one_click = message["List-Unsubscribe"].strip("<> ")
    token = one_click.rstrip("/").rsplit("/", 1)[-1]
    assert read_contact_token(token, "unsubscribe_one_click") is None
    assert Contact.objects.get().link_nonce == ""


def test_the_drafter_may_stop_their_own_alert_under_second_person_review(
    sender, settings
):
    from tests.campaigns.conftest import give_send_permission

    settings.ALERT_SENDERS = 0
    alert = make_alert(contacts=2, by=sender)
    sending.start_alert(alert=alert, by=sender)
    SiteConfiguration.objects.update_or_create(
        pk=SiteConfiguration.current().pk, defaults={"review_by_second_person": True}
    )
    give_send_permission(sender)
    assert sending.pause_alert(alert=alert, by=sender).status == "paused"
    with pytest.raises(PermissionDenied, match="second person"):
        sending.resume_alert(alert=alert, by=sender)
    assert sending.cancel_alert(alert=alert, by=sender).status == "cancelled"


def test_a_test_send_needs_an_address_and_a_role(sink, sender, outsider):
    alert = make_alert(contacts=1)
    with pytest.raises(sending.AlertError, match="not an email address"):
        sending.send_test_alert(alert=alert, to="not-an-address", by=sender)
    with pytest.raises(PermissionDenied):
        sending.send_test_alert(alert=alert, to="me@example.org", by=outsider)
    assert sink.inbox.messages == []


def test_a_batch_costs_a_few_queries_per_row_and_a_fixed_few(sink, sender, settings):
    settings.ALERT_BATCH_SIZE = 100
    counts = []
    action = None
    for size in (10, 40):
        alert = make_alert(contacts=0, action=action)
        action = alert.action
        make_contacts(size)
        Contact.objects.update(link_nonce="")
        sending.start_alert(alert=alert, by=sender)
        with CaptureQueriesContext(connection) as queries:
            sending.send_batch(alert_id=alert.pk)
        counts.append((len(queries), AlertDelivery.objects.filter(alert=alert).count()))
    (small, rows_small), (large, rows_large) = counts
    # Per row: the UPDATE marking it sent, and the contact's link nonce made once
    # (UPDATE + SELECT); nothing grows with the batch otherwise (no N+1).
    assert (large - small) / (rows_large - rows_small) <= 3
    assert small - 3 * rows_small <= 8


def test_the_command_sends_like_the_button(sink, sender, capsys):
    alert = make_alert(contacts=3)
    call_command("send_alert", str(alert.pk), "--test", "organizer@ima.example.org")
    assert sink.inbox.count_by_recipient() == {"organizer@ima.example.org": 1}
    call_command("send_alert", str(alert.pk), "--here", "--no-progress")
    assert sending.alert_progress(alert)["sent"] == 3
    assert sink.inbox.count_by_recipient()[contact_email(0)] == 1
    assert AuditEntry.objects.get(action="alert.send").actor is None
    assert "Alert sent: 3 sent" in capsys.readouterr().out


# --- Shared rendering: every email as if rendered alone -------------------------

HOSTILE_BODY = (
    "Dear {organization}, join us at {mission_name} ({mission_city}) on {date}, "
    "{time} ({time_zone}).\n\n"
    "* [Pledge]({pledge_link}) or [{pledge_link}]({pledge_link})\n"
    "* [Share](https://share.example.org/?next={pledge_link}&who={organization})\n"
    "* [Mail us](mailto:{pledge_link}) and `{pledge_link}` and {{literal}}\n"
    "* Map: {mission_map_link}, address: {mission_address}"
)


def deliveries_as_a_worker_loads_them(alert: Alert) -> list[AlertDelivery]:
    return list(
        AlertDelivery.objects.filter(alert=alert)
        .select_related("contact", "organization", "mission")
        .order_by("id")
    )


def parsed(raw: bytes):
    return message_from_bytes(raw, policy=email_policy.default)


def what_a_reader_sees(message) -> dict:
    """Headers (but the moment it was written) and the decoded parts."""
    # Stripped: a header folded over lines reads back with a space before it.
    headers = {
        name: str(value).strip() for name, value in message.items() if name != "Date"
    } | {"Content-Type": message.get_content_type()}
    parts = [
        (part.get_content_type(), part.get_filename(), _no_stamp(part.get_content()))
        for part in message.walk()
        if not part.is_multipart()
    ]
    return {"headers": headers, "parts": parts}


def _no_stamp(content: str) -> str:
    # The calendar's DTSTAMP is the moment it was made; CRLF or LF as parsed.
    content = content.replace("\r\n", "\n")
    return "\n".join(
        line for line in content.split("\n") if not line.startswith("DTSTAMP:")
    )


def render_alone(monkeypatch, content, delivery):
    """The email rendered on its own, every part from the real values: the
    renderer's way for links it cannot fill in."""
    from campaigns import emails

    with monkeypatch.context() as patch:
        patch.setattr(emails, "_FILLABLE_URL", re.compile("(?!)"))
        patch.setattr(emails._CalendarTemplate, "of", classmethod(lambda cls, c: None))
        return emails.AlertRenderer(content).render(delivery)


@pytest.mark.parametrize("where", ["nearest_mission", "place"])
def test_shared_rendering_gives_each_contact_the_email_rendered_alone(
    sender, settings, monkeypatch, where
):
    from campaigns import links
    from campaigns.emails import AlertContent, AlertRenderer

    settings.SITE_URL = "https://ima.example.org"
    settings.ALERT_REPLY_TO = "secretariat@ima.example.org"
    # Tokens are encrypted with a fresh IV each time: the same ones in both renders.
    monkeypatch.setattr(
        links,
        "make_token",
        lambda contact, purpose, action=None: f"t{contact.pk}-{purpose}_x",
    )
    place = {}
    if where == "place":
        place = {
            "where": Action.Where.PLACE, "place_name": "Parliament Square",
            "place_address": "Westminster\nLondon", "place_city": "London",
            "place_country": "GB", "place_latitude": 51.5,
            "place_longitude": -0.126, "place_time_zone": "Europe/London",
        }  # fmt: skip
    alert = make_alert(contacts=0, body=HOSTILE_BODY, action=make_action(**place))
    make_contacts(12, per_organization=3)
    AlertVersion.objects.create(
        alert=alert, language="es", subject="Día de acción: ¡{organization}!",
        body="Hola {organization}: [aquí]({pledge_link}) — {date}, {time}",
    )  # fmt: skip
    names = [
        "<script>alert(1)</script> & \"Co\" 'n' {pledge_link}",
        "Unión de Trabajadores Migrantes «Ñ»",
        "Plain Union",
        "imapart & **bold** [link](javascript:alert(1))",
    ]
    for organization, name in zip(
        Organization.objects.order_by("id"), names, strict=True
    ):
        organization.name = name
        organization.save(update_fields=["name"])
    # No coordinates and no mission in its country: the nearest abroad.
    Organization.objects.filter(name="Plain Union").update(
        country="KE", city="Nairobi", latitude=None, longitude=None,
        time_zone="Africa/Nairobi",
    )  # fmt: skip
    languages = ["es", "en", "id", "fr"]
    for n, contact in enumerate(Contact.objects.order_by("id")):
        contact.language = languages[n % len(languages)]
        contact.save(update_fields=["language"])
    sending.start_alert(alert=alert, by=sender)
    content = AlertContent.of(Alert.objects.get(pk=alert.pk))
    renderer = AlertRenderer(content)
    deliveries = deliveries_as_a_worker_loads_them(alert)
    assert len(deliveries) == 12
    for delivery in deliveries:
        shared = renderer.render(delivery)
        alone = render_alone(monkeypatch, content, delivery)
        assert (shared.text, shared.html) == (alone.text, alone.html)
        assert _no_stamp(shared.ics) == _no_stamp(alone.ics)
        assert shared.ics.endswith("\r\n") and "DTSTAMP:" in shared.ics
        assert (shared.subject, shared.headers, shared.to) == (
            alone.subject,
            alone.headers,
            alone.to,
        )
        # The bytes the bulk sender writes read back as Django's message does.
        django_bytes = alone.as_django().message(policy=email_policy.SMTP).as_bytes()
        assert what_a_reader_sees(parsed(shared.as_bytes())) == what_a_reader_sees(
            parsed(django_bytes)
        )
    hostile = next(d for d in deliveries if d.organization.name.startswith("<script>"))
    html = renderer.render(hostile).html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html


def test_the_bulk_bytes_carry_a_list_unsubscribe_header_mail_programs_read(
    sender, settings
):
    from campaigns.emails import AlertContent, AlertRenderer

    settings.SITE_URL = "https://ima.example.org"
    alert = make_alert(contacts=1)
    sending.start_alert(alert=alert, by=sender)
    [delivery] = deliveries_as_a_worker_loads_them(alert)
    raw = AlertRenderer(AlertContent.of(alert)).render(delivery).as_bytes()
    # The <URL> itself (RFC 2369), never folded into encoded words.
    [line] = [
        line for line in raw.split(b"\r\n") if line.startswith(b"List-Unsubscribe:")
    ]
    assert line.startswith(b"List-Unsubscribe: <https://ima.example.org/")
    assert line.endswith(b">") and b"=?" not in line
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert raw.isascii()


def test_the_file_and_console_backends_write_the_same_readable_header(sender, settings):
    # Django's message is what the file backend of `make run` writes to var/mail.
    from campaigns.emails import AlertContent, AlertRenderer

    settings.SITE_URL = "https://ima.example.org"
    alert = make_alert(contacts=1)
    sending.start_alert(alert=alert, by=sender)
    [delivery] = deliveries_as_a_worker_loads_them(alert)
    raw = (
        AlertRenderer(AlertContent.of(alert))
        .render(delivery)
        .as_django()
        .message()
        .as_bytes()
    )
    [line] = [
        line for line in raw.split(b"\n") if line.startswith(b"List-Unsubscribe:")
    ]
    assert line.startswith(b"List-Unsubscribe: <https://ima.example.org/")
    assert line.rstrip(b"\r").endswith(b">") and b"=?" not in line


def test_a_batch_renders_what_its_emails_share_once(sink, sender, settings):
    from django.template import loader

    settings.ALERT_BATCH_SIZE = 100
    alert = make_alert(contacts=40)
    sending.start_alert(alert=alert, by=sender)
    calls = []
    original = loader.render_to_string

    def counting(name, *args, **kwargs):
        calls.append(name)
        return original(name, *args, **kwargs)

    from campaigns import emails

    emails.render_to_string = counting
    try:
        drain(alert)
    finally:
        emails.render_to_string = original
    assert len(sink.inbox.messages) == 40
    # Two templates per mission (four of them) and language (one), not per email.
    assert len(calls) == 2 * 4


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_rows_are_marked_on_a_connection_of_their_own(
    sink, sender
):
    alert = make_alert(contacts=12)
    sending.start_alert(alert=alert, by=sender)
    drain(alert)
    assert sink.inbox.count_by_recipient() == {contact_email(n): 1 for n in range(12)}
    assert (
        AlertDelivery.objects.filter(status="sent", sent_at__isnull=False).count() == 12
    )
    assert Alert.objects.get().status == "sent"
    # Each batch closes its connection: none is left to the database.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone() == (0,)


@pytest.mark.django_db(transaction=True)
def test_a_mark_whose_connection_dropped_is_sent_again(sender, caplog):
    from campaigns.sent_marks import SentMarks

    alert = make_alert(contacts=3)
    sending.start_alert(alert=alert, by=sender)
    first, second, third = sending.claim_batch(alert_id=alert.pk)
    marks = SentMarks()
    try:
        marks.mark(first)
        marks.finish()
        # The database ends the connection (a restart, an idle timeout).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(%s)",
                [marks._connection.get_backend_pid()],
            )
        marks.mark(second)
        marks.mark(third)
    finally:
        marks.close()
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {"sent"}
    assert f"Mark of delivery {second}" in caplog.text
