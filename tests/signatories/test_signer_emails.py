"""Signers who asked to be kept informed: the export with their emails, stopping
emails from a link, and how long their addresses are kept."""

import csv
import io
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.utils import timezone
from rest_framework.test import APIClient

from ima_site.crypto import decrypt, encrypt
from ima_site.models import AuditEntry
from signatories import services
from signatories.models import Signature
from tests.factories import make_statement, make_user
from tests.signatories.conftest import form_data, link_from, send_outbox

pytestmark = pytest.mark.django_db

EXPORT = "/admin/signatories/signature/export/"


@pytest.fixture(autouse=True)
def no_minimum_fill_time(settings):
    settings.SIGNING_MIN_SECONDS = 0


@pytest.fixture
def exporter(db):
    """A publisher: exports signatories, without their emails."""
    return make_user("exporter", groups=["Publishers"])


@pytest.fixture
def mailer(db):
    """A publisher who was also given the permission to export signers' emails."""
    user = make_user("mailer", groups=["Publishers"])
    user.user_permissions.add(Permission.objects.get(codename="export_signer_emails"))
    return user


def signature(statement, email=None, **fields):
    defaults = {"name": "Ana", "country": "PH", "status": "confirmed", "consent": True}
    return Signature.objects.create(
        statement=statement,
        email_encrypted=encrypt(email) if email else None,
        **{**defaults, **fields},
    )


@pytest.fixture
def signers(open_statement):
    """One signer of each kind an export with emails must tell apart."""
    return {
        "informed": signature(open_statement, "informed@example.org", name="Informed"),
        "formula": signature(open_statement, "=1+1@example.org", name="Formula"),
        "no_consent": signature(
            open_statement, "quiet@example.org", name="Quiet", consent=False
        ),
        "pending": signature(
            open_statement, "pending@example.org", name="Pending", status="pending"
        ),
        "held": signature(
            open_statement, "held@example.org", name="Held", is_held=True
        ),
        "paper": signature(open_statement, name="Paper", source="paper"),
    }


def rows(body: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode().lstrip("\ufeff"))))


def admin_export(client, statement, **fields) -> bytes:
    response = client.post(EXPORT, {"statement": statement.pk, **fields})
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content)


def test_the_export_with_emails_carries_only_consenting_counted_signers(
    client, mailer, open_statement, signers
):
    client.force_login(mailer)
    body = admin_export(client, open_statement, only_counted="on", emails="on")
    emails = {row["name"]: row["email"] for row in rows(body)}
    assert emails == {
        "Informed": "informed@example.org",
        "Formula": "'=1+1@example.org",  # formula-safe like every cell
        "Quiet": "",
        "Paper": "",
    }
    everything = admin_export(client, open_statement, emails="on")
    emails = {row["name"]: row["email"] for row in rows(everything)}
    assert emails["Pending"] == emails["Held"] == ""
    assert b"pending@" not in everything and b"held@" not in everything
    entries = AuditEntry.objects.filter(action="signatures.export").order_by("id")
    assert [(e.actor, e.details) for e in entries] == [
        (mailer, {"via": "admin", "only_counted": True, "excel": False,
                  "addresses": 2}),
        (mailer, {"via": "admin", "only_counted": False, "excel": False,
                  "addresses": 2}),
    ]  # fmt: skip


def test_the_admin_and_the_api_export_the_same_rows_with_emails(
    client, mailer, open_statement, signers
):
    client.force_login(mailer)
    from_admin = admin_export(client, open_statement, only_counted="on", emails="on")
    api = APIClient()
    api.force_authenticate(mailer)
    response = api.get(
        f"/api/v1/statements/{open_statement.slug}/signatures/export.csv?emails=1"
    )
    assert response.status_code == 200
    assert "with-emails" in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == from_admin
    entries = AuditEntry.objects.filter(action="signatures.export").order_by("id")
    assert [(e.details["via"], e.details["addresses"]) for e in entries] == [
        ("admin", 2),
        ("api", 2),
    ]


