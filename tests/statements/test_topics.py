"""Topics: Editors add them; one that a public statement shows is Publishers' only."""

import pytest
from django.urls import reverse

from ima_site.models import AuditEntry
from statements.models import Topic
from tests.factories import make_statement

pytestmark = pytest.mark.django_db


def change_url(topic) -> str:
    return reverse("admin:statements_topic_change", args=[topic.pk])


def delete_url(topic) -> str:
    return reverse("admin:statements_topic_delete", args=[topic.pk])


@pytest.fixture
def public_topic(db):
    make_statement(slug="live", status="published", topics=["crackdown"])
    return Topic.objects.get(slug="crackdown")


@pytest.fixture
def draft_topic(db):
    make_statement(slug="draft", status="draft", topics=["labour"])
    return Topic.objects.get(slug="labour")


def test_an_editor_adds_a_topic(client, editor):
    client.force_login(editor)
    response = client.post(
        reverse("admin:statements_topic_add"),
        {"name": "Detention", "slug": "detention"},
    )
    assert response.status_code == 302
    assert Topic.objects.filter(slug="detention").exists()


def test_an_editor_changes_a_topic_no_public_statement_shows(
    client, editor, draft_topic
):
    client.force_login(editor)
    response = client.post(
        change_url(draft_topic), {"name": "Labour rights", "slug": "labour"}
    )
    assert response.status_code == 302
    draft_topic.refresh_from_db()
    assert draft_topic.name == "Labour rights"
    assert not AuditEntry.objects.filter(action="topic.edit_public").exists()


def test_an_editor_cannot_change_a_topic_a_public_statement_shows(
    client, editor, public_topic
):
    client.force_login(editor)
    page = client.get(change_url(public_topic))
    assert page.status_code == 200  # read-only
    assert b'name="name"' not in page.content
    response = client.post(change_url(public_topic), {"name": "Lies", "slug": "lies"})
    assert response.status_code == 403
    public_topic.refresh_from_db()
    assert (public_topic.name, public_topic.slug) == ("Crackdown", "crackdown")
    assert not AuditEntry.objects.filter(action__startswith="topic.").exists()


def test_a_scheduled_statement_locks_its_topics_too(client, editor, publisher):
    from datetime import timedelta

    from django.utils import timezone

    from statements import services

    statement = make_statement(slug="soon", status="in_review", topics=["raids"])
    services.publish_statement(
        statement=statement, by=publisher, at=timezone.now() + timedelta(days=1)
    )
    client.force_login(editor)
    topic = Topic.objects.get(slug="raids")
    response = client.post(change_url(topic), {"name": "Other", "slug": "raids"})
    assert response.status_code == 403


def test_an_editor_cannot_delete_a_topic_a_public_statement_shows(
    client, editor, public_topic
):
    client.force_login(editor)
    assert client.get(delete_url(public_topic)).status_code == 403
    response = client.post(delete_url(public_topic), {"post": "yes"})
    assert response.status_code == 403
    assert Topic.objects.filter(pk=public_topic.pk).exists()


def test_a_publisher_changes_a_public_topic_and_it_is_audited(
    client, publisher, public_topic
):
    client.force_login(publisher)
    response = client.post(
        change_url(public_topic), {"name": "Crackdowns", "slug": "crackdown"}
    )
    assert response.status_code == 302
    public_topic.refresh_from_db()
    assert public_topic.name == "Crackdowns"
    entry = AuditEntry.objects.get(action="topic.edit_public")
    assert entry.actor == publisher
    assert entry.details["changed"] == {"name": ["Crackdown", "Crackdowns"]}
    assert entry.details["statements"] == ["live"]


def test_a_publisher_deletes_a_public_topic_and_it_is_audited(
    client, publisher, public_topic
):
    client.force_login(publisher)
    response = client.post(delete_url(public_topic), {"post": "yes"})
    assert response.status_code == 302
    assert not Topic.objects.filter(pk=public_topic.pk).exists()
    entry = AuditEntry.objects.get(action="topic.delete")
    assert entry.actor == publisher
    assert entry.details == {"slug": "crackdown", "statements": ["live"]}


def test_bulk_deletion_of_topics_is_audited_one_by_one(
    client, publisher, public_topic, draft_topic
):
    client.force_login(publisher)
    response = client.post(
        reverse("admin:statements_topic_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [public_topic.pk, draft_topic.pk],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not Topic.objects.exists()
    # Only the topic a public statement showed is on the record.
    assert list(
        AuditEntry.objects.filter(action="topic.delete").values_list(
            "details__slug", flat=True
        )
    ) == ["crackdown"]


def test_the_service_refuses_an_editor_whatever_the_admin_does(editor, public_topic):
    from django.core.exceptions import PermissionDenied

    from statements import services

    public_topic.name = "Changed behind the admin's back"
    with pytest.raises(PermissionDenied):
        services.change_topic(topic=public_topic, by=editor)
    public_topic.refresh_from_db()
    assert public_topic.name == "Crackdown"
