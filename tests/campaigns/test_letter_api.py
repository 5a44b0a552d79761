"""The organizers' letters API with tokens of each role: targets, delivering and
testing, replies; and what the public API shows of them afterwards."""

from __future__ import annotations

import base64

import pytest
from django.core import mail
from rest_framework.test import APIClient

from campaigns.models import Letter, LetterTarget, Mission, TargetReply
from ima_site.celery import app
from ima_site.models import AuditEntry
from ima_site.tokens import create_api_token
from tests.campaigns.letters import make_letter, pdf_bytes, target_email
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def client_of(user) -> APIClient:
    _token, value = create_api_token(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    return client


@pytest.fixture
def letter(db):
    return make_letter(missions=2)


@pytest.fixture
def eager_tasks():
    """Tasks run here, as the worker would run them."""
    app.conf.update(task_always_eager=True)
    yield
    app.conf.update(task_always_eager=False)


def url(letter: Letter, what: str) -> str:
    return f"/api/v1/letters/{letter.statement.slug}/{what}/"


def test_an_organizer_reads_targets_with_addresses_and_the_public_never(
    letter, letter_editor, client
):
    answer = client_of(letter_editor).get(url(letter, "targets"))
    assert answer.status_code == 200
    rows = answer.json()["targets"]
    assert {row["email"] for row in rows} == {target_email(0), target_email(1)}
    assert all(row["kind"] == "mission" and row["delivery"] is None for row in rows)
    # Without a token: no targets, and the public letter API shows no address.
    assert client.get(url(letter, "targets")).status_code == 401
    assert "@" not in client.get("/api/v1/letters/").content.decode()


def test_targets_are_added_by_country_by_mission_and_by_address(letter, letter_editor):
    api = client_of(letter_editor)
    extra = Mission.objects.create(
        represented_country="MY",
        host_country="GB",
        city="London",
        kind=Mission.Kind.EMBASSY,
        name="High Commission of Malaysia, London",
        email="london@missions.example.org",
        time_zone="Europe/London",
    )
    answer = api.post(url(letter, "targets"), {"missions_of": "MY"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["added"] == 1
    # The same again adds nobody; so does the mission by id.
    assert (
        api.post(url(letter, "targets"), {"missions_of": "MY"}, format="json").json()[
            "added"
        ]
        == 0
    )
    again = api.post(url(letter, "targets"), {"mission": extra.pk}, format="json")
    assert again.status_code == 409
    assert "already a target" in again.json()["detail"]
    ministry = api.post(
        url(letter, "targets"),
        {"name": "Ministry of Home Affairs", "email": "MINISTER@home.example.gov",
         "language": "ms"},
        format="json",
    )  # fmt: skip
    assert ministry.status_code == 201
    target = LetterTarget.objects.get(name="Ministry of Home Affairs")
    assert (target.mission, target.language) == (None, "ms")
    # The same address in other letters' case is the same target.
    repeat = api.post(
        url(letter, "targets"),
        {"name": "The minister", "email": "minister@HOME.example.gov"},
        format="json",
    )
    assert repeat.status_code == 409
    assert AuditEntry.objects.filter(action="letter.add_target").count() == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "detail"),
        ({"mission": 1, "missions_of": "MY"}, 400, "detail"),
        ({"name": "Ministry"}, 400, "email"),
        ({"name": "Ministry", "email": "not an address"}, 400, "email"),
        ({"missions_of": "XX"}, 400, "missions_of"),
        ({"mission": 999_999}, 422, "mission"),
        ({"name": "  ", "email": "a@b.example.org"}, 400, "name"),
    ],
)
def test_a_bad_target_is_refused_naming_the_field(
    letter, letter_editor, body, status, field
):
    answer = client_of(letter_editor).post(url(letter, "targets"), body, format="json")
    assert answer.status_code == status, answer.content
    assert field in answer.json()
    assert letter.targets.count() == 2


def test_a_mission_without_an_address_is_a_422(letter, letter_editor):
    silent = Mission.objects.create(
        represented_country="MY",
        host_country="TH",
        city="Bangkok",
        kind=Mission.Kind.EMBASSY,
        name="Embassy of Malaysia, Bangkok",
        time_zone="Asia/Bangkok",
    )
    answer = client_of(letter_editor).post(
        url(letter, "targets"), {"mission": silent.pk}, format="json"
    )
    assert answer.status_code == 422
    assert "no email address" in answer.json()["mission"][0]


