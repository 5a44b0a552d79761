"""Delivering a sign-on letter to its targets: once each, with the PDF, through a
real SMTP server; a worker killed mid-delivery; tests to the organizer; failed
deliveries retried; the download link of a large letter; targets' answers."""

from __future__ import annotations

import re
import time
from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from campaigns import letter_delivery, letter_sending
from campaigns.models import (
    Letter,
    LetterCompilation,
    LetterCover,
    LetterDelivery,
    LetterTarget,
    Mission,
    TargetReply,
)
from ima_site import audit_text
from ima_site.models import AuditEntry
from statements.models import Statement
from tests.campaigns.conftest import ScriptedInbox
from tests.campaigns.letters import (
    SUBJECT,
    make_letter,
    pdf_bytes,
    target_email,
)
from tests.campaigns.processes import running_site
from tests.factories import make_user
from tests.signatories.test_redis_outage import wait_for


def attachments(message) -> list:
    return list(message.iter_attachments())


def final_pdf(letter: Letter) -> bytes:
    compilation = LetterCompilation.objects.get(letter=letter, test=False)
    with compilation.pdf.open("rb") as handle:
        return handle.read()


def counts_by_target(sink, missions: int) -> tuple[int, int]:
    """(missing, duplicates) among the letter's targets, as the sink counted them."""
    counts = sink.inbox.count_by_recipient()
    missing = sum(1 for n in range(missions) if counts[target_email(n)] == 0)
    duplicates = sum(max(counts[target_email(n)] - 1, 0) for n in range(missions))
    return missing, duplicates


def delivered(letter: Letter) -> bool:
    return Letter.objects.get(pk=letter.pk).status == Letter.Status.DELIVERED


# --- With the site's processes: a private Redis, the bulk worker, beat -----------


class SlowInbox(ScriptedInbox):
    """Takes a moment per email, as a real server does: a worker can be killed
    while it is halfway through the targets."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        import asyncio

        await asyncio.sleep(self.seconds)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def site(tmp_path, settings):
    """Yields (site, sink)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    env = {"LETTER_STALE_SECONDS": "3", "ALERT_RELEASE_SECONDS": "1"}
    with running_site(tmp_path, env) as running:
        yield running


@pytest.mark.django_db(transaction=True)
def test_every_target_gets_exactly_one_email_with_the_pdf_attached(site, organizer):
    processes, sink = site
    letter = make_letter(missions=12)
    letter_delivery.start_delivery(letter=letter, by=organizer)
    assert wait_for(lambda: delivered(letter), 120), letter_sending.delivery_progress(
        letter
    )
    assert counts_by_target(sink, 12) == (0, 0)
    pdf = final_pdf(letter)
    assert pdf.startswith(b"%PDF-")
    for _recipients, message in sink.inbox.messages:
        assert message["Subject"] == SUBJECT
        (part,) = attachments(message)
        assert part.get_content_type() == "application/pdf"
        assert part.get_filename() == "letter-stop-the-raids.pdf"
        assert part.get_content() == pdf
    rows = LetterDelivery.objects.filter(letter=letter)
    assert {row.status for row in rows} == {"sent"}
    assert all(row.smtp_response.startswith("250") for row in rows)
    assert {message["Message-ID"] for _r, message in sink.inbox.messages} == {
        row.message_id for row in rows
    }

    # The same job again, twice, and beat meanwhile: nothing more goes out.
    letter_delivery.queue_delivery(letter.pk)
    letter_delivery.queue_delivery(letter.pk)
    time.sleep(4)
    assert len(sink.inbox.messages) == 12
    assert LetterCompilation.objects.filter(letter=letter).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_delivery_finishes_without_a_duplicate(site, organizer):
    processes, sink = site
    targets = 40
    sink.inbox = sink.controller.handler = SlowInbox(0.1)
    letter = make_letter(missions=targets)
    letter_delivery.start_delivery(letter=letter, by=organizer)
    kills = 0
    for threshold in (8, 20):
        assert wait_for(lambda t=threshold: len(sink.inbox.messages) >= t, 120)
        processes.kill("bulk")
        kills += 1
        processes.start("bulk")
    assert wait_for(lambda: delivered(letter), 180), letter_sending.delivery_progress(
        letter
    )
    missing, duplicates = counts_by_target(sink, targets)
    print(f"\n{kills} kills: {missing} missing, {duplicates} duplicates")
    assert missing == 0
    assert duplicates <= kills
    assert (
        LetterDelivery.objects.filter(letter=letter, status="sent").count() == targets
    )


