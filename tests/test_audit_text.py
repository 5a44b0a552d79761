"""The audit log in words."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from ima_site import audit_text, tokens
from ima_site.models import AuditEntry, record_audit_entry
from statements import services
from statements.models import Topic
from tests.factories import make_statement, make_user

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture
def ana(db):
    user = make_user("ana", groups=["Publishers"])
    user.first_name = "Ana"
    user.save()
    return user


def test_a_publication_reads_as_a_sentence_with_a_link(client, ana):
    statement = make_statement(
        slug="crackdown", status="in_review", title="Stop the crackdown"
    )
    services.publish_statement(statement=statement, by=ana)
    client.force_login(ana)

    html = client.get("/admin/ima_site/auditentry/").content.decode()

    link = f'<a href="/admin/statements/statement/{statement.pk}/change/">'
    assert f"Ana published “{link}Stop the crackdown</a>”" in html


def test_the_sites_own_moves_name_the_site_and_their_source(publisher):
    statement = make_statement(slug="due", status="in_review", title="Due now")
    services.move_statement_as_site(statement=statement, to="published", source="beat")
    entry = AuditEntry.objects.get(action="statement.publish")

    assert audit_text.sentence(entry) == "The site published “Due now” (beat)"


def test_every_action_code_in_use_has_its_own_sentence():
    codes = [
        "statement.submit", "statement.publish", "statement.schedule",
        "statement.return_to_draft", "statement.withdraw", "statement.archive",
        "statement.edit_public", "statement.import", "statement.import_translation",
        "topic.edit_public", "topic.delete", "signatures.hold", "signatures.release",
        "signatures.reject", "signatures.erase", "signatures.link_registry",
        "signatures.export", "signatures.find_by_email", "signatures.offline_count",
        "signatures.paper_import", "signing.pause_all", "signing.resume_all",
        "api_token.create", "api_token.revoke", "two_factor.set_up",
        "two_factor.recovery_code_used", "two_factor.refused",
        "two_factor.recovery_codes_renewed", "login.failed", "login.lock_out",
        "login.refused", "login.unlock", "site_settings.change",
    ]  # fmt: skip
    for code in codes:
        entry = AuditEntry(action=code, object_repr="X", details={"count": 2})
        text = audit_text.sentence(entry)
        assert code not in text, code
        assert "{" not in text, code


def test_an_unknown_code_falls_back_to_the_code(editor):
    statement = make_statement(slug="odd")
    entry = record_audit_entry(actor=editor, action="letter.sent", obj=statement)
    assert (
        audit_text.sentence(entry)
        == "editor did letter.sent on “Stop the raids on migrant workers”"
    )


def test_counts_and_times_are_filled_in(editor):
    statement = make_statement(slug="counted", title="Counted")
    entry = record_audit_entry(
        actor=editor,
        action="signatures.hold",
        obj=statement,
        details={"signatures": [4, 5, 6]},
    )
    assert audit_text.sentence(entry) == (
        "editor held 3 signature(s) of “Counted” for review"
    )


def test_a_scheduled_alert_reads_as_scheduled_not_sent(editor):
    statement = make_statement(slug="stand-in", title="Stand-in")
    details = {"recipients": 3, "at": None, "local_date": None, "local_time": None}
    sent = record_audit_entry(
        actor=editor, action="alert.send", obj=statement, details=details
    )
    scheduled = record_audit_entry(
        actor=editor,
        action="alert.send",
        obj=statement,
        details={**details, "local_date": "2027-01-18", "local_time": "09:00:00"},
    )
    assert "sent the alert" in audit_text.sentence(sent)
    assert "scheduled the alert" in audit_text.sentence(scheduled)


def test_changes_show_old_and_new_in_both_shapes(client, publisher):
    statement = make_statement(slug="changed", title="Changed")
    new_shape = record_audit_entry(
        actor=publisher,
        action="statement.edit_public",
        obj=statement,
        details={"changes": [{"field": "title", "old": "Before", "new": "After"}]},
    )
    topic = Topic.objects.create(slug="raids", name="Raids")
    topic_shape = record_audit_entry(
        actor=publisher,
        action="topic.edit_public",
        obj=topic,
        details={"changed": {"name": ["Raids", "Crackdowns"]}},
    )
    names_only = record_audit_entry(
        actor=publisher,
        action="statement.edit_public",
        obj=statement,
        details={"changed": ["dateline", "version: title"]},
    )

    assert audit_text.changes(new_shape) == [("title", "Before", "After")]
    # Fields recorded by their code read as their names in the admin.
    assert audit_text.changes(topic_shape) == [("Name", "Raids", "Crackdowns")]
    assert audit_text.changes(names_only) == [
        ("Dateline", None, None),
        ("version: title", None, None),
    ]
    client.force_login(publisher)
    html = client.get(f"/admin/ima_site/auditentry/{new_shape.pk}/change/").content
    assert "title: Before → After" in html.decode()


def test_long_values_are_cut_in_the_list_but_whole_on_the_entry(client, publisher):
    statement = make_statement(slug="long")
    long_text = "word " * 100
    entry = record_audit_entry(
        actor=publisher,
        action="statement.edit_public",
        obj=statement,
        details={"changes": [{"field": "body", "old": long_text, "new": "short"}]},
    )
    client.force_login(publisher)

    listed = client.get("/admin/ima_site/auditentry/").content.decode()
    whole = client.get(f"/admin/ima_site/auditentry/{entry.pk}/change/").content

    assert long_text.strip() not in listed
    assert long_text.strip() in whole.decode()


def test_hostile_names_and_values_are_escaped(client, publisher):
    statement = make_statement(slug="hostile", title=HOSTILE)
    entry = record_audit_entry(
        actor=publisher,
        action="statement.edit_public",
        obj=statement,
        details={
            "changes": [{"field": HOSTILE, "old": HOSTILE, "new": HOSTILE}],
            "note": HOSTILE,
        },
    )
    record_audit_entry(actor=publisher, action=HOSTILE, obj=statement)
    client.force_login(publisher)

    for url in (
        "/admin/ima_site/auditentry/",
        f"/admin/ima_site/auditentry/{entry.pk}/change/",
        f"/admin/ima_site/auditentry/?object_type=statements.statement&object_id={statement.pk}",
    ):
        html = client.get(url).content.decode()
        assert "<script>alert" not in html, url
        assert escape(HOSTILE) in html, url


def test_objects_that_are_gone_are_named_without_a_link(client, publisher):
    statement = make_statement(slug="gone", status="draft", title="Deleted one")
    entry = record_audit_entry(
        actor=publisher, action="statement.submit", obj=statement
    )
    statement.delete()
    client.force_login(publisher)

    html = client.get("/admin/ima_site/auditentry/").content.decode()

    assert "sent “Deleted one” for review" in html
    assert f"/admin/statements/statement/{entry.object_id}/change/" not in html


def test_no_link_to_what_the_reader_may_not_open(client, editor):
    record_audit_entry(actor=editor, action="two_factor.set_up", obj=editor)
    client.force_login(editor)
    html = client.get("/admin/ima_site/auditentry/").content.decode()
    assert "set up two-factor login" in html
    assert "/admin/auth/user/" not in html


def test_a_statements_history_is_the_log_filtered_to_it(client, publisher):
    statement = make_statement(slug="history", status="draft", title="Its history")
    other = make_statement(slug="other", status="draft", title="Another one")
    services.submit_for_review(statement=statement, by=publisher)
    services.publish_statement(statement=statement, by=publisher)
    services.submit_for_review(statement=other, by=publisher)
    client.force_login(publisher)

    page = client.get(audit_text.history_url(statement))

    assert page.status_code == 200
    html = page.content.decode()
    assert "History of “Its history”" in html
    assert "published “" in html
    assert "Another one" not in html
    assert f'href="/admin/statements/statement/{statement.pk}/change/"' in html


def test_the_action_codes_stay_filterable(client, publisher):
    statement = make_statement(slug="filtered", status="draft")
    services.submit_for_review(statement=statement, by=publisher)
    record_audit_entry(actor=publisher, action="statement.archive", obj=statement)
    client.force_login(publisher)

    html = client.get(
        "/admin/ima_site/auditentry/?action=statement.submit"
    ).content.decode()

    assert "for review" in html
    assert "archived" not in html


def test_someone_without_a_role_cannot_read_the_log(client):
    client.force_login(make_user("nobody", staff=True))
    assert client.get("/admin/ima_site/auditentry/").status_code == 403


def test_no_link_to_another_organizers_api_token(client, editor, publisher):
    theirs, _value = tokens.create_api_token(user=publisher, name="Partner form")
    mine, _value = tokens.create_api_token(user=editor, name="My script")
    client.force_login(editor)

    html = client.get("/admin/ima_site/auditentry/").content.decode()

    assert "made the API token “Partner form" in html
    assert f"/admin/ima_site/apitoken/{theirs.pk}/change/" not in html
    assert f"/admin/ima_site/apitoken/{mine.pk}/change/" in html


def test_the_log_costs_the_same_queries_for_many_entries(client, publisher):
    def build(start: int, count: int) -> None:
        for number in range(start, start + count):
            statement = make_statement(
                slug=f"s{number}", status="draft", title=f"Entry {number}"
            )
            services.submit_for_review(statement=statement, by=publisher)
            tokens.create_api_token(user=publisher, name=f"Token {number}")
            record_audit_entry(
                actor=publisher, action="statement.archive", obj=statement
            )

    client.force_login(publisher)
    build(0, 1)
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/ima_site/auditentry/").status_code == 200
    build(1, 20)
    with CaptureQueriesContext(connection) as many:
        assert client.get("/admin/ima_site/auditentry/").status_code == 200

    assert len(many) == len(few)
