"""Slogans, addressees and the signer's role in each language, falling back to the
original's field by field: on the page, in the API and in the import files."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statements.models import Statement, StatementVersion
from tests.factories import make_statement

pytestmark = pytest.mark.django_db

ENGLISH = {
    "addressees": "To the Government of Malaysia",
    "signed_by_role": "chairperson",
    "slogans": ["Stop the raids!", "Regularize all migrants!"],
}
SPANISH = {
    "addressees": "Al Gobierno de Malasia",
    "signed_by_role": "presidenta",
    "slogans": ["¡Alto a las redadas!", "¡Regularización ya!"],
}


@pytest.fixture
def statement(db):
    """An English original with a Spanish version of its own text, a French one
    with its slogans only, and an Arabic one with its role only."""
    statement = make_statement(
        slug="crackdown",
        title="Stop the crackdown",
        signed_by="Ana Reyes",
        translations={"es": "Alto a la represión", "fr": "Halte", "ar": "أوقفوا"},
        **ENGLISH,
    )
    statement.versions.filter(language="es").update(**SPANISH)
    statement.versions.filter(language="fr").update(
        slogans=["Halte aux rafles !", "Des papiers pour tous !"]
    )
    statement.versions.filter(language="ar").update(signed_by_role="الرئيسة")
    return statement


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def opening_tag(body: str, css_class: str) -> str:
    """The opening tag of the element with this class, attributes and all."""
    match = re.search(rf'<[a-z]+ class="{css_class}"[^>]*>', body)
    assert match, css_class
    return match.group(0)


def test_the_spanish_page_shows_spanish_slogans_addressees_and_role(client, statement):
    body = page(client, "/es/statements/crackdown/")
    assert "<li>¡Alto a las redadas!</li><li>¡Regularización ya!</li>" in body
    assert ">Al Gobierno de Malasia</p>" in body
    assert '<span class="role" lang="es" dir="ltr">presidenta</span>' in body
    for english in ["Stop the raids!", "To the Government of", "chairperson"]:
        assert english not in body, english
    # Text in the version's language takes the version's lang from its article.
    assert "lang=" not in opening_tag(body, "slogans")
    assert "lang=" not in opening_tag(body, "addressees")


def test_the_original_page_keeps_the_original_text(client, statement):
    body = page(client, "/statements/crackdown/")
    assert "<li>Stop the raids!</li>" in body
    assert ">To the Government of Malaysia</p>" in body
    assert '<span class="role">chairperson</span>' in body
    assert "¡Alto" not in body and "presidenta" not in body


def test_a_version_without_its_own_text_falls_back_field_by_field(client, statement):
    body = page(client, "/fr/statements/crackdown/")
    # Its own slogans, in French...
    assert "<li>Halte aux rafles !</li>" in body
    assert "lang=" not in opening_tag(body, "slogans")
    assert "Stop the raids!" not in body
    # ...and the original's addressees and role, marked as English.
    assert (
        '<p class="addressees" lang="en" dir="ltr">To the Government of Malaysia</p>'
        in body
    )
    assert '<p class="signed-by" lang="en" dir="ltr">' in body
    assert '<span class="role">chairperson</span>' in body


def test_a_translated_role_in_a_right_to_left_version_is_marked_so(client, statement):
    body = page(client, "/statements/crackdown/?lang=ar")
    assert '<span class="role" lang="ar" dir="rtl">الرئيسة</span>' in body
    # The rest falls back to the English original, marked left to right.
    assert '<section class="slogans" aria-label="Our demands" lang="en" dir="ltr">' in (
        body
    )
    assert '<p class="addressees" lang="en" dir="ltr">' in body


def test_an_attackers_markup_in_a_translation_is_shown_as_text(client, statement):
    statement.versions.filter(language="es").update(
        slogans=["<script>alert(1)</script>", '"><img src=x onerror=alert(2)>'],
        addressees="</p><script>alert(3)</script>",
        signed_by_role="<b onmouseover=alert(4)>jefa</b>",
    )
    body = page(client, "/es/statements/crackdown/")
    assert "<li>&lt;script&gt;alert(1)&lt;/script&gt;</li>" in body
    assert "<li>&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</li>" in body
    assert "&lt;/p&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in body
    assert "&lt;b onmouseover=alert(4)&gt;jefa&lt;/b&gt;" in body
    for raw in ["<script>alert", "<img src=x", "<b onmouseover"]:
        assert raw not in body, raw


def test_a_statement_without_slogans_or_addressees_shows_no_empty_sections(client):
    make_statement(slug="plain", translations={"es": "Sencillo"})
    body = page(client, "/es/statements/plain/")
    assert 'class="slogans"' not in body
    assert 'class="addressees"' not in body


# --- API ------------------------------------------------------------------------


def test_the_api_keeps_the_originals_fields_and_gives_each_version_its_own(
    client, statement
):
    data = client.get("/api/v1/statements/crackdown/").json()
    # The statement's fields stay the original's, as before.
    assert {name: data[name] for name in ENGLISH} == ENGLISH
    versions = {v["language"]: v for v in data["versions"]}
    assert {name: versions["es"][name] for name in SPANISH} == SPANISH
    assert versions["es"]["from_original"] == []
    assert versions["en"]["slogans"] == ENGLISH["slogans"]
    assert versions["en"]["from_original"] == []
    # French: its own slogans; the original's addressees and role, said so.
    assert versions["fr"]["slogans"] == [
        "Halte aux rafles !",
        "Des papiers pour tous !",
    ]
    assert versions["fr"]["addressees"] == ENGLISH["addressees"]
    assert versions["fr"]["signed_by_role"] == "chairperson"
    assert versions["fr"]["from_original"] == ["addressees", "signed_by_role"]
    assert versions["ar"]["from_original"] == ["slogans", "addressees"]


def test_the_api_reads_every_versions_text_without_a_query_per_version(client):
    def queries_for(slug: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/statements/{slug}/").status_code == 200
        return len(queries)

    make_statement(slug="one", **ENGLISH)
    make_statement(
        slug="four", translations={"es": "a", "fr": "b", "ar": "c"}, **ENGLISH
    )
    assert queries_for("four") == queries_for("one")


def test_a_drafts_version_text_is_not_in_the_api_for_the_public(client):
    make_statement(slug="secret", status="draft", translations={"es": "Secreto"})
    StatementVersion.objects.filter(language="es").update(slogans=["¡Mañana!"])
    assert client.get("/api/v1/statements/secret/").status_code == 404
    assert "¡Mañana!" not in client.get("/api/v1/statements/").content.decode()


# --- import ---------------------------------------------------------------------

ORIGINAL = """---
title: Stop the crackdown
language: en
signed_by: Ana Reyes
signed_by_role: chairperson
addressees: To the Government of Malaysia
slogans: ["Stop the raids!", "Regularize all migrants!"]
---
We condemn the raids.
"""


def translation(front_matter: str) -> str:
    return (
        "---\ntitle: Alto a la represión\nlanguage: es\n"
        f"translation_of: stop-the-crackdown\n{front_matter}---\nCondenamos.\n"
    )


def run_import(*paths) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "import_statements", *map(str, paths), "--no-progress", stdout=out, stderr=err
    )
    return out.getvalue(), err.getvalue()


def spanish() -> StatementVersion:
    return StatementVersion.objects.get(
        statement__slug="stop-the-crackdown", language="es"
    )


def test_a_translation_file_carries_its_slogans_addressees_and_role(tmp_path):
    (tmp_path / "en.md").write_text(ORIGINAL)
    (tmp_path / "es.md").write_text(
        translation(
            "signed_by_role: presidenta\naddressees: Al Gobierno de Malasia\n"
            'slogans: ["¡Alto a las redadas!", "¡Regularización ya!"]\n'
        )
    )
    out, _ = run_import(tmp_path)
    assert "2 created, 0 updated, 0 failed" in out
    version = spanish()
    assert version.slogans == SPANISH["slogans"]
    assert version.addressees == SPANISH["addressees"]
    assert version.signed_by_role == SPANISH["signed_by_role"]
    # The statement's own fields stay the original's.
    statement = Statement.objects.get(slug="stop-the-crackdown")
    assert statement.slogans == ENGLISH["slogans"]
    assert statement.signed_by_role == "chairperson"


def test_a_translation_file_without_them_or_with_the_originals_falls_back(tmp_path):
    (tmp_path / "en.md").write_text(ORIGINAL)
    # A copy of the original's front matter with only the slogans translated.
    (tmp_path / "es.md").write_text(
        translation(
            "signed_by_role: chairperson\naddressees: To the Government of Malaysia\n"
            'slogans: ["¡Alto a las redadas!"]\n'
        )
    )
    run_import(tmp_path)
    version = spanish()
    assert version.slogans == ["¡Alto a las redadas!"]
    assert (version.addressees, version.signed_by_role) == ("", "")
    assert version.shown_addressees() == "To the Government of Malaysia"
    # Re-imported without them, the version falls back again.
    (tmp_path / "es.md").write_text(translation(""))
    out, _ = run_import(tmp_path)
    assert "0 created, 2 updated, 0 failed" in out
    version = spanish()
    assert version.slogans == []
    assert version.shown_slogans() == ENGLISH["slogans"]


@pytest.mark.parametrize(
    ("front_matter", "message"),
    [
        ("slogans: [{stop: raids}]\n", "slogans[0]: must be text of 1 to 300"),
        ('slogans: ["¡Alto!", ""]\n', "slogans[1]: must be text of 1 to 300"),
        (f"slogans: [{'a' * 301}]\n", "slogans[0]: must be text of 1 to 300"),
        ("slogans: {stop: raids}\n", "slogans: must be a list"),
        (f"addressees: {'a' * 501}\n", "addressees: is longer than 500 characters"),
        ("addressees: [a, b]\n", "addressees: must be text"),
        (f"signed_by_role: {'a' * 201}\n", "signed_by_role: is longer than 200"),
        ('signed_by_role: "jefa\\x07"\n', "signed_by_role: contains control"),
    ],
)
def test_bad_version_text_is_refused_naming_the_file_and_field(
    tmp_path, front_matter, message
):
    (tmp_path / "en.md").write_text(ORIGINAL)
    (tmp_path / "es.md").write_text(translation('slogans: ["¡Alto!"]\n'))
    run_import(tmp_path)
    bad = tmp_path / "es.md"
    bad.write_text(translation(front_matter))
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 failed"):
        call_command("import_statements", str(bad), "--no-progress", stderr=err)
    assert f"{bad}: {message}" in err.getvalue()
    # Nothing of the bad file was written: the version keeps what it had.
    assert spanish().slogans == ["¡Alto!"]
    assert spanish().body == "Condenamos."


def test_the_demo_translations_carry_their_own_text(client):
    demo = Path(__file__).resolve().parents[2] / "demo" / "statements"
    out, _ = run_import(demo)
    assert " 0 failed" in out
    body = page(
        client, "/es/statements/stop-the-crackdown-on-undocumented-workers-in-malaysia/"
    )
    assert "Al Gobierno de Malasia" in body
    assert "¡Alto a las redadas, alto a las deportaciones!" in body
    filipino = StatementVersion.objects.get(
        statement__slug="stop-the-crackdown-on-undocumented-workers-in-malaysia",
        language="fil",
    )
    # The Filipino version keeps the English role: it falls back.
    assert filipino.signed_by_role == ""
    assert filipino.shown_signed_by_role() == "chairperson"
    assert filipino.shown_addressees() == "Sa Pamahalaan ng Malaysia"