@pytest.mark.django_db(transaction=True)
def test_a_test_reaches_only_the_organizer_marked_test(site, organizer):
    processes, sink = site
    letter = make_letter(missions=3)
    letter_delivery.start_delivery(letter=letter, by=organizer, test=True)
    assert wait_for(lambda: len(sink.inbox.messages) >= 1, 120)
    time.sleep(2)
    ((recipients, message),) = sink.inbox.messages
    assert recipients == [organizer.email]
    assert message["Subject"] == f"[TEST] {SUBJECT}"
    (part,) = attachments(message)
    assert part.get_content().startswith(b"%PDF-")
    assert not LetterDelivery.objects.exists()
    letter.refresh_from_db()
    assert letter.status == Letter.Status.GATHERING
    assert letter.statement.signing_closes_at is None
    assert LetterCompilation.objects.get(letter=letter).test is True
    assert AuditEntry.objects.filter(action="letter.test", actor=organizer).exists()


# --- In this process, through a real SMTP server ----------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def deliver(letter: Letter, by) -> Letter:
    """Start the delivery and do the worker's part here."""
    letter_delivery.start_delivery(letter=letter, by=by, here=True)
    letter_sending.deliver_now(letter_id=letter.pk)
    letter.refresh_from_db()
    return letter


@pytest.mark.django_db
def test_delivering_closes_signing_and_is_audited(sink, media, organizer):
    letter = make_letter(missions=2)
    later = timezone.now() + timedelta(days=30)
    Statement.objects.filter(pk=letter.statement_id).update(signing_closes_at=later)
    before = timezone.now()

    letter = deliver(letter, organizer)

    statement = Statement.objects.get(pk=letter.statement_id)
    assert before <= statement.signing_closes_at <= timezone.now()
    assert not statement.is_open_for_signing()
    assert letter.status == Letter.Status.DELIVERED
    assert letter.delivered_at == max(
        LetterDelivery.objects.values_list("sent_at", flat=True)
    )
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"letter.deliver", "statement.close_signing", "letter.delivered"} <= actions


@pytest.mark.django_db
def test_signing_that_closed_earlier_stays_closed_then(sink, media, organizer):
    letter = make_letter(missions=1)
    earlier = timezone.now() - timedelta(days=2)
    Statement.objects.filter(pk=letter.statement_id).update(signing_closes_at=earlier)

    deliver(letter, organizer)

    assert Statement.objects.get(pk=letter.statement_id).signing_closes_at == earlier
    assert not AuditEntry.objects.filter(action="statement.close_signing").exists()


@pytest.mark.django_db
def test_the_email_is_from_the_site_with_the_cover_in_the_targets_language(
    sink, media, organizer, settings
):
    settings.ALERT_REPLY_TO = "secretariat@example.org"
    letter = make_letter(missions=2)
    LetterCover.objects.create(
        letter=letter, language="fr", subject="Lettre ouverte", text="Excellence,"
    )
    LetterTarget.objects.filter(email=target_email(1)).update(language="fr")

    deliver(letter, organizer)

    by_recipient = {tuple(r): m for r, m in sink.inbox.messages}
    english = by_recipient[(target_email(0),)]
    french = by_recipient[(target_email(1),)]
    assert english["Subject"] == SUBJECT
    assert french["Subject"] == "Lettre ouverte"
    assert "Excellence," in french.get_body(("plain",)).get_content()
    assert french.get_body(("html",)) is not None
    assert english["Reply-To"] == "secretariat@example.org"
    assert english["From"] == settings.DEFAULT_FROM_EMAIL
    assert english["Message-ID"] == (
        f"<letter-{letter.pk}-target-"
        f"{LetterTarget.objects.get(email=target_email(0)).pk}@localhost>"
    )


