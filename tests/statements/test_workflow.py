from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from ima_site.models import AuditEntry, SiteConfiguration
from statements import services
from statements.models import Statement
from statements.tasks import publish_due_statements
from tests.factories import make_statement

pytestmark = pytest.mark.django_db


def test_editor_sends_a_draft_for_review_but_cannot_publish_it(editor):
    statement = make_statement(status="draft")
    services.submit_for_review(statement=statement, by=editor)
    statement.refresh_from_db()
    assert statement.status == "in_review"
    with pytest.raises(PermissionDenied):
        services.publish_statement(statement=statement, by=editor)
    statement.refresh_from_db()
    assert statement.status == "in_review"
    assert not AuditEntry.objects.filter(action="statement.publish").exists()


def test_publisher_publishes_and_the_audit_log_says_who(publisher):
    statement = make_statement(status="in_review")
    services.publish_statement(statement=statement, by=publisher)
    statement.refresh_from_db()
    assert statement.status == "published"
    assert statement.is_public()
    entry = AuditEntry.objects.get(action="statement.publish")
    assert entry.actor == publisher
    assert entry.object_id == str(statement.pk)
    assert entry.details["from"] == "in_review"


def test_a_draft_cannot_skip_review_when_a_second_person_must_review(publisher):
    SiteConfiguration.objects.update_or_create(
        id=1, defaults={"review_by_second_person": True}
    )
    statement = make_statement(status="draft")
    with pytest.raises(services.WorkflowError, match="send the draft for review"):
        services.publish_statement(statement=statement, by=publisher)
    statement.refresh_from_db()
    assert statement.status == "draft"


def test_scheduled_statement_appears_on_time_and_beat_records_it(publisher, client):
    statement = make_statement(status="in_review")
    at = timezone.now() + timedelta(hours=2)
    services.publish_statement(statement=statement, by=publisher, at=at)
    statement.refresh_from_db()
    assert statement.status == "scheduled"
    assert AuditEntry.objects.filter(action="statement.schedule").count() == 1
    url = statement.get_absolute_url()

    assert client.get(url).status_code == 404
    assert not Statement.objects.public(now=at - timedelta(seconds=1)).exists()
    assert Statement.objects.public(now=at).exists()

    # Beat runs every 30 s; it publishes nothing early…
    assert services.publish_due_statements(now=at - timedelta(seconds=1)) == 0
    # …and flips the statement once its time has come, once.
    assert services.publish_due_statements(now=at + timedelta(seconds=5)) == 1
    assert services.publish_due_statements(now=at + timedelta(seconds=35)) == 0
    statement.refresh_from_db()
    assert statement.status == "published"
    assert statement.publish_at == at
    entry = AuditEntry.objects.get(action="statement.publish")
    assert entry.actor is None
    assert client.get(url).status_code == 200


def test_the_beat_task_publishes_what_is_due(publisher):
    statement = make_statement(status="in_review")
    services.publish_statement(
        statement=statement, by=publisher, at=timezone.now() + timedelta(minutes=1)
    )
    Statement.objects.filter(pk=statement.pk).update(
        publish_at=timezone.now() - timedelta(seconds=1)
    )
    assert publish_due_statements.apply().get() == 1
    statement.refresh_from_db()
    assert statement.status == "published"


def test_withdrawn_statement_answers_gone_and_leaves_every_list(publisher, client):
    statement = make_statement(status="published")
    services.withdraw_statement(statement=statement, by=publisher, reason="Mistake")
    response = client.get(statement.get_absolute_url())
    assert response.status_code == 410
    assert "Stop the raids" not in response.content.decode()
    assert client.get("/api/v1/statements/").json()["count"] == 0
    assert (
        AuditEntry.objects.get(action="statement.withdraw").details["reason"]
        == "Mistake"
    )


def test_archived_statement_stays_readable_but_leaves_the_home_page(publisher, client):
    statement = make_statement(status="published")
    services.archive_statement(statement=statement, by=publisher)
    assert client.get(statement.get_absolute_url()).status_code == 200
    assert "Stop the raids" not in client.get("/").content.decode()
    assert AuditEntry.objects.filter(action="statement.archive").exists()