def test_no_cache_keeps_an_export_with_emails(client, mailer, open_statement, signers):
    client.force_login(mailer)
    from_admin = client.post(EXPORT, {"statement": open_statement.pk, "emails": "on"})
    api = APIClient()
    api.force_authenticate(mailer)
    from_api = api.get(
        f"/api/v1/statements/{open_statement.slug}/signatures/export.csv?emails=1"
    )
    for response in (from_admin, from_api):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert "private" in response["Cache-Control"]


def test_without_the_permission_the_choice_and_the_column_are_absent(
    client, exporter, open_statement, signers
):
    client.force_login(exporter)
    assert 'name="emails"' not in client.get(EXPORT).content.decode()
    # Posting the choice anyway changes nothing: the field is not there to read.
    body = admin_export(client, open_statement, only_counted="on", emails="on")
    assert "email" not in rows(body)[0]
    assert b"@example.org" not in body
    [entry] = AuditEntry.objects.filter(action="signatures.export")
    assert "addresses" not in entry.details


def test_the_choice_is_offered_to_those_with_the_permission(client, mailer):
    client.force_login(mailer)
    body = client.get(EXPORT).content.decode()
    assert 'name="emails"' in body and "kept informed" in body


def test_the_api_refuses_emails_without_the_permission(
    exporter, editor, open_statement, signers
):
    url = f"/api/v1/statements/{open_statement.slug}/signatures/export.csv"
    api = APIClient()
    api.force_authenticate(exporter)
    response = api.get(url + "?emails=1")
    assert response.status_code == 403
    assert "permission" in response.json()["detail"]
    api.force_authenticate(editor)
    assert api.get(url + "?emails=1").status_code == 403
    assert not AuditEntry.objects.filter(action="signatures.export").exists()
    api.force_authenticate(exporter)
    plain = b"".join(api.get(url).streaming_content)
    assert b"@example.org" not in plain and b",email" not in plain


def test_the_api_names_a_wrong_emails_value(mailer, open_statement):
    api = APIClient()
    api.force_authenticate(mailer)
    url = f"/api/v1/statements/{open_statement.slug}/signatures/export.csv"
    response = api.get(url + "?emails=yes")
    assert response.status_code == 400
    assert "emails" in response.json()
    assert not AuditEntry.objects.exists()


def test_the_service_itself_refuses_emails_without_the_permission(
    exporter, open_statement
):
    with pytest.raises(PermissionDenied):
        services.export_signatures(
            statement=open_statement, by=exporter, via="api", emails=True
        )
    assert not AuditEntry.objects.exists()