@pytest.mark.django_db
def test_a_refusal_ends_failed_and_a_retry_by_hand_sends_it(sink, media, organizer):
    letter = make_letter(missions=2)
    sink.inbox.answers[target_email(0)] = ["550 5.1.1 No such user here"]

    letter = deliver(letter, organizer)

    row = LetterDelivery.objects.get(target__email=target_email(0))
    assert row.status == "failed"
    assert "550" in row.last_error
    assert target_email(0) not in row.last_error
    assert letter.status == Letter.Status.DELIVERED
    assert sink.inbox.count_by_recipient()[target_email(0)] == 0

    letter_delivery.retry_delivery(delivery=row, by=organizer)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("queued", 0)
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.DELIVERING
    letter_sending.deliver_now(letter_id=letter.pk)

    row.refresh_from_db()
    assert row.status == "sent"
    assert sink.inbox.count_by_recipient()[target_email(0)] == 1
    assert sink.inbox.count_by_recipient()[target_email(1)] == 1
    assert delivered(letter)
    assert AuditEntry.objects.filter(action="letter.retry", actor=organizer).exists()


@pytest.mark.django_db
def test_only_a_failed_delivery_can_be_retried(sink, media, organizer):
    letter = deliver(make_letter(missions=1), organizer)
    row = LetterDelivery.objects.get(letter=letter)
    with pytest.raises(letter_delivery.LetterError):
        letter_delivery.retry_delivery(delivery=row, by=organizer)


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried_later(sink, media, organizer):
    letter = make_letter(missions=1)
    sink.inbox.answers[target_email(0)] = ["451 4.3.0 Try again later"]

    letter = deliver(letter, organizer)

    row = LetterDelivery.objects.get(letter=letter)
    assert (row.status, row.attempts) == ("queued", 1)
    assert "451" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert letter.status == Letter.Status.DELIVERING
    # Not before its time.
    assert letter_sending.deliver_now(letter_id=letter.pk) == 0
    assert letter.pk not in letter_sending.release_due_letters()

    LetterDelivery.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    assert letter.pk in letter_sending.release_due_letters()
    assert letter_sending.deliver_now(letter_id=letter.pk) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert sink.inbox.count_by_recipient()[target_email(0)] == 1
    assert delivered(letter)


@pytest.mark.django_db
def test_temporary_refusals_end_failed_after_the_last_attempt(sink, media, organizer):
    letter = make_letter(missions=1)
    sink.inbox.answers[target_email(0)] = ["451 Try again later"] * 10
    letter = deliver(letter, organizer)
    for _attempt in range(letter_sending.MAX_ATTEMPTS - 1):
        LetterDelivery.objects.update(next_attempt_at=timezone.now())
        letter_sending.deliver_now(letter_id=letter.pk)

    row = LetterDelivery.objects.get(letter=letter)
    assert (row.status, row.attempts) == ("failed", letter_sending.MAX_ATTEMPTS)
    assert delivered(letter)