def test_editor_cannot_withdraw_archive_or_unschedule(editor, publisher):
    scheduled = make_statement(slug="s", status="in_review")
    services.publish_statement(
        statement=scheduled, by=publisher, at=timezone.now() + timedelta(days=1)
    )
    live = make_statement(slug="live", status="published")
    for call in (
        lambda: services.withdraw_statement(statement=live, by=editor),
        lambda: services.archive_statement(statement=live, by=editor),
        lambda: services.return_to_draft(statement=scheduled, by=editor),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_outsider_cannot_even_send_for_review(outsider):
    with pytest.raises(PermissionDenied):
        services.submit_for_review(
            statement=make_statement(status="draft"), by=outsider
        )


def admin_workflow_url(statement, action):
    return reverse("admin:statements_statement_workflow", args=[statement.pk, action])


def test_admin_buttons_publish_for_a_publisher(client, publisher):
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    page = client.get(reverse("admin:statements_statement_change", args=[statement.pk]))
    assert b"Publish now" in page.content
    response = client.post(admin_workflow_url(statement, "publish"))
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == "published"


def test_admin_hides_and_refuses_publishing_to_an_editor(client, editor):
    statement = make_statement(status="in_review")
    client.force_login(editor)
    page = client.get(reverse("admin:statements_statement_change", args=[statement.pk]))
    assert page.status_code == 200
    assert b"Publish now" not in page.content
    client.post(admin_workflow_url(statement, "publish"))
    statement.refresh_from_db()
    assert statement.status == "in_review"


def test_admin_schedule_refuses_a_time_in_the_past(client, publisher):
    statement = make_statement(status="in_review")
    client.force_login(publisher)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        admin_workflow_url(statement, "schedule"), {"publish_at": past}, follow=True
    )
    assert "That time has passed" in response.content.decode()
    statement.refresh_from_db()
    assert statement.status == "in_review"
    future = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(admin_workflow_url(statement, "schedule"), {"publish_at": future})
    statement.refresh_from_db()
    assert statement.status == "scheduled"


def test_admin_workflow_refuses_get_and_anonymous(client, publisher):
    statement = make_statement(status="in_review")
    response = client.post(admin_workflow_url(statement, "publish"))
    assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(publisher)
    assert client.get(admin_workflow_url(statement, "schedule")).status_code == 405
    # A GET of "publish" only asks; publishing is the confirmation page's POST.
    assert client.get(admin_workflow_url(statement, "publish")).status_code == 200
    statement.refresh_from_db()
    assert statement.status == "in_review"


def test_editor_cannot_change_a_published_statement_in_the_admin(client, editor):
    statement = make_statement(status="published", title="Live text")
    client.force_login(editor)
    url = reverse("admin:statements_statement_change", args=[statement.pk])
    page = client.get(url)
    assert page.status_code == 200  # read-only view
    assert b'name="slug"' not in page.content
    assert b"Only publishers may change" in page.content
    response = client.post(url, {"slug": "hijacked", "kind": "statement"})
    assert response.status_code == 403
    statement.refresh_from_db()
    assert statement.slug != "hijacked"


def test_publisher_edits_of_a_public_statement_are_audited(client, publisher):
    statement = make_statement(status="published", title="Live text")
    version = statement.versions.get()
    client.force_login(publisher)
    url = reverse("admin:statements_statement_change", args=[statement.pk])
    data = {
        "slug": statement.slug, "kind": "statement", "issuer": "IMA",
        "issued_on": "2026-07-01", "countries": "MY", "slogans": "",
        "signers": "both", "signatories_shown": "list",
        "versions-TOTAL_FORMS": "1", "versions-INITIAL_FORMS": "1",
        "versions-MIN_NUM_FORMS": "1", "versions-MAX_NUM_FORMS": "1000",
        "versions-0-id": version.pk, "versions-0-statement": statement.pk,
        "versions-0-language": "en", "versions-0-is_original": "on",
        "versions-0-title": "Corrected live text", "versions-0-body": version.body,
        "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
        "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
    }  # fmt: skip
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = AuditEntry.objects.get(action="statement.edit_public")
    assert entry.actor == publisher
    assert {
        "field": "Title (en)",
        "old": "Live text",
        "new": "Corrected live text",
    } in entry.details["changes"]