def test_the_schema_documents_the_emails_parameter(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operation = schema["paths"]["/api/v1/statements/{slug}/signatures/export.csv"][
        "get"
    ]
    [emails] = [p for p in operation["parameters"] if p["name"] == "emails"]
    assert emails["schema"]["enum"] == ["1"]
    assert "export_signer_emails" in emails["description"]
    assert "403" in operation["responses"]


# Stopping emails


def sign(client, statement, **overrides):
    return client.post(
        f"/statements/{statement.slug}/sign/", form_data(client, statement, **overrides)
    )


def path(url: str) -> str:
    return urlsplit(url).path


def test_a_consenting_signer_stops_emails_from_the_link_in_their_email(
    client, open_statement
):
    sign(client, open_statement, consent="on")
    [email] = send_outbox()
    stop = path(link_from(email, "unsubscribe"))
    assert stop in email.alternatives[0][0]
    page = client.post(path(link_from(email, "confirm")))
    # The confirmed page offers the same choice.
    assert "/s/unsubscribe/" in page.content.decode()
    signer = Signature.objects.get()
    assert signer.consent and decrypt(signer.email_encrypted) == "ana@example.org"

    # A mail scanner following the link changes nothing.
    shown = client.get(stop)
    assert shown.status_code == 200 and b'<form method="post" action=""' in (
        shown.content
    )
    assert b"Ana Reyes" not in shown.content
    signer.refresh_from_db()
    assert signer.consent

    done = client.post(stop)
    assert done.status_code == 200 and b"no more emails" in done.content
    signer.refresh_from_db()
    assert not signer.consent and signer.email_encrypted is None
    assert signer.status == "confirmed" and signer.name == "Ana Reyes"
    # Pressing it again does no harm; the withdraw link still works.
    assert client.post(stop).status_code == 200
    assert client.post(path(link_from(email, "withdraw"))).status_code == 200
    signer.refresh_from_db()
    assert signer.status == "withdrawn"
    assert client.get(stop).status_code == 404  # nothing left to stop


def test_stopping_before_confirming_keeps_the_address_until_it_confirms(
    client, open_statement
):
    sign(client, open_statement, consent="on")
    [email] = send_outbox()
    client.post(path(link_from(email, "unsubscribe")))
    signer = Signature.objects.get()
    assert not signer.consent and signer.email_encrypted is not None
    page = client.post(path(link_from(email, "confirm")))
    assert "/s/unsubscribe/" not in page.content.decode()
    signer.refresh_from_db()
    assert signer.status == "confirmed" and signer.email_encrypted is None


def test_a_stop_link_is_not_a_withdraw_link(client, open_statement):
    sign(client, open_statement, consent="on")
    [email] = send_outbox()
    token = path(link_from(email, "unsubscribe")).split("/")[-2]
    assert client.post(f"/s/withdraw/{token}/").status_code == 404
    assert client.post(f"/s/confirm/{token}/").status_code == 404
    assert Signature.objects.get().status == "pending"


def test_the_email_to_an_unconfirmed_address_carries_nothing_the_signer_typed(
    client, open_statement
):
    typed = {"name": "Zebulon Quixote", "organization": "Acme Leaflets",
             "role": "Chief Spammer", "city": "Nowhereville"}  # fmt: skip
    sign(client, open_statement, consent="on", **typed)
    sign(client, open_statement, email="other@example.org", **typed)
    with_consent, without = send_outbox()
    for email in (with_consent, without):
        html = email.alternatives[0][0]
        for value in typed.values():
            assert value not in email.body and value not in html
        # Whether "keep me informed" was ticked does not show either.
        assert "/s/unsubscribe/" in email.body
    assert with_consent.body.count("\n") == without.body.count("\n")


def test_the_already_signed_email_offers_stopping_only_to_consenting_signers(
    client, open_statement
):
    sign(client, open_statement, consent="on")
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    sign(client, open_statement)
    [again] = send_outbox()
    assert "/s/unsubscribe/" in again.body
    client.post(path(link_from(again, "unsubscribe")))
    sign(client, open_statement)
    [third] = send_outbox()
    assert "/s/unsubscribe/" not in third.body and "/s/withdraw/" in third.body


# How long the addresses are kept


def closed_statement(slug: str, days_ago: float):
    return make_statement(
        slug=slug,
        accepts_signatures=True,
        signing_closes_at=timezone.now() - timedelta(days=days_ago),
    )


def test_retention_erases_consenting_addresses_days_after_signing_ends(settings):
    settings.CONSENT_EMAIL_DAYS = 90
    long_closed = signature(closed_statement("long", 91), "a@example.org")
    recently_closed = signature(closed_statement("recent", 89), "b@example.org")
    still_open = signature(
        make_statement(
            slug="open",
            accepts_signatures=True,
            signing_closes_at=timezone.now() + timedelta(days=30),
        ),
        "c@example.org",
    )
    never_closes = signature(
        make_statement(slug="forever", accepts_signatures=True), "d@example.org"
    )
    done = services.apply_retention()
    assert done["consent_emails"] == 1
    for kept in (recently_closed, still_open, never_closes):
        kept.refresh_from_db()
        assert kept.email_encrypted is not None, kept.statement.slug
    long_closed.refresh_from_db()
    assert long_closed.email_encrypted is None
    assert long_closed.name == "Ana" and long_closed.consent  # names: their own rule

    settings.CONSENT_EMAIL_DAYS = 30
    assert services.apply_retention()["consent_emails"] == 1
    recently_closed.refresh_from_db()
    assert recently_closed.email_encrypted is None


def test_the_setting_must_be_at_least_one_day():
    from tests.test_settings import start

    result = start(CONSENT_EMAIL_DAYS="0")
    assert result.returncode != 0
    assert "CONSENT_EMAIL_DAYS='0' must be at least 1" in result.stderr