@pytest.mark.django_db
def test_a_row_that_kills_its_worker_every_time_ends_failed(
    sink, media, organizer, settings
):
    settings.LETTER_STALE_SECONDS = 60
    letter = make_letter(missions=1)
    letter_delivery.start_delivery(letter=letter, by=organizer, here=True)
    letter_sending.deliver_now(letter_id=letter.pk)
    LetterDelivery.objects.update(status="queued", sent_at=None, attempts=0)
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.DELIVERING)
    long_ago = timezone.now() - timedelta(seconds=61)
    for _claim in range(letter_sending.MAX_ATTEMPTS):
        # The worker claims the row and dies before any answer.
        assert letter_sending.claim_next(letter_id=letter.pk) is not None
        LetterDelivery.objects.update(claimed_at=long_ago)
        letter_sending.release_due_letters()

    row = LetterDelivery.objects.get(letter=letter)
    assert (row.status, row.attempts) == ("failed", letter_sending.MAX_ATTEMPTS)
    assert "worker stopped" in row.last_error


@pytest.mark.django_db
def test_a_letter_above_the_limit_goes_as_a_download_link(
    sink, media, organizer, settings, client
):
    settings.LETTER_ATTACHMENT_LIMIT = 100
    letter = deliver(make_letter(missions=1), organizer)

    ((_recipients, message),) = sink.inbox.messages
    assert attachments(message) == []
    text = message.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if "/letters/download/" in word)
    assert link.startswith(settings.SITE_URL)
    assert "too large to attach" in text

    response = client.get(link.removeprefix(settings.SITE_URL))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == final_pdf(letter)

    token = link.rstrip("/").rsplit("/", 1)[1]
    assert client.get(f"/letters/download/{token}x/").status_code == 404
    assert client.get("/letters/download/1/").status_code == 404
    LetterCompilation.objects.update(erased_at=timezone.now())
    assert client.get(link.removeprefix(settings.SITE_URL)).status_code == 404


@pytest.mark.django_db
def test_a_letter_below_the_limit_carries_no_link(sink, media, organizer):
    deliver(make_letter(missions=1), organizer)
    ((_recipients, message),) = sink.inbox.messages
    assert "/letters/download/" not in message.get_body(("plain",)).get_content()


@pytest.mark.django_db
def test_the_command_delivers_now_and_sends_nothing_more_when_run_again(
    sink, media, capsys
):
    letter = make_letter(missions=3)
    call_command("deliver_letter", "stop-the-raids", "--no-progress")
    call_command("deliver_letter", "stop-the-raids", "--no-progress")

    assert counts_by_target(sink, 3) == (0, 0)
    assert len(sink.inbox.messages) == 3
    assert delivered(letter)
    assert "3 sent, 0 failed" in capsys.readouterr().out
    entry = AuditEntry.objects.get(action="letter.deliver")
    assert entry.actor is None


@pytest.mark.django_db
def test_the_commands_test_goes_only_to_the_address_given(sink, media):
    letter = make_letter(missions=3)
    with pytest.raises(CommandError, match="--to"):
        call_command("deliver_letter", "stop-the-raids", "--test")
    call_command("deliver_letter", "stop-the-raids", "--test", "--to", "me@x.org")

    ((recipients, message),) = sink.inbox.messages
    assert recipients == ["me@x.org"]
    assert message["Subject"].startswith("[TEST] ")
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING


@pytest.mark.django_db
def test_the_command_refuses_an_unknown_letter(media):
    with pytest.raises(CommandError, match="nope"):
        call_command("deliver_letter", "nope")


# --- Targets, the deadline, refusals -----------------------------------------------


@pytest.mark.django_db
def test_every_mission_with_an_email_is_added_once(organizer):
    letter = make_letter(missions=3)
    Mission.objects.create(
        represented_country="MY",
        host_country="GB",
        city="London",
        kind=Mission.Kind.EMBASSY,
        name="Embassy without email",
        time_zone="Europe/London",
    )
    Mission.objects.create(
        represented_country="ID",
        host_country="GB",
        city="London",
        kind=Mission.Kind.EMBASSY,
        name="Embassy of Indonesia",
        email="id@missions.example.org",
        time_zone="Europe/London",
    )

    assert letter.targets.count() == 3
    assert letter_delivery.add_mission_targets(letter=letter, by=organizer) == 0
    assert (
        letter_delivery.add_mission_targets(letter=letter, country="ID", by=organizer)
        == 1
    )
    assert sorted(letter.targets.values_list("email", flat=True)) == sorted(
        [target_email(n) for n in range(3)] + ["id@missions.example.org"]
    )
    assert letter.targets.filter(language="").count() == 4


