"""The public proof of a sign-on letter's delivery: on the campaign page, on the
letter's own page and in the API; the letter as delivered to download, until
retention erases the names it holds. Deliveries are made directly in the database."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from pypdf import PdfWriter

from campaigns.letter_retention import erase_expired_letter_files
from campaigns.models import (
    Campaign,
    Letter,
    LetterCompilation,
    LetterDelivery,
    LetterTarget,
    Mission,
    TargetReply,
)
from ima_site.crypto import encrypt
from signatories.models import Signature
from statements.models import Statement
from tests.factories import make_statement

SENT_AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
TARGET_CANARY = "embassy.canary.3391@missions.example.org"
SIGNER_CANARY = "signer.canary.8812@example.org"
PUBLISHED = "We have forwarded your letter to the Ministry of Home Affairs."
UNPUBLISHED = "Confidential: the ambassador will not comment."


def pdf_bytes(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def add_target(letter, number, *, mission=True, status=LetterDelivery.Status.SENT):
    compilation = letter.compilations.get(test=False)
    if mission:
        # Letters of several campaigns may go to the same mission.
        place, _ = Mission.objects.get_or_create(
            represented_country="MY",
            host_country="PH",
            city=f"Manila {number}",
            kind=Mission.Kind.EMBASSY,
            defaults={
                "name": f"Embassy of Malaysia {number}",
                "email": f"embassy{number}@missions.example.org",
                "time_zone": "Asia/Manila",
            },
        )
        target = LetterTarget.objects.create(
            letter=letter, mission=place, name=place.name, email=place.email
        )
    else:
        target = LetterTarget.objects.create(
            letter=letter,
            name=f"Human Rights Commission {number}",
            email=f"commission{number}@example.org",
        )
    LetterDelivery.objects.create(
        letter=letter,
        target=target,
        compilation=compilation,
        status=status,
        sent_at=SENT_AT + timedelta(minutes=number)
        if status == LetterDelivery.Status.SENT
        else None,
        message_id=f"<{number}@example.org>",
    )
    return target


def make_delivered_letter(*, slug="stop-the-raids", delivered=True) -> Letter:
    """A sign-on letter of a public campaign: 2 missions and 1 other authority got
    it, a third mission's delivery failed; a signer who gave an email."""
    statement = make_statement(
        slug=slug,
        kind=Statement.Kind.SIGN_ON_LETTER,
        accepts_signatures=True,
        signing_closes_at=SENT_AT,
    )
    Signature.objects.create(
        statement=statement,
        name="Ana Reyes",
        country="PH",
        kind="person",
        display="full",
        status="confirmed",
        email_encrypted=encrypt(SIGNER_CANARY),
    )
    campaign = Campaign.objects.create(
        slug=f"{slug}-campaign",
        title="Stop Ops Mega",
        target_country="MY",
        status=Campaign.Status.ACTIVE,
    )
    letter = Letter.objects.create(
        statement=statement,
        campaign=campaign,
        status=Letter.Status.DELIVERED if delivered else Letter.Status.DELIVERING,
        delivered_at=SENT_AT + timedelta(minutes=5) if delivered else None,
    )
    compilation = LetterCompilation(
        letter=letter, sha256="0" * 64, size=1, pages=2, signatures=41, named=40
    )
    compilation.pdf.save("letter.pdf", ContentFile(pdf_bytes()), save=False)
    compilation.save()
    first = add_target(letter, 1)
    first.email = TARGET_CANARY
    first.save()
    add_target(letter, 2)
    add_target(letter, 3, status=LetterDelivery.Status.FAILED)
    add_target(letter, 4, mission=False)
    return letter


def target(letter, number) -> LetterTarget:
    return letter.targets.get(name__endswith=f" {number}")


