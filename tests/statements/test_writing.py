"""Writing a statement in the admin: title and text first, the slug, the preview,
status buttons that save first, scheduling in the organizer's zone, the history."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ima_site.models import AuditEntry, OrganizerProfile, SiteConfiguration
from statements import services
from statements.models import Statement
from tests.factories import make_statement, make_user

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/statements/statement/add/"


def add_form_data(**overrides) -> dict:
    data = {
        "title": "Stop the raids on migrant workers",
        "body": "The raids must **stop**.",
        "language": "en",
        "slug": "",
        "kind": "statement",
        "issuer": "IMA",
        "signers": "both",
        "signatories_shown": "list",
        "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
    }  # fmt: skip
    data.update(overrides)
    return data


def change_form_data(statement, **overrides) -> dict:
    versions = list(statement.versions.order_by("-is_original", "language"))
    data = {
        "slug": statement.slug, "kind": statement.kind, "issuer": statement.issuer,
        "issued_on": statement.issued_on.isoformat() if statement.issued_on else "",
        "dateline": statement.dateline, "countries": ", ".join(statement.countries),
        "slogans": "\n".join(statement.slogans), "signers": statement.signers,
        "topics": [topic.pk for topic in statement.topics.all()],
        "signatories_shown": statement.signatories_shown,
        "versions-TOTAL_FORMS": str(len(versions)),
        "versions-INITIAL_FORMS": str(len(versions)),
        "versions-MIN_NUM_FORMS": "1", "versions-MAX_NUM_FORMS": "1000",
        "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
    }  # fmt: skip
    if statement.accepts_signatures:
        data["accepts_signatures"] = "on"
    if statement.signature_goal:
        data["signature_goal"] = str(statement.signature_goal)
    if statement.signing_closes_at:
        closes = timezone.localtime(statement.signing_closes_at)
        data["signing_closes_at_0"] = closes.strftime("%Y-%m-%d")
        data["signing_closes_at_1"] = closes.strftime("%H:%M:%S")
    for index, version in enumerate(versions):
        prefix = f"versions-{index}-"
        data.update(
            {
                prefix + "id": version.pk,
                prefix + "statement": statement.pk,
                prefix + "language": version.language,
                prefix + "title": version.title,
                prefix + "body": version.body,
            }
        )
        if version.is_original:
            data[prefix + "is_original"] = "on"
    data.update(overrides)
    return data


def change_url(statement) -> str:
    return reverse("admin:statements_statement_change", args=[statement.pk])


# --- the add form ---------------------------------------------------------------


def test_the_add_form_starts_with_the_title_and_text_in_the_writers_language(
    client, editor
):
    OrganizerProfile.objects.create(user=editor, time_zone="Asia/Manila", language="es")
    client.force_login(editor)
    page = client.get(ADD_URL).content.decode()
    assert page.index('name="title"') < page.index('name="body"')
    assert page.index('name="body"') < page.index('name="slug"')
    assert page.index('name="body"') < page.index('name="dateline"')
    assert 'name="language" value="es"' in page
    # The versions inline belongs to the change form.
    assert "versions-TOTAL_FORMS" not in page


def test_saving_the_add_form_makes_the_statement_and_its_original_version(
    client, editor
):
    client.force_login(editor)
    response = client.post(ADD_URL, add_form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    statement = Statement.objects.get()
    assert statement.slug == "stop-the-raids-on-migrant-workers"
    assert statement.status == "draft"
    assert statement.created_by == editor
    version = statement.versions.get()
    assert (version.language, version.is_original) == ("en", True)
    assert version.title == "Stop the raids on migrant workers"
    assert version.body == "The raids must **stop**."


def test_an_empty_slug_is_made_unique_from_the_title(client, editor):
    make_statement(slug="stop-the-raids-on-migrant-workers")
    client.force_login(editor)
    client.post(ADD_URL, add_form_data())
    assert Statement.objects.filter(slug="stop-the-raids-on-migrant-workers-2").exists()


def test_a_taken_slug_is_named_and_nothing_is_saved(client, editor):
    make_statement(slug="taken", title="The first statement <b>bold</b>")
    client.force_login(editor)
    response = client.post(ADD_URL, add_form_data(slug="taken", title="New one"))
    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "This address is taken by “The first statement &lt;b&gt;bold&lt;/b&gt;”" in page
    )
    assert 'value="New one"' in page  # what was typed is kept
    assert Statement.objects.count() == 1


def test_the_add_form_refuses_an_unknown_language(client, editor):
    client.force_login(editor)
    response = client.post(ADD_URL, add_form_data(language="xx-nope"))
    assert response.status_code == 200
    assert "is not a language code" in response.content.decode()
    assert not Statement.objects.exists()


def test_the_slug_check_names_the_statement_that_has_the_address(client, editor):
    other = make_statement(slug="taken", title="Stop the raids")
    client.force_login(editor)
    url = reverse("admin:statements_statement_slug_check")
    assert client.get(url, {"slug": "taken"}).json() == {
        "slug": "taken",
        "available": False,
        "message": "This address is taken by “Stop the raids”.",
    }
    assert client.get(url, {"slug": "free-one"}).json()["available"] is True
    # A statement's own address is not "taken" on its own change form.
    assert client.get(url, {"slug": "taken", "exclude": other.pk}).json()["available"]


def test_the_slug_check_and_the_preview_refuse_those_without_a_role(client, outsider):
    slug_url = reverse("admin:statements_statement_slug_check")
    preview_url = reverse("admin:statements_statement_markdown_preview")
    # Logged out: to the login page.
    assert client.get(slug_url, {"slug": "x"}).status_code == 302
    assert client.post(preview_url, {"text": "x"}).status_code == 302
    # Staff without a role on statements: refused.
    nobody = make_user("staff-without-role", groups=[])
    client.force_login(nobody)
    assert client.get(slug_url, {"slug": "x"}).status_code == 403
    assert client.post(preview_url, {"text": "x"}).status_code == 403
    # Not staff at all: the admin sends them to its login.
    client.force_login(outsider)
    assert client.post(preview_url, {"text": "x"}).status_code == 302


# --- the preview ----------------------------------------------------------------

HOSTILE = "**Bold** <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>"


def test_the_preview_button_renders_the_text_and_saves_nothing(client, editor):
    client.force_login(editor)
    response = client.post(
        ADD_URL, add_form_data(body=HOSTILE, dateline="Manila", _preview="Preview")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)" not in page
    assert "javascript:alert" not in page.split('id="statement-preview"')[1]
    assert "onerror" not in page.split('id="statement-preview"')[1]
    assert 'value="Manila"' in page  # every typed value kept
    assert "Please correct" not in page
    assert not Statement.objects.exists()


def test_the_preview_of_a_change_form_shows_every_version_unsaved(client, editor):
    statement = make_statement(status="draft", translations={"es": "Alto"})
    client.force_login(editor)
    data = change_form_data(statement, _preview="Preview")
    data["versions-0-body"] = "Changed *text*"
    response = client.post(change_url(statement), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Changed <em>text</em>" in page
    assert "Alto" in page.split('id="statement-preview"')[1]
    assert statement.versions.get(is_original=True).body != "Changed *text*"


def test_the_live_preview_answers_sanitized_html_and_checks_csrf(editor):
    url = reverse("admin:statements_statement_markdown_preview")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(editor)
    assert strict.post(url, {"text": "hi"}).status_code == 403
    relaxed = Client()
    relaxed.force_login(editor)
    html = relaxed.post(url, {"text": HOSTILE}).json()["html"]
    assert "<strong>Bold</strong>" in html
    assert "<script" not in html and "onerror" not in html
    assert "javascript:" not in html
    assert relaxed.get(url).status_code == 405


# --- version fields -------------------------------------------------------------


def test_a_version_takes_its_own_slogans_addressees_and_role(client, editor):
    statement = make_statement(status="draft", translations={"es": "Alto"})
    client.force_login(editor)
    data = change_form_data(statement)
    data.update(
        {
            "versions-1-slogans": "¡Alto a las redadas!\n\n¡Papeles para todos!",
            "versions-1-addressees": "Al Gobierno de Malasia",
            "versions-1-signed_by_role": "presidenta",
        }
    )
    response = client.post(change_url(statement), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    spanish = statement.versions.get(language="es")
    assert spanish.slogans == ["¡Alto a las redadas!", "¡Papeles para todos!"]
    assert spanish.addressees == "Al Gobierno de Malasia"
    assert spanish.signed_by_role == "presidenta"


def test_the_original_version_takes_no_second_copy_of_the_statements_own_text(
    client, editor
):
    statement = make_statement(status="draft", translations={"es": "Alto"})
    client.force_login(editor)
    data = change_form_data(statement)
    data["versions-0-slogans"] = "A slogan only the original's page would show"
    response = client.post(change_url(statement), data)
    assert response.status_code == 200
    assert "leave it empty here" in response.content.decode()
    assert statement.versions.get(is_original=True).slogans == []


# --- status buttons save first ------------------------------------------------------


def test_send_for_review_saves_the_unsaved_edit_first(client, editor):
    statement = make_statement(status="draft")
    client.force_login(editor)
    data = change_form_data(statement, dateline="Geneva", _workflow="submit")
    data["versions-0-title"] = "A better title"
    response = client.post(change_url(statement), data, follow=True)
    assert "Sent for review." in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == "in_review"
    assert statement.dateline == "Geneva"
    assert str(statement) == "A better title"


def test_a_status_button_on_an_invalid_form_moves_nothing_and_keeps_the_typing(
    client, editor
):
    statement = make_statement(status="draft")
    client.force_login(editor)
    data = change_form_data(
        statement, countries="ZZ", dateline="Typed but unsaved", _workflow="submit"
    )
    response = client.post(change_url(statement), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not ISO 3166-1 country codes: ZZ" in page
    assert 'value="Typed but unsaved"' in page
    statement.refresh_from_db()
    assert statement.status == "draft"
    assert statement.dateline != "Typed but unsaved"
    assert not AuditEntry.objects.filter(action="statement.submit").exists()


def test_publish_now_saves_then_asks_once_and_shows_what_becomes_public(
    client, publisher
):
    statement = make_statement(
        status="in_review",
        title="Stop the raids <i>now</i>",
        translations={"es": "Alto a las redadas"},
        accepts_signatures=True,
        signature_goal=5000,
        signing_closes_at=timezone.now() + timedelta(days=30),
    )
    client.force_login(publisher)
    data = change_form_data(statement, dateline="Edited first", _workflow="publish")
    response = client.post(change_url(statement), data)
    confirm_url = reverse(
        "admin:statements_statement_workflow", args=[statement.pk, "publish"]
    )
    assert response.status_code == 302 and response["Location"] == confirm_url
    statement.refresh_from_db()
    assert statement.dateline == "Edited first"
    assert statement.status == "in_review"  # asked, not done

    page = client.get(confirm_url).content.decode()
    assert "Stop the raids &lt;i&gt;now&lt;/i&gt;" in page
    assert "Alto a las redadas" in page and "Español" in page
    assert "It opens for signing at once." in page
    assert "5000" in page or "5,000" in page
    assert "/statements/a-statement/" in page
    assert "No, take me back" in page

    client.post(confirm_url, {"note": "Looks good"})
    statement.refresh_from_db()
    assert statement.status == "published"
    entry = AuditEntry.objects.get(action="statement.publish")
    assert entry.details["note"] == "Looks good"


def test_publish_now_stands_apart_from_return_to_draft(client, publisher):
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    page = client.get(change_url(statement)).content.decode()
    forward = page.split('class="form-row workflow-forward"')[1].split("</div>")[0]
    back = page.split('class="form-row workflow-back"')[1].split("</div>")[0]
    assert "Publish now" in forward and "Return to draft" not in forward
    assert "Return to draft" in back and "Publish now" not in back


def test_the_confirmation_page_is_for_publishers_only(client, editor):
    statement = make_statement(status="in_review")
    client.force_login(editor)
    url = reverse("admin:statements_statement_workflow", args=[statement.pk, "publish"])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    statement.refresh_from_db()
    assert statement.status == "in_review"


# --- review by a second person --------------------------------------------------------


def second_person_required(on: bool) -> None:
    SiteConfiguration.objects.update_or_create(
        id=1, defaults={"review_by_second_person": on}
    )


def test_without_second_person_review_a_publisher_publishes_a_draft_directly(
    client, publisher, editor
):
    second_person_required(False)
    statement = make_statement(status="draft")
    client.force_login(publisher)
    page = client.get(change_url(statement)).content.decode()
    assert "Publish now" in page and "Send for review" in page
    services.publish_statement(statement=statement, by=publisher)
    statement.refresh_from_db()
    assert statement.status == "published"
    # Editors still send for review.
    other = make_statement(slug="other", status="draft")
    client.force_login(editor)
    assert "Publish now" not in client.get(change_url(other)).content.decode()


def test_with_second_person_review_nobody_publishes_what_they_submitted(
    client, publisher
):
    second_person_required(True)
    colleague = make_user("colleague", groups=["Publishers"])
    statement = make_statement(status="draft")
    client.force_login(publisher)
    assert "Publish now" not in client.get(change_url(statement)).content.decode()
    services.submit_for_review(statement=statement, by=publisher)
    page = client.get(change_url(statement)).content.decode()
    assert "Publish now" not in page
    assert "someone other than you" in page
    for at in (None, timezone.now() + timedelta(days=1)):
        with pytest.raises(services.WorkflowError, match="someone other than you"):
            services.publish_statement(statement=statement, by=publisher, at=at)
    confirm = client.get(
        reverse("admin:statements_statement_workflow", args=[statement.pk, "publish"])
    ).content.decode()
    assert "someone other than you" in confirm and 'value="Publish"' not in confirm
    services.publish_statement(statement=statement, by=colleague)
    statement.refresh_from_db()
    assert statement.status == "published"


def test_the_site_still_cannot_publish_a_draft_when_review_is_off():
    second_person_required(False)
    statement = make_statement(status="draft")
    with pytest.raises(services.WorkflowError):
        services.move_statement_as_site(statement=statement, to="published", source="t")


# --- scheduling in the organizer's zone --------------------------------------------


@pytest.fixture
def manila_publisher(publisher):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="Asia/Manila", language="en"
    )
    with timezone.override(zoneinfo.ZoneInfo("Asia/Manila")):
        yield publisher


def test_schedule_reads_the_time_in_the_organizers_zone_and_shows_it_back(
    client, manila_publisher
):
    statement = make_statement(status="in_review")
    client.force_login(manila_publisher)
    page = client.get(change_url(statement)).content.decode()
    assert "in Asia/Manila" in page
    data = change_form_data(
        statement, _workflow="schedule", schedule_at="2030-07-01T09:30"
    )
    response = client.post(change_url(statement), data, follow=True)
    assert "Scheduled." in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == "scheduled"
    manila = zoneinfo.ZoneInfo("Asia/Manila")
    assert statement.publish_at == datetime(2030, 7, 1, 9, 30, tzinfo=manila)
    page = client.get(change_url(statement)).content.decode()
    assert 'value="2030-07-01T09:30"' in page
    assert "(Asia/Manila)" in page


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2030-03-10T02:30", "does not exist in America/New_York"),
        ("2030-11-03T01:30", "happens twice in America/New_York"),
        ("2020-01-01T10:00", "That time has passed"),
        ("", "Give the date and time to publish"),
        ("next tuesday", "Give a date and time"),
    ],
)
def test_schedule_refuses_times_the_zone_never_shows_or_twice(
    client, publisher, typed, message
):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="America/New_York", language="en"
    )
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        response = client.post(
            change_url(statement),
            change_form_data(
                statement, _workflow="schedule", schedule_at=typed, dateline="Kept"
            ),
        )
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    assert 'value="Kept"' in page
    statement.refresh_from_db()
    assert statement.status == "in_review"
    assert statement.dateline != "Kept"


# --- history ----------------------------------------------------------------------


def test_the_history_link_leads_to_the_statements_audit_entries(client, publisher):
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    response = client.get(
        reverse("admin:statements_statement_history", args=[statement.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == (
        "/admin/ima_site/auditentry/?object_type=statements.statement"
        f"&object_id={statement.pk}"
    )


def test_each_change_of_a_public_statement_records_old_and_new(client, publisher):
    statement = make_statement(
        status="published", title="Old title", translations={"es": "Viejo"}
    )
    client.force_login(publisher)
    data = change_form_data(statement, dateline="Jakarta, Indonesia")
    data["versions-0-title"] = "New title"
    data["versions-1-DELETE"] = "on"
    response = client.post(change_url(statement), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    changes = AuditEntry.objects.get(action="statement.edit_public").details["changes"]
    assert {"field": "Title (en)", "old": "Old title", "new": "New title"} in changes
    assert {
        "field": "Dateline",
        "old": "Kuala Lumpur, Malaysia",
        "new": "Jakarta, Indonesia",
    } in changes
    assert {"field": "Language version (es)", "old": "Viejo [es]", "new": ""} in changes


def test_long_texts_are_cut_in_the_record(client, publisher):
    statement = make_statement(status="published", body="a" * 2000)
    client.force_login(publisher)
    data = change_form_data(statement)
    data["versions-0-body"] = "b" * 2000
    client.post(change_url(statement), data)
    [change] = AuditEntry.objects.get(action="statement.edit_public").details["changes"]
    assert len(change["old"]) == 500 and change["old"].endswith("…")
    assert change["new"].startswith("bbb")


# --- found in review ------------------------------------------------------------------


def confirm_url(statement) -> str:
    return reverse(
        "admin:statements_statement_workflow", args=[statement.pk, "publish"]
    )


def published_while_the_form_loads(monkeypatch, statement) -> None:
    """Another organizer publishes between this request's load and its save."""
    from statements import admin_forms

    clean = admin_forms.StatementForm.clean

    def clean_after_a_colleague_published(form):
        Statement.objects.filter(pk=statement.pk).update(
            status="published", publish_at=timezone.now()
        )
        return clean(form)

    monkeypatch.setattr(
        admin_forms.StatementForm, "clean", clean_after_a_colleague_published
    )