@pytest.mark.django_db
def test_targets_cannot_change_once_delivery_started(sink, media, organizer):
    letter = deliver(make_letter(missions=1), organizer)
    with pytest.raises(letter_delivery.LetterError):
        letter_delivery.add_mission_targets(letter=letter, by=organizer)


@pytest.mark.django_db
def test_a_letter_without_targets_or_cover_is_not_delivered(organizer):
    letter = make_letter(missions=0)
    with pytest.raises(letter_delivery.LetterError, match="no targets"):
        letter_delivery.start_delivery(letter=letter, by=organizer)
    letter = make_letter(missions=1, slug="no-cover")
    letter.covers.all().delete()
    with pytest.raises(letter_delivery.LetterError, match="cover text"):
        letter_delivery.start_delivery(letter=letter, by=organizer)
    assert Statement.objects.filter(signing_closes_at__isnull=False).count() == 0


@pytest.mark.django_db
def test_beat_starts_a_letter_at_its_deadline(media):
    letter = make_letter(missions=1)
    Letter.objects.filter(pk=letter.pk).update(
        deliver_at=timezone.now() - timedelta(minutes=1)
    )
    letter_sending.release_due_letters()

    letter.refresh_from_db()
    assert letter.status == Letter.Status.COMPILING
    assert AuditEntry.objects.get(action="letter.deliver").actor is None


@pytest.mark.django_db
def test_a_deadline_that_cannot_be_kept_is_said_once(media):
    letter = make_letter(missions=0)
    Letter.objects.filter(pk=letter.pk).update(
        deliver_at=timezone.now() - timedelta(minutes=1)
    )
    letter_sending.release_due_letters()
    letter_sending.release_due_letters()

    entry = AuditEntry.objects.get(action="letter.deadline_missed")
    assert "no targets" in entry.details["reason"]
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING


# --- Targets' answers and uploaded PDFs ----------------------------------------------


def reply(target, attachment, by):
    return letter_delivery.record_reply(
        target=target,
        kind=TargetReply.Kind.REPLY,
        received_on=date(2026, 12, 1),
        text="We have received your letter.",
        attachment=attachment,
        published=True,
        by=by,
    )


@pytest.mark.django_db
def test_an_answer_with_a_pdf_is_recorded_and_audited(media, organizer):
    target = make_letter(missions=1).targets.get()
    recorded = reply(target, SimpleUploadedFile("answer.pdf", pdf_bytes()), organizer)

    assert recorded.attachment.name.startswith("letters/replies/")
    assert recorded.recorded_by == organizer
    assert AuditEntry.objects.filter(action="letter.reply").count() == 1


@pytest.mark.parametrize(
    "content, message",
    [
        (b"<html>not a pdf</html>", "not a PDF"),
        (pdf_bytes(javascript=True), "JavaScript"),
        (b"%PDF-1.7 but nothing after", "could not be read"),
    ],
)
@pytest.mark.django_db
def test_an_unsafe_or_broken_attachment_is_refused_with_a_clear_message(
    media, organizer, content, message
):
    target = make_letter(missions=1).targets.get()
    with pytest.raises(ValidationError, match=message):
        reply(target, SimpleUploadedFile("answer.pdf", content), organizer)
    assert not TargetReply.objects.exists()


@pytest.mark.django_db
def test_an_attachment_above_the_upload_limit_is_refused(media, organizer, settings):
    settings.LETTER_UPLOAD_LIMIT = 100
    target = make_letter(missions=1).targets.get()
    with pytest.raises(ValidationError, match="too big"):
        reply(target, SimpleUploadedFile("answer.pdf", pdf_bytes()), organizer)