def add_replies(letter):
    reply = TargetReply(
        target=target(letter, 1),
        kind=TargetReply.Kind.REPLY,
        received_on=date(2026, 11, 10),
        text=PUBLISHED,
        published=True,
    )
    reply.attachment.save("reply.pdf", ContentFile(pdf_bytes(1)), save=False)
    reply.save()
    TargetReply.objects.create(
        target=target(letter, 2),
        kind=TargetReply.Kind.REPLY,
        received_on=date(2026, 11, 12),
        text=UNPUBLISHED,
        published=False,
    )
    TargetReply.objects.create(
        target=target(letter, 4),
        kind=TargetReply.Kind.REFUSAL,
        received_on=date(2026, 11, 11),
        published=True,
    )
    return reply


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def public_urls(letter) -> list[str]:
    slug = letter.statement.slug
    return [
        f"/campaigns/{letter.campaign.slug}/",
        letter.statement.get_absolute_url(),
        "/api/v1/letters/",
        f"/api/v1/letters/{slug}/",
        f"/api/v1/campaigns/{letter.campaign.slug}/",
        "/api/schema/",
    ]


def test_campaign_page_says_to_how_many_and_when_the_letter_went(client, db, media):
    letter = make_delivered_letter()
    body = page(client, f"/campaigns/{letter.campaign.slug}/")
    assert "Delivered to 2 missions and 1 other target on Nov. 3, 2026" in body
    assert "Embassy of Malaysia 1" in body and "Human Rights Commission 4" in body
    # The failed delivery is the organizers' business.
    assert "Embassy of Malaysia 3" not in body


def test_the_date_is_written_in_the_pages_language(client, db, media):
    letter = make_delivered_letter()
    with translation.override("fr"):
        body = page(client, f"/fr/campaigns/{letter.campaign.slug}/")
    assert "3 novembre 2026" in body


def test_pages_show_published_replies_and_reply_status_never_an_unpublished_one(
    client, db, media
):
    letter = make_delivered_letter()
    add_replies(letter)
    for url in public_urls(letter)[:2]:
        body = page(client, url)
        assert PUBLISHED in body, url
        assert "Replied on Nov. 10, 2026" in body, url
        assert "Refused the letter" in body, url
        assert UNPUBLISHED not in body, url
        # Its target counts as not having answered, publicly.
        assert "No reply yet" in body, url


def test_no_target_or_signer_email_on_any_public_page_or_answer(client, db, media):
    letter = make_delivered_letter()
    add_replies(letter)
    for url in public_urls(letter):
        body = page(client, url)
        for secret in (TARGET_CANARY, "embassy.canary", SIGNER_CANARY, "@"):
            if url == "/api/schema/" and secret == "@":
                continue
            assert secret not in body, (url, secret)
    assert "Ana Reyes" not in page(client, f"/campaigns/{letter.campaign.slug}/")


def test_the_delivery_part_is_on_the_letters_page_only(client, db, media):
    letter = make_delivered_letter()
    other = make_statement(slug="another-statement")
    assert "Delivered to 2 missions" in page(
        client, letter.statement.get_absolute_url()
    )
    assert "Delivered to" not in page(client, other.get_absolute_url())


def test_nothing_is_shown_before_any_delivery_went(client, db, media):
    letter = make_delivered_letter(delivered=False)
    LetterDelivery.objects.update(status=LetterDelivery.Status.QUEUED, sent_at=None)
    for url in public_urls(letter)[:2]:
        assert "Delivered to" not in page(client, url), url
    [row] = client.get("/api/v1/letters/").json()["results"]
    assert row["targets"] == [] and row["counts"]["targets"] == 0


def test_api_gives_status_counts_targets_and_published_replies(client, db, media):
    letter = make_delivered_letter()
    add_replies(letter)
    data = client.get(f"/api/v1/letters/{letter.statement.slug}/").json()
    assert data["status"] == "delivered"
    assert data["counts"] == {
        "targets": 3, "missions": 2, "other_targets": 1, "signatures": 41,
    }  # fmt: skip
    assert [(t["name"], t["kind"], t["reply"]) for t in data["targets"]] == [
        ("Embassy of Malaysia 1", "mission", "replied"),
        ("Embassy of Malaysia 2", "mission", "none"),
        ("Human Rights Commission 4", "authority", "refused"),
    ]
    assert data["targets"][0]["country"] == "PH"
    assert data["targets"][0]["city"] == "Manila 1"
    assert [(r["kind"], r["received_on"]) for r in data["replies"]] == [
        ("refusal", "2026-11-11"),
        ("reply", "2026-11-10"),
    ]
    assert data["download"].endswith(f"/campaigns/letters/{letter.statement.slug}.pdf")
    assert data["pages"] == 2


