"""Who may sign, when signing closes, the pause and what the public sees: set by
organizers in the admin and in import files, and what retention does with them."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone

from ima_site.models import AuditEntry
from signatories import services as signing
from signatories.models import Signature
from statements.models import Statement
from tests.factories import make_statement
from tests.signatories.conftest import form_data, link_from, send_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_minimum_fill_time(settings):
    settings.SIGNING_MIN_SECONDS = 0


def change_url(statement) -> str:
    return reverse("admin:statements_statement_change", args=[statement.pk])


def admin_form(statement, **changes) -> dict:
    """What the statement's admin form posts when nothing is changed but `changes`."""
    version = statement.versions.get(is_original=True)
    data = {
        "slug": statement.slug, "kind": statement.kind, "issuer": statement.issuer,
        "dateline": statement.dateline, "signed_by": statement.signed_by,
        "signed_by_role": statement.signed_by_role, "addressees": statement.addressees,
        "issued_on": statement.issued_on.isoformat(),
        "countries": ", ".join(statement.countries), "slogans": "",
        "topics": [str(pk) for pk in statement.topics.values_list("pk", flat=True)],
        "signature_goal": statement.signature_goal or "",
        "signers": statement.signers, "signatories_shown": statement.signatories_shown,
        "signing_closes_at_0": "", "signing_closes_at_1": "",
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "1", "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": version.pk, "versions-0-statement": statement.pk,
        "versions-0-language": version.language, "versions-0-is_original": "on",
        "versions-0-title": version.title, "versions-0-body": version.body,
        "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
    }  # fmt: skip
    if statement.accepts_signatures:
        data["accepts_signatures"] = "on"
    if statement.signing_paused:
        data["signing_paused"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def open_statement(db):
    return make_statement(
        slug="sign-me", status="published", accepts_signatures=True, signature_goal=100
    )


def test_the_admin_form_shows_every_signing_setting(client, publisher, open_statement):
    client.force_login(publisher)
    page = client.get(change_url(open_statement)).content.decode()
    for name in ("signers", "signing_closes_at_0", "signing_closes_at_1",
                 "signing_paused", "signatories_shown"):  # fmt: skip
        assert f'name="{name}"' in page, name


def test_a_publisher_sets_the_signing_settings_and_each_is_audited(
    client, publisher, open_statement, settings
):
    settings.TIME_ZONE = "Asia/Manila"
    client.force_login(publisher)
    response = client.post(
        change_url(open_statement),
        admin_form(
            open_statement,
            signers="organizations",
            signatories_shown="count",
            signing_closes_at_0="2026-12-31",
            signing_closes_at_1="18:00",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    open_statement.refresh_from_db()
    assert open_statement.signers == "organizations"
    assert open_statement.signatories_shown == "count"
    # Typed in the site's time zone: 18:00 in Manila is 10:00 UTC.
    assert open_statement.signing_closes_at == datetime(2026, 12, 31, 10, tzinfo=UTC)
    entry = AuditEntry.objects.get(action="statement.edit_public")
    assert entry.actor == publisher
    assert {"Who may sign", "Signatories shown", "Signing closes"} <= {
        change["field"] for change in entry.details["changes"]
    }


def test_an_editor_cannot_change_the_signing_settings_of_a_public_statement(
    client, editor, open_statement
):
    client.force_login(editor)
    response = client.post(
        change_url(open_statement),
        admin_form(open_statement, signing_paused="on", signers="people"),
    )
    assert response.status_code == 403
    open_statement.refresh_from_db()
    assert not open_statement.signing_paused
    assert open_statement.signers == "both"
    assert not AuditEntry.objects.filter(action="statement.edit_public").exists()


def test_an_editor_sets_the_signing_settings_of_a_draft(client, editor):
    draft = make_statement(slug="letter", status="draft", accepts_signatures=True)
    client.force_login(editor)
    response = client.post(
        change_url(draft), admin_form(draft, signers="people", signing_paused="on")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    draft.refresh_from_db()
    assert draft.signers == "people" and draft.signing_paused


def test_a_bad_signing_setting_is_refused_by_name(client, publisher, open_statement):
    client.force_login(publisher)
    response = client.post(
        change_url(open_statement),
        admin_form(
            open_statement,
            signers="robots",
            signing_closes_at_0="2026-02-31",
            signing_closes_at_1="18:00",
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"signers", "signing_closes_at"}
    open_statement.refresh_from_db()
    assert open_statement.signers == "both"
    assert open_statement.signing_closes_at is None


def test_a_statement_paused_in_the_admin_shows_closed_and_refuses_the_form(
    client, publisher, open_statement
):
    data = form_data(client, open_statement)
    sign_url = reverse("signatories:sign", args=[open_statement.slug])
    client.force_login(publisher)
    response = client.post(
        change_url(open_statement), admin_form(open_statement, signing_paused="on")
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    client.logout()

    page = client.get(open_statement.get_absolute_url()).content.decode()
    assert "Signing is closed" in page
    assert 'name="started"' not in page  # no form to fill in
    embed = client.get(reverse("signatories:embed", args=[open_statement.slug]))
    assert "Signing is closed" in embed.content.decode()
    assert client.post(sign_url, data).status_code == 409
    assert not Signature.objects.exists()
    entry = AuditEntry.objects.get(action="statement.edit_public")
    assert [c["field"] for c in entry.details["changes"]] == ["Signing paused"]

    # Lifting the pause opens the form again.
    client.force_login(publisher)
    open_statement.refresh_from_db()
    client.post(
        change_url(open_statement), admin_form(open_statement, signing_paused=None)
    )
    client.logout()
    assert client.post(sign_url, form_data(client, open_statement)).status_code == 303


def test_a_closing_time_set_in_the_admin_closes_signing(
    client, publisher, open_statement
):
    past = timezone.localtime() - timedelta(minutes=5)
    client.force_login(publisher)
    client.post(
        change_url(open_statement),
        admin_form(
            open_statement,
            signing_closes_at_0=past.strftime("%Y-%m-%d"),
            signing_closes_at_1=past.strftime("%H:%M:%S"),
        ),
    )
    client.logout()
    open_statement.refresh_from_db()
    assert open_statement.signing_closes_at is not None
    page = client.get(open_statement.get_absolute_url()).content.decode()
    assert "Signing is closed" in page


# --- retention ------------------------------------------------------------------


def sign_and_confirm(client, statement, email: str) -> Signature:
    """A person signs through the form and confirms through the emailed link."""
    response = client.post(
        reverse("signatories:sign", args=[statement.slug]),
        form_data(client, statement, email=email, name="Ana Reyes", city="Manila"),
    )
    assert response.status_code == 303
    emails = [e for e in send_outbox() if e.to == [email]]
    confirm = urlsplit(link_from(emails[-1], "confirm")).path
    assert client.post(confirm).status_code == 200
    return Signature.objects.get(statement=statement, status="confirmed")


def erased(signature: Signature) -> bool:
    signature.refresh_from_db()
    return (signature.name, signature.city, signature.email_encrypted) == (
        "",
        "",
        None,
    )


def test_retention_erases_names_the_set_days_after_signing_closed(client, settings):
    settings.SIGNATURE_RETENTION_DAYS = 30
    closing = make_statement(
        slug="closing", status="published", accepts_signatures=True
    )
    signature = sign_and_confirm(client, closing, "ana@example.org")
    signing.apply_count_events()
    closes = timezone.now() + timedelta(days=10)
    Statement.objects.filter(pk=closing.pk).update(signing_closes_at=closes)

    # Closed, but not yet 30 days ago: the names stay.
    done = signing.apply_retention(now=closes + timedelta(days=29))
    assert done["closed_statements"] == 0
    assert not erased(signature)

    done = signing.apply_retention(now=closes + timedelta(days=31))
    assert done["closed_statements"] == 1
    assert erased(signature)
    assert signature.status == "confirmed"
    assert signing.statement_counts(closing)["total"] == 1
    # Nothing left to erase: a second run changes nothing.
    assert (
        signing.apply_retention(now=closes + timedelta(days=32))["closed_statements"]
        == 0
    )


def test_a_statement_that_never_closes_keeps_names_up_to_the_maximum_age(
    client, settings
):
    settings.SIGNATURE_RETENTION_DAYS = 30
    settings.SIGNATURE_MAX_AGE_DAYS = 365
    open_ended = make_statement(
        slug="open-ended", status="published", accepts_signatures=True
    )
    later = make_statement(slug="later", status="published", accepts_signatures=True)
    signature = sign_and_confirm(client, open_ended, "ana@example.org")
    kept = sign_and_confirm(client, later, "joel@example.org")
    signing.apply_count_events()
    published = open_ended.publish_at
    Statement.objects.filter(pk=later.pk).update(
        publish_at=published + timedelta(days=100)
    )

    # Long past the retention days, but within the maximum age: names stay.
    done = signing.apply_retention(now=published + timedelta(days=364))
    assert done["open_ended_statements"] == 0
    assert not erased(signature)

    done = signing.apply_retention(now=published + timedelta(days=366))
    assert done["open_ended_statements"] == 1
    assert erased(signature)
    assert not erased(kept)  # published 100 days later: not that old yet
    assert signing.statement_counts(open_ended)["total"] == 1
    assert signing.statement_counts(later)["total"] == 1


def test_a_statement_that_never_closes_stops_taking_signatures_at_the_maximum_age(
    client, settings
):
    """Names would be erased within a day of signing: the page says closed instead."""
    settings.SIGNATURE_MAX_AGE_DAYS = 365
    old = make_statement(
        slug="old-open-ended",
        status="published",
        accepts_signatures=True,
        publish_at=timezone.now() - timedelta(days=366),
    )
    young = make_statement(
        slug="young-open-ended",
        status="published",
        accepts_signatures=True,
        publish_at=timezone.now() - timedelta(days=364),
    )
    assert not old.is_open_for_signing()
    assert young.is_open_for_signing()
    assert "Signing is closed" in client.get(old.get_absolute_url()).content.decode()
    response = client.post(
        reverse("signatories:sign", args=[old.slug]),
        form_data(client, young, email="late@example.org"),
    )
    assert response.status_code == 409
    assert not Signature.objects.filter(statement=old).exists()