@pytest.mark.django_db
def test_the_reply_form_names_what_is_wrong_with_the_file(client, media, organizer):
    target = make_letter(missions=1).targets.get()
    client.force_login(organizer)
    response = client.post(
        reverse("admin:campaigns_targetreply_add"),
        {
            "target": target.pk,
            "kind": "reply",
            "received_on": "2026-12-01",
            "text": "Thanks",
            "attachment": SimpleUploadedFile("answer.pdf", b"GIF89a..."),
        },
    )
    assert response.status_code == 200
    assert "The file is not a PDF" in response.content.decode()
    assert not TargetReply.objects.exists()


@pytest.mark.django_db
def test_the_reply_form_records_through_the_service(client, media, organizer):
    target = make_letter(missions=1).targets.get()
    client.force_login(organizer)
    response = client.post(
        reverse("admin:campaigns_targetreply_add"),
        {
            "target": target.pk,
            "kind": "refusal",
            "received_on": "2026-12-01",
            "attachment": SimpleUploadedFile("answer.pdf", pdf_bytes()),
        },
    )
    assert response.status_code == 302
    recorded = TargetReply.objects.get()
    assert recorded.kind == "refusal" and recorded.recorded_by == organizer
    assert AuditEntry.objects.filter(action="letter.reply").exists()
    page = client.get(
        reverse("admin:campaigns_targetreply_attachment", args=[recorded.pk])
    )
    assert b"".join(page.streaming_content) == pdf_bytes_of(recorded)


def pdf_bytes_of(recorded: TargetReply) -> bytes:
    with recorded.attachment.open("rb") as handle:
        return handle.read()


# --- Permissions and the admin -------------------------------------------------------


@pytest.mark.django_db
def test_an_editor_can_neither_deliver_nor_get_a_test_copy_naming_signers(
    letter_editor, media
):
    letter = make_letter(missions=1)
    with pytest.raises(PermissionDenied):
        letter_delivery.start_delivery(letter=letter, by=letter_editor)
    with pytest.raises(PermissionDenied):
        letter_delivery.start_delivery(letter=letter, by=letter_editor, test=True)
    assert not AuditEntry.objects.filter(action="letter.test").exists()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING


@pytest.mark.django_db
def test_an_editor_cannot_retry_a_failed_delivery(
    sink, media, organizer, letter_editor
):
    letter = make_letter(missions=1)
    sink.inbox.answers[target_email(0)] = ["550 No"]
    deliver(letter, organizer)
    row = LetterDelivery.objects.get()
    with pytest.raises(PermissionDenied):
        letter_delivery.retry_delivery(delivery=row, by=letter_editor)


@pytest.mark.django_db
def test_an_editor_gets_no_deliver_page(client, letter_editor):
    letter = make_letter(missions=1)
    client.force_login(letter_editor)
    url = reverse("admin:campaigns_letter_deliver", args=[letter.pk])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    page = client.get(reverse("admin:campaigns_letter_change", args=[letter.pk]))
    assert "Deliver now" not in page.content.decode()
    assert "Only Publishers deliver letters" in page.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING


@pytest.mark.django_db
def test_someone_without_a_role_gets_nothing(client, outsider):
    letter = make_letter(missions=1)
    staff = make_user("staff-without-role", groups=[])
    for user in (outsider, staff):
        client.force_login(user)
        for name in ("change", "deliver"):
            url = reverse(f"admin:campaigns_letter_{name}", args=[letter.pk])
            assert client.get(url).status_code in (302, 403), (user, name)
        for name in ("add_missions", "test", "deliver"):
            url = reverse(f"admin:campaigns_letter_{name}", args=[letter.pk])
            assert client.post(url).status_code in (302, 403), (user, name)
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING
    assert (
        not AuditEntry.objects.filter(action__startswith="letter.")
        .exclude(action="letter.add_missions")
        .exists()
    )


