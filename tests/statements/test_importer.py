import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from ima_site.models import AuditEntry
from statements.models import Link, MediaContact, Statement, StatementVersion

pytestmark = pytest.mark.django_db

GOOD = """---
title: Stop the crackdown
subtitle: Free the detained workers
kind: joint_statement
language: en
issued_on: 2026-07-10
dateline: Bangkok, Thailand
signed_by: Ana Reyes
signed_by_role: chairperson
addressees: To the Government of Malaysia
countries: [MY, ph]
topics: [crackdown, labour]
slogans: ["Stop the raids!", "Regularize all migrants!"]
links: [{title: Report, url: "https://example.org/report", source: IMA}]
contacts:
  - {name: Lena, role: spokesperson, phone: "+66 555 0101", email: lena@example.org, team: Media}
  - {name: Joel, team: Legal support}
status: published
accepts_signatures: true
signature_goal: 1000
---
We condemn the raids.

- first
- second
"""

TRANSLATION = """---
title: Alto a la represión
language: es
translation_of: stop-the-crackdown
---
Condenamos las redadas.
"""


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def run_import(*paths) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_statements", *map(str, paths), "--no-progress", stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def test_imports_a_statement_with_everything_it_carries(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", TRANSLATION)
    out, _ = run_import(tmp_path)
    assert "2 created, 0 updated, 0 failed" in out
    statement = Statement.objects.get(slug="stop-the-crackdown")
    assert statement.kind == "joint_statement"
    assert statement.status == "published"
    assert statement.countries == ["MY", "PH"]
    assert sorted(statement.topics.values_list("slug", flat=True)) == [
        "crackdown",
        "labour",
    ]
    assert statement.slogans == ["Stop the raids!", "Regularize all migrants!"]
    assert statement.signature_goal == 1000 and statement.accepts_signatures
    assert statement.original_version().title == "Stop the crackdown"
    assert statement.version_for("es").body == "Condenamos las redadas."
    assert list(statement.contacts.values_list("team", flat=True)) == [
        "Media",
        "Legal support",
    ]
    assert statement.links.get().url == "https://example.org/report"
    assert AuditEntry.objects.filter(action="statement.publish").count() == 1


def test_importing_a_published_statement_goes_through_the_workflow_as_the_site(
    tmp_path,
):
    write(tmp_path, "a.md", GOOD)
    run_import(tmp_path)
    statement = Statement.objects.get()
    entries = AuditEntry.objects.filter(object_id=str(statement.pk)).order_by("id")
    assert [
        (e.action, e.details.get("from"), e.details.get("to")) for e in entries
    ] == [
        ("statement.submit", "draft", "in_review"),
        ("statement.publish", "in_review", "published"),
        ("statement.import", None, "published"),
    ]
    for entry in entries:
        assert entry.actor is None
    publish = entries.get(action="statement.publish")
    assert publish.details["source"] == "import"
    assert publish.details["file"] == "a.md"
    assert statement.publish_at is not None


def test_imports_the_signing_settings_with_naive_times_in_the_time_zone(
    tmp_path, settings
):
    from datetime import UTC, datetime

    settings.TIME_ZONE = "Asia/Kuala_Lumpur"
    settings_block = (
        "signers: organizations\n"
        "signing_closes_at: 2026-09-30 18:00\n"
        "signing_paused: true\n"
        "signatories_shown: organizations\n"
    )
    write(
        tmp_path,
        "a.md",
        GOOD.replace(
            "signature_goal: 1000\n", "signature_goal: 1000\n" + settings_block
        ),
    )
    write(
        tmp_path,
        "b.md",
        "---\ntitle: Other\nsigning_closes_at: 2026-09-30T18:00:00+02:00\n"
        "signatories_shown: count\nsigners: people\n---\nBody\n",
    )
    run_import(tmp_path)
    statement = Statement.objects.get(slug="stop-the-crackdown")
    assert statement.signers == "organizations"
    assert statement.signatories_shown == "organizations"
    assert statement.signing_paused
    # 18:00 in Kuala Lumpur (UTC+8) is 10:00 UTC.
    assert statement.signing_closes_at == datetime(2026, 9, 30, 10, tzinfo=UTC)
    other = Statement.objects.get(slug="other")
    assert other.signing_closes_at == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert (other.signers, other.signatories_shown) == ("people", "count")
    assert not other.signing_paused


def test_a_statement_without_signing_settings_gets_the_defaults(tmp_path):
    write(tmp_path, "a.md", GOOD)
    run_import(tmp_path)
    statement = Statement.objects.get()
    assert (statement.signers, statement.signatories_shown) == ("both", "list")
    assert statement.signing_closes_at is None and not statement.signing_paused


def test_a_reimport_never_lifts_a_pause_set_in_the_admin(tmp_path):
    write(tmp_path, "a.md", GOOD)
    run_import(tmp_path)
    Statement.objects.update(signing_paused=True)
    run_import(tmp_path)
    assert Statement.objects.get().signing_paused