def test_api_lists_only_letters_of_public_statements(client, db, media):
    letter = make_delivered_letter()
    make_delivered_letter(slug="a-draft-letter")
    Statement.objects.filter(slug="a-draft-letter").update(
        status=Statement.Status.DRAFT
    )
    rows = client.get("/api/v1/letters/").json()["results"]
    assert [row["statement"] for row in rows] == [letter.statement.slug]
    assert client.get("/api/v1/letters/a-draft-letter/").status_code == 404


def test_api_list_queries_do_not_grow_with_letters(client, db, media):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/v1/letters/").status_code == 200
        return len(captured)

    add_replies(make_delivered_letter(slug="first"))
    few = queries()
    add_replies(make_delivered_letter(slug="second"))
    add_replies(make_delivered_letter(slug="third"))
    assert queries() == few


def test_letter_downloads_once_delivered_and_not_before(client, db, media):
    letter = make_delivered_letter(delivered=False)
    url = f"/campaigns/letters/{letter.statement.slug}.pdf"
    assert client.get(url).status_code == 404
    assert "Download the letter" not in page(
        client, letter.statement.get_absolute_url()
    )
    Letter.objects.filter(pk=letter.pk).update(status=Letter.Status.DELIVERED)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment")
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    for page_url in public_urls(letter)[:2]:
        body = page(client, page_url)
        assert "Download the letter as delivered (PDF, 2 pages)" in body, page_url
        assert url in body, page_url


def test_a_test_compilation_is_never_the_public_download(client, db, media):
    letter = make_delivered_letter()
    LetterCompilation.objects.filter(letter=letter).update(test=True)
    assert (
        client.get(f"/campaigns/letters/{letter.statement.slug}.pdf").status_code == 404
    )


def test_retention_ends_the_download_and_keeps_the_record(client, db, media, settings):
    letter = make_delivered_letter()
    compilation = letter.compilations.get()
    path = media / compilation.pdf.name
    assert path.exists()
    url = f"/campaigns/letters/{letter.statement.slug}.pdf"
    early = SENT_AT + timedelta(days=settings.SIGNATURE_RETENTION_DAYS - 1)
    assert erase_expired_letter_files(now=early) == 0
    assert client.get(url).status_code == 200
    late = SENT_AT + timedelta(days=settings.SIGNATURE_RETENTION_DAYS + 1)
    assert erase_expired_letter_files(now=late) == 1
    assert not path.exists()
    compilation.refresh_from_db()
    assert compilation.erased_at == late
    assert client.get(url).status_code == 404
    body = page(client, f"/campaigns/{letter.campaign.slug}/")
    assert "Delivered to 2 missions and 1 other target" in body
    assert "Download the letter" not in body
    assert erase_expired_letter_files(now=late) == 0


def test_retention_of_a_letter_that_never_closes_counts_from_publication(
    db, media, settings
):
    letter = make_delivered_letter()
    published = timezone.now()
    Statement.objects.filter(pk=letter.statement_id).update(
        signing_closes_at=None, publish_at=published
    )
    limit = timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)
    assert erase_expired_letter_files(now=published + limit - timedelta(days=1)) == 0
    assert erase_expired_letter_files(now=published + limit + timedelta(days=1)) == 1


def test_a_published_replys_attachment_downloads_and_an_unpublished_one_does_not(
    client, db, media
):
    letter = make_delivered_letter()
    reply = add_replies(letter)
    url = f"/campaigns/letters/replies/{reply.pk}.pdf"
    assert url in page(client, f"/campaigns/{letter.campaign.slug}/")
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    TargetReply.objects.filter(pk=reply.pk).update(published=False)
    assert client.get(url).status_code == 404


def test_the_signing_form_of_a_letter_says_names_go_in_it_as_chosen(client, db):
    letter = make_statement(
        slug="letter-to-sign",
        kind=Statement.Kind.SIGN_ON_LETTER,
        accepts_signatures=True,
    )
    statement = make_statement(slug="statement-to-sign", accepts_signatures=True)
    note = "your name goes in it as you choose here"
    assert note in client.get(letter.versions.get().get_absolute_url()).content.decode()
    assert note not in (
        client.get(statement.versions.get().get_absolute_url()).content.decode()
    )