@pytest.mark.django_db
def test_the_deliver_page_names_the_targets_signatures_and_closing(client, organizer):
    letter = make_letter(missions=3)
    client.force_login(organizer)
    page = client.get(reverse("admin:campaigns_letter_deliver", args=[letter.pk]))
    text = page.content.decode()
    assert "The letter goes to 3 targets" in text
    assert "signed by 0 organizations and people" in text
    assert "Signing on the letter closes now" in text
    assert target_email(2) in text
    version = re.search(r'name="version" value="([0-9a-f]+)"', text).group(1)

    # A target added while the page was read: nothing is delivered.
    letter_delivery.add_target(
        letter=letter, by=None, name="Late", email="late@example.org"
    )
    url = reverse("admin:campaigns_letter_deliver", args=[letter.pk])
    refused = client.post(url, {"version": version}, follow=True)
    assert "targets changed since you read them" in refused.content.decode()
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.GATHERING

    text = client.get(url).content.decode()
    version = re.search(r'name="version" value="([0-9a-f]+)"', text).group(1)
    response = client.post(url, {"version": version})
    assert response.status_code == 302
    assert Letter.objects.get(pk=letter.pk).status == Letter.Status.COMPILING


@pytest.mark.django_db
def test_the_button_adds_every_mission_of_the_campaigns_country(client, organizer):
    letter = make_letter(missions=2)
    letter.targets.all().delete()
    client.force_login(organizer)
    page = client.get(reverse("admin:campaigns_letter_change", args=[letter.pk]))
    assert "Add every mission of Malaysia" in page.content.decode()
    client.post(reverse("admin:campaigns_letter_add_missions", args=[letter.pk]))
    assert letter.targets.count() == 2


@pytest.mark.django_db
def test_the_letter_page_lists_deliveries_with_a_retry_for_failed_ones(
    client, sink, media, organizer
):
    letter = make_letter(missions=2)
    sink.inbox.answers[target_email(0)] = ["550 No such user"]
    deliver(letter, organizer)
    failed = LetterDelivery.objects.get(status="failed")
    client.force_login(organizer)
    text = client.get(
        reverse("admin:campaigns_letter_change", args=[letter.pk])
    ).content.decode()
    assert "No such user" in text
    assert failed.message_id in text.replace("&lt;", "<").replace("&gt;", ">")
    assert text.count(">Retry</button>") == 1
    client.post(reverse("admin:campaigns_letter_retry", args=[letter.pk, failed.pk]))
    failed.refresh_from_db()
    assert failed.status == "queued"


def test_every_new_action_has_its_sentence():
    for code in [
        "letter.add_missions", "letter.test", "letter.deliver",
        "letter.deadline_missed", "letter.delivered", "letter.retry",
        "letter.reply", "letter.reply_edit", "statement.close_signing",
    ]:  # fmt: skip
        assert code in audit_text.SENTENCES


@pytest.mark.django_db
def test_failed_deliveries_are_retried_from_the_delivery_list(
    client, sink, media, organizer, letter_editor
):
    letter = make_letter(missions=2)
    sink.inbox.answers[target_email(0)] = ["550 No such user"]
    deliver(letter, organizer)
    failed = LetterDelivery.objects.get(status="failed")
    url = reverse("admin:campaigns_letterdelivery_changelist")
    form = {"action": "retry_failed", "_selected_action": [failed.pk]}

    client.force_login(letter_editor)
    assert client.get(url).status_code == 200
    client.post(url, form)
    failed.refresh_from_db()
    assert failed.status == "failed"

    client.force_login(organizer)
    assert "No such user" in client.get(url).content.decode()
    client.post(url, form)
    failed.refresh_from_db()
    assert failed.status == "queued"