def test_reimport_updates_by_slug_and_never_duplicates(tmp_path):
    path = write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", TRANSLATION)
    run_import(tmp_path)
    write(
        tmp_path,
        "a.md",
        GOOD.replace("We condemn the raids.", "We condemn them again."),
    )
    out, _ = run_import(tmp_path)
    assert "0 created, 2 updated, 0 failed" in out
    assert Statement.objects.count() == 1
    assert StatementVersion.objects.count() == 2
    assert Link.objects.count() == 1 and MediaContact.objects.count() == 2
    assert Statement.objects.get().original_version().body.startswith("We condemn them")
    assert path.exists()


def test_reimport_does_not_undo_what_organizers_did(tmp_path, publisher):
    from statements.services import withdraw_statement

    write(tmp_path, "a.md", GOOD)
    run_import(tmp_path)
    withdraw_statement(statement=Statement.objects.get(), by=publisher)
    run_import(tmp_path)
    assert Statement.objects.get().status == "withdrawn"


def test_slug_is_made_from_the_title_and_status_defaults_to_draft(tmp_path):
    write(
        tmp_path, "x.md", "---\ntitle: Solidarity with Ñuble farmworkers!\n---\nBody\n"
    )
    run_import(tmp_path)
    statement = Statement.objects.get()
    assert statement.slug == "solidarity-with-nuble-farmworkers"
    assert statement.status == "draft"
    assert statement.original_version().language == "en"


BAD_FILES = {
    "broken-yaml.md": ("---\ntitle: [unclosed\n---\nbody", "front matter: broken YAML"),
    "no-front-matter.md": ("Just text", "front matter: the file must start"),
    "unknown-kind.md": ("---\ntitle: T\nkind: manifesto\n---\n", "kind: 'manifesto'"),
    "bad-country.md": ("---\ntitle: T\ncountries: [MY, XX]\n---\n", "countries: 'XX'"),
    "bad-date.md": ("---\ntitle: T\nissued_on: 2026-13-45\n---\n", "issued_on:"),
    "no-title.md": ("---\nkind: statement\n---\nbody", "title: is required"),
    "bad-language.md": ("---\ntitle: T\nlanguage: xx\n---\n", "language: 'xx'"),
    "bad-link.md": (
        "---\ntitle: T\nlinks: [{title: a, url: 'javascript:alert(1)'}]\n---\n",
        "links[0].url",
    ),
    "bad-goal.md": ("---\ntitle: T\nsignature_goal: -4\n---\n", "signature_goal"),
    "status-list.md": ("---\ntitle: T\nstatus: [published]\n---\n", "status: ["),
    "upper-scheme.md": (
        "---\ntitle: T\nlinks: [{title: a, url: 'HTTPS://example.org'}]\n---\n",
        "links[0].url",
    ),
    "no-slug.md": ("---\ntitle: ¡¿!\n---\n", "slug: '' is not a slug"),
    "typo.md": ("---\ntitle: T\ncountry: [MY]\n---\n", "country: unknown field"),
    "orphan.md": (
        "---\ntitle: T\nlanguage: es\ntranslation_of: nowhere\n---\n",
        "translation_of: there is no statement",
    ),
    "bad-signers.md": ("---\ntitle: T\nsigners: robots\n---\n", "signers: 'robots'"),
    "bad-shown.md": (
        "---\ntitle: T\nsignatories_shown: [list]\n---\n",
        "signatories_shown: ['list'] is not one of list, organizations, count",
    ),
    "bad-paused.md": (
        "---\ntitle: T\nsigning_paused: yes please\n---\n",
        "signing_paused: must be true or false",
    ),
    "closes-no-time.md": (
        "---\ntitle: T\nsigning_closes_at: 2026-09-30\n---\n",
        "signing_closes_at: '2026-09-30' has no time of day",
    ),
    # YAML 1.1 reads an unquoted yes as true: refused, not stored as "True".
    "yes-title.md": ("---\ntitle: yes\n---\n", "title: must be text"),
    "closes-nonsense.md": (
        "---\ntitle: T\nsigning_closes_at: next friday\n---\n",
        "signing_closes_at: 'next friday' is not a date and time",
    ),
}


def test_each_bad_file_gets_one_line_naming_file_and_field(tmp_path):
    write(tmp_path, "good.md", GOOD)
    for name, (text, _) in BAD_FILES.items():
        write(tmp_path, name, text)
    write(tmp_path, "latin1.md", "---\ntitle: Café\n---\n".encode("latin-1"))
    with pytest.raises(CommandError, match=r"1 created, 0 updated, 21 failed"):
        run_import(tmp_path)
    # Only the good file left anything in the database.
    assert list(Statement.objects.values_list("slug", flat=True)) == [
        "stop-the-crackdown"
    ]
    assert StatementVersion.objects.count() == 1