def test_only_a_publisher_delivers_and_delivery_is_queued_once(
    letter, letter_editor, organizer, django_capture_on_commit_callbacks
):
    refused = client_of(letter_editor).post(url(letter, "deliver"), {}, format="json")
    assert refused.status_code == 403
    letter.refresh_from_db()
    assert letter.status == Letter.Status.GATHERING
    api = client_of(organizer)
    with django_capture_on_commit_callbacks() as queued:
        answer = api.post(url(letter, "deliver"), {}, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json() == {"status": "compiling", "test_sent_to": None, "targets": 2}
    assert len(queued) == 1
    again = api.post(url(letter, "deliver"), {}, format="json")
    assert again.status_code == 409
    assert "already" in again.json()["detail"]
    # Targets are fixed once delivery starts.
    late = api.post(
        url(letter, "targets"),
        {"name": "Late", "email": "late@example.org"},
        format="json",
    )
    assert late.status_code == 409


def test_a_test_goes_only_to_the_callers_own_address(
    letter, organizer, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        answer = client_of(organizer).post(
            url(letter, "deliver"), {"test": True, "to": "x@example.org"}, format="json"
        )
    assert answer.status_code == 202, answer.content
    assert answer.json()["test_sent_to"] == organizer.email
    assert [message.to for message in mail.outbox] == [[organizer.email]]
    assert mail.outbox[0].subject.startswith("[TEST]")
    letter.refresh_from_db()
    assert letter.status == Letter.Status.GATHERING
    assert not letter.deliveries.exists()


def test_an_editor_gets_no_test_copy_naming_the_signers(letter, letter_editor):
    answer = client_of(letter_editor).post(
        url(letter, "deliver"), {"test": True}, format="json"
    )
    assert answer.status_code == 403
    assert mail.outbox == []


def test_a_test_without_an_address_on_the_account_is_a_409(letter):
    publisher = make_user("no-address", groups=["Publishers"])
    answer = client_of(publisher).post(
        url(letter, "deliver"), {"test": True}, format="json"
    )
    assert answer.status_code == 409
    assert "no email address" in answer.json()["detail"]


def test_a_reply_is_recorded_with_its_pdf_and_published_on_request(
    letter, letter_editor, client
):
    target = letter.targets.first()
    api = client_of(letter_editor)
    answer = api.post(
        url(letter, "replies"),
        {
            "target": target.pk,
            "received_on": "2026-11-20",
            "text": "The embassy has forwarded your letter.",
            "published": True,
            "attachment": base64.b64encode(pdf_bytes()).decode(),
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["has_attachment"] is True and body["kind"] == "reply"
    reply = TargetReply.objects.get()
    assert reply.attachment.read().startswith(b"%PDF-")
    listed = api.get(url(letter, "replies")).json()
    assert [row["id"] for row in listed] == [reply.pk]
    assert client.get(url(letter, "replies")).status_code == 401


@pytest.mark.parametrize(
    ("attachment", "message"),
    [
        (b"GIF89a not a pdf", "not a PDF"),
        (None, "JavaScript"),
    ],
)
def test_a_reply_with_a_bad_attachment_is_a_422_and_nothing_is_kept(
    letter, letter_editor, attachment, message
):
    data = attachment if attachment is not None else pdf_bytes(javascript=True)
    answer = client_of(letter_editor).post(
        url(letter, "replies"),
        {
            "target": letter.targets.first().pk,
            "received_on": "2026-11-20",
            "attachment": base64.b64encode(data).decode(),
        },
        format="json",
    )
    assert answer.status_code == 422
    assert message in " ".join(answer.json()["attachment"])
    assert not TargetReply.objects.exists()


def test_a_reply_to_another_letters_target_is_a_422(letter, letter_editor):
    other = make_letter(missions=0, slug="another-letter")
    elsewhere = LetterTarget.objects.create(
        letter=other, name="Ministry", email="ministry@example.org"
    )
    answer = client_of(letter_editor).post(
        url(letter, "replies"),
        {"target": elsewhere.pk, "received_on": "2026-11-20"},
        format="json",
    )
    assert answer.status_code == 422
    assert "target" in answer.json()


def test_someone_without_letter_rights_is_refused_everywhere(letter):
    reader = make_user("statements-only", groups=[])
    reader.is_staff = True
    reader.save()
    api = client_of(reader)
    for what in ("targets", "replies"):
        assert api.get(url(letter, what)).status_code in (401, 403)
        assert api.post(url(letter, what), {}, format="json").status_code in (401, 403)
    assert api.post(url(letter, "deliver"), {}, format="json").status_code in (
        401,
        403,
    )


def test_an_unknown_letter_is_a_json_404(letter_editor):
    answer = client_of(letter_editor).get("/api/v1/letters/no-such-letter/targets/")
    assert answer.status_code == 404
    assert "no-such-letter" in answer.json()["detail"]


def test_delivery_goes_only_to_the_targets_the_publisher_read(
    letter, letter_editor, organizer
):
    api = client_of(organizer)
    read = api.get(url(letter, "targets")).json()["version"]
    # Meanwhile an Editor adds an address.
    client_of(letter_editor).post(
        url(letter, "targets"),
        {"name": "Someone", "email": "someone@example.org"},
        format="json",
    )
    answer = api.post(url(letter, "deliver"), {"targets_version": read}, format="json")
    assert answer.status_code == 409
    assert "targets changed" in answer.json()["detail"]
    letter.refresh_from_db()
    assert letter.status == Letter.Status.GATHERING
    read = api.get(url(letter, "targets")).json()["version"]
    answer = api.post(url(letter, "deliver"), {"targets_version": read}, format="json")
    assert answer.status_code == 202


def test_a_reply_too_big_for_a_request_is_a_json_400_naming_the_limit(
    letter, letter_editor
):
    data = pdf_bytes() + b"%" * 3_000_000
    answer = client_of(letter_editor).post(
        url(letter, "replies"),
        {
            "target": letter.targets.first().pk,
            "received_on": "2026-11-20",
            "attachment": base64.b64encode(data).decode(),
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "too large" in answer.json()["detail"]
    assert not TargetReply.objects.exists()