def test_admin_refuses_a_statement_without_versions(client, publisher):
    client.force_login(publisher)
    response = client.post(
        reverse("admin:statements_statement_add"),
        {
            "slug": "empty", "kind": "statement", "issuer": "IMA",
            "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0",
            "links-TOTAL_FORMS": "0", "links-INITIAL_FORMS": "0",
            "contacts-TOTAL_FORMS": "0", "contacts-INITIAL_FORMS": "0",
        },
    )  # fmt: skip
    assert response.status_code == 200
    assert not Statement.objects.filter(slug="empty").exists()


def test_preview_shows_a_draft_to_organizers_only(client, draft, editor, outsider):
    url = reverse("statements:preview", args=[draft.slug])
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    client.force_login(outsider)
    assert client.get(url).status_code == 403
    client.force_login(editor)
    page = client.get(url)
    assert page.status_code == 200
    assert "Secret draft about Malaysia" in page.content.decode()
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-cache" in page["Cache-Control"] or "max-age=0" in page["Cache-Control"]


def test_a_real_worker_publishes_a_due_statement(celery_worker, publisher):
    import time

    statement = make_statement(status="in_review")
    services.publish_statement(
        statement=statement, by=publisher, at=timezone.now() + timedelta(seconds=1)
    )
    time.sleep(1.2)
    publish_due_statements.apply_async(queue=celery_worker)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        statement.refresh_from_db()
        if statement.status == "published":
            break
        time.sleep(0.2)
    assert statement.status == "published"
    assert (
        AuditEntry.objects.filter(action="statement.publish", actor=None).count() == 1
    )


def test_beat_records_its_publishing_as_the_site(publisher):
    statement = make_statement(status="in_review")
    at = timezone.now() + timedelta(minutes=1)
    services.publish_statement(statement=statement, by=publisher, at=at)
    assert services.publish_due_statements(now=at) == 1
    entry = AuditEntry.objects.get(action="statement.publish")
    assert entry.actor is None
    assert entry.details["source"] == "beat"
    assert (entry.details["from"], entry.details["to"]) == ("scheduled", "published")


def test_beat_publishes_through_the_transition_table(publisher, monkeypatch):
    statement = make_statement(status="in_review")
    at = timezone.now() + timedelta(minutes=1)
    services.publish_statement(statement=statement, by=publisher, at=at)
    # Were scheduled -> published not allowed, beat could not do it either.
    monkeypatch.setitem(
        services.TRANSITIONS, Statement.Status.SCHEDULED, {Statement.Status.DRAFT}
    )
    with pytest.raises(services.WorkflowError):
        services.publish_due_statements(now=at)
    statement.refresh_from_db()
    assert statement.status == "scheduled"
    assert not AuditEntry.objects.filter(action="statement.publish").exists()


@pytest.mark.parametrize(
    ("status", "target"),
    [
        ("draft", "published"),
        ("draft", "scheduled"),
        ("withdrawn", "published"),
        ("published", "in_review"),
    ],
)
def test_the_site_cannot_make_a_move_the_table_forbids(status, target):
    statement = make_statement(status=status)
    before = AuditEntry.objects.count()
    with pytest.raises(services.WorkflowError):
        services.move_statement_as_site(
            statement=statement,
            to=target,
            source="test",
            at=timezone.now() + timedelta(days=1),
        )
    statement.refresh_from_db()
    assert statement.status == status
    assert AuditEntry.objects.count() == before


def test_the_site_moves_a_statement_along_the_table_with_no_actor():
    statement = make_statement(status="draft")
    statement = services.move_statement_as_site(
        statement=statement, to="in_review", source="test"
    )
    statement = services.move_statement_as_site(
        statement=statement, to="published", source="test"
    )
    statement.refresh_from_db()
    assert statement.status == "published" and statement.publish_at is not None
    entries = AuditEntry.objects.order_by("id")
    assert [(e.action, e.actor, e.details["source"]) for e in entries] == [
        ("statement.submit", None, "test"),
        ("statement.publish", None, "test"),
    ]
