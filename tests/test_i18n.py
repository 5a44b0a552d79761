import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_statement

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.BASE_DIR) / "locale"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/", "Latest statements"),
        ("/es/", "Últimas declaraciones"),
        ("/fr/", "Dernières déclarations"),
        ("/id/", "Pernyataan terbaru"),
        ("/fil/", "Mga pinakabagong pahayag"),
    ],
)
def test_interface_switches_language_with_the_address(client, prefix, expected):
    make_statement()
    body = client.get(prefix).content.decode()
    assert expected in body


def test_language_switcher_links_to_this_page_in_every_language(client, published):
    body = client.get(f"/statements/{published.slug}/").content.decode()
    for code in ["es", "fr", "id", "fil"]:
        assert f'href="/{code}/statements/{published.slug}/"' in body
    assert 'href="/statements/published-statement/" lang="en"' in body


def entries(po: Path):
    text = po.read_text(encoding="utf-8")
    blocks = text.split("\n\n")
    return [
        b for b in blocks if "msgid" in b and 'msgid ""\nmsgstr ""\n"Project' not in b
    ]


def require_gettext(tool: str) -> None:
    """GNU gettext checks the catalogues; CI installs it and must not skip."""
    if shutil.which(tool):
        return
    message = f"GNU gettext's {tool} is missing: `apt-get install gettext`"
    if os.environ.get("IMA_REQUIRE_GETTEXT"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.parametrize("language", ["es", "fr", "id", "fil"])
def test_translations_are_complete(language):
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    for block in entries(po):
        assert "#, fuzzy" not in block, block
        strings = re.findall(r'msgstr(?:\[\d\])? "(.*)"((?:\n".*")*)', block)
        assert strings and all(first or rest for first, rest in strings), block


@pytest.mark.parametrize("language", ["es", "fr", "id", "fil"])
def test_compiled_catalogues_hold_what_the_po_files_say(language, tmp_path):
    """The .mo the site reads has the same messages as its .po, compiled afresh."""
    require_gettext("msgfmt")
    po = LOCALE / language / "LC_MESSAGES" / "django.po"
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", fresh, po], check=True)
    with fresh.open("rb") as a, po.with_suffix(".mo").open("rb") as b:
        expected, shipped = gettext.GNUTranslations(a), gettext.GNUTranslations(b)
    assert shipped._catalog == expected._catalog, "run `make messages`"


def test_every_string_in_the_code_is_translated(tmp_path):
    """Extract the strings afresh from a copy of the code: none may lack a translation."""
    require_gettext("xgettext")
    base = Path(settings.BASE_DIR)
    for name in [
        "ima_site",
        "statements",
        "signatories",
        "campaigns",
        "templates",
        "locale",
    ]:
        shutil.copytree(
            base / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(base / "manage.py", tmp_path)
    command = [sys.executable, "manage.py", "makemessages", "--no-obsolete"]
    for language in ["es", "fr", "id", "fil"]:
        command += ["--locale", language]
    subprocess.run(
        command, cwd=tmp_path, env=os.environ, check=True, capture_output=True
    )
    for language in ["es", "fr", "id", "fil"]:
        po = tmp_path / "locale" / language / "LC_MESSAGES" / "django.po"
        for block in entries(po):
            assert "#, fuzzy" not in block, (language, block)
            strings = re.findall(r'msgstr(?:\[\d\])? "(.*)"((?:\n".*")*)', block)
            assert all(first or rest for first, rest in strings), (language, block)