def test_a_save_never_undoes_a_publish_made_while_it_loaded(
    client, publisher, monkeypatch
):
    statement = make_statement(status="draft")
    published_while_the_form_loads(monkeypatch, statement)
    client.force_login(publisher)
    response = client.post(change_url(statement), change_form_data(statement))
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == "published" and statement.publish_at is not None


def test_an_editor_cannot_write_into_what_was_published_while_it_loaded(
    client, editor, monkeypatch
):
    statement = make_statement(status="draft")
    published_while_the_form_loads(monkeypatch, statement)
    client.force_login(editor)
    data = change_form_data(statement, dateline="Written by an editor")
    assert client.post(change_url(statement), data).status_code == 403
    statement.refresh_from_db()
    assert statement.dateline != "Written by an editor"


def test_the_workflow_page_of_a_statement_that_is_not_there_is_not_found(
    client, publisher
):
    client.force_login(publisher)
    for object_id in ("not-a-number", "987654"):
        url = f"/admin/statements/statement/{object_id}/workflow/publish/"
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404


def test_the_note_typed_beside_publish_now_waits_on_the_confirmation_page(
    client, publisher
):
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    note = "Out now <b>thanks</b>"
    data = change_form_data(statement, _workflow="publish", workflow_note=note)
    page = client.post(change_url(statement), data, follow=True).content.decode()
    assert ">Out now &lt;b&gt;thanks&lt;/b&gt;</textarea>" in page
    client.post(confirm_url(statement), {"note": note})
    entry = AuditEntry.objects.get(action="statement.publish")
    assert entry.details["note"] == note
    # Once used, the note does not come back on a later confirmation.
    other = make_statement(slug="other", status="in_review")
    assert "</textarea>" in client.get(confirm_url(other)).content.decode()
    assert note not in client.get(confirm_url(statement)).content.decode()


def test_the_confirmation_says_when_publishing_will_not_open_signing(client, publisher):
    client.force_login(publisher)
    closed = make_statement(
        slug="closed",
        status="in_review",
        accepts_signatures=True,
        signing_closes_at=timezone.now() - timedelta(days=2),
    )
    page = client.get(confirm_url(closed)).content.decode()
    assert "It opens for signing at once." not in page
    assert "signing closed on" in page
    paused = make_statement(
        slug="paused", status="in_review", accepts_signatures=True, signing_paused=True
    )
    page = client.get(confirm_url(paused)).content.decode()
    assert "It opens for signing at once." not in page
    assert "signing is paused" in page


def test_the_slug_check_makes_a_free_address_from_the_title(client, editor):
    make_statement(slug="stop-the-raids")
    client.force_login(editor)
    url = reverse("admin:statements_statement_slug_check")
    answer = client.get(url, {"title": "Stop the raids!"}).json()
    assert answer == {"slug": "stop-the-raids-2", "available": True, "message": ""}