def test_bad_file_messages(tmp_path, capsys):
    for name, (text, _expected) in BAD_FILES.items():
        write(tmp_path, name, text)
    write(tmp_path, "latin1.md", "---\ntitle: Café\n---\n".encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_statements", str(tmp_path), "--no-progress", stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == len(BAD_FILES) + 1
    for name, (_, expected) in BAD_FILES.items():
        [line] = [line for line in lines if line.startswith(str(tmp_path / name) + ":")]
        assert expected in line, line
    assert "latin1.md: file: is not UTF-8" in err.getvalue()


def test_a_file_failing_in_the_database_leaves_nothing_half_written(
    tmp_path, monkeypatch
):
    from django.db import DatabaseError

    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "other.md", GOOD.replace("Stop the crackdown", "Other one"))

    # The database refuses the contacts of one file, after its statement, topics
    # and links were written: all of that file must go, the other file must stay.
    real_bulk_create = MediaContact.objects.bulk_create

    def refuse_for_the_first(objs, *args, **kwargs):
        objs = list(objs)
        if objs and objs[0].statement.slug == "stop-the-crackdown":
            raise DatabaseError("disk full")
        return real_bulk_create(objs, *args, **kwargs)

    monkeypatch.setattr(MediaContact.objects, "bulk_create", refuse_for_the_first)
    with pytest.raises(CommandError, match="1 created, 0 updated, 1 failed"):
        run_import(tmp_path)
    assert list(Statement.objects.values_list("slug", flat=True)) == ["other-one"]
    assert Link.objects.filter(statement__slug="stop-the-crackdown").count() == 0
    assert AuditEntry.objects.filter(object_repr="Stop the crackdown").count() == 0


def test_a_file_failing_at_its_last_write_leaves_no_audit_entry(tmp_path, monkeypatch):
    """The import entry is the file's last write, after its publishing entries: a
    failure there must take the statement and every entry about it back."""
    from django.db import DatabaseError

    from statements import importer

    write(tmp_path, "a.md", GOOD)
    real_record = importer.record_audit_entry
    written = []

    def refuse_the_import_entry(**kwargs):
        if kwargs["action"] == "statement.import":
            written.extend(
                AuditEntry.objects.values_list("action", flat=True).order_by("id")
            )
            raise DatabaseError("disk full")
        return real_record(**kwargs)

    monkeypatch.setattr(importer, "record_audit_entry", refuse_the_import_entry)
    with pytest.raises(CommandError, match="0 created, 0 updated, 1 failed"):
        run_import(tmp_path)
    # The publishing entries were written before the failure, then rolled back.
    assert "statement.publish" in written
    assert not Statement.objects.exists()
    assert not AuditEntry.objects.exists()


def test_two_files_for_the_same_statement_are_reported(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(tmp_path, "b.md", GOOD.replace("We condemn", "Copy:"))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 created, 0 updated, 1 failed"):
        call_command("import_statements", str(tmp_path), "--no-progress", stderr=err)
    assert "b.md: slug: the same version is also in" in err.getvalue()


def test_a_translation_needs_no_slug_of_its_own(tmp_path):
    write(tmp_path, "a.md", GOOD)
    write(
        tmp_path,
        "ar.md",
        "---\ntitle: أوقفوا الحملة\nlanguage: ar\ntranslation_of: stop-the-crackdown\n"
        "---\nنص\n",
    )
    out, _ = run_import(tmp_path)
    assert "2 created" in out
    assert Statement.objects.get().version_for("ar").title == "أوقفوا الحملة"


def test_import_of_a_missing_path_is_an_error(tmp_path):
    with pytest.raises(CommandError):
        run_import(tmp_path / "missing-folder")


def test_demo_content_imports_cleanly(tmp_path):
    out = io.StringIO()
    password_file = str(tmp_path / "password")
    call_command("load_demo", password_file=password_file, stdout=out)
    call_command("load_demo", password_file=password_file, stdout=out)
    assert "0 new" in out.getvalue().splitlines()[-2]
    statuses = set(Statement.objects.values_list("status", flat=True))
    assert {"published", "scheduled", "draft"} <= statuses
    languages = set(StatementVersion.objects.values_list("language", flat=True))
    assert {"en", "es", "fr", "id", "fil", "ar"} <= languages
    assert Statement.objects.filter(status="scheduled").count() == 1
    # The demo's scheduled statement took the workflow's path, with the site as actor.
    scheduled = Statement.objects.get(status="scheduled")
    entries = AuditEntry.objects.filter(
        object_id=str(scheduled.pk), details__source="demo"
    ).order_by("id")
    assert [(e.action, e.actor) for e in entries] == [
        ("statement.submit", None),
        ("statement.schedule", None),
    ]
    letter = Statement.objects.get(slug="end-kafala-protect-domestic-workers-in-kuwait")
    assert letter.signers == "organizations" and letter.signing_closes_at
