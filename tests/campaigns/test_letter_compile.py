"""The compiled sign-on letter, read back from its PDF: signatories as each chose to
be shown and never more of them, the count on the first page, page numbers across
parts, names in Arabic, Bengali and Burmese, stored once; the command."""

from __future__ import annotations

import hashlib
import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from campaigns import letter_compile
from campaigns.letter_compile import compile_letter, write_letter_pdf
from campaigns.models import Letter, LetterCompilation
from ima_site.crypto import encrypt, keyed_hash
from signatories.models import OfflineCount, Signature
from tests.factories import make_statement

pytest.importorskip("weasyprint", reason="WeasyPrint needs Pango from the system")

ARABIC = "محمد عبد الله"
BENGALI = "মোহাম্মদ রহিম"
BURMESE = "အောင်ကျော်"
# Invisible marks the letter puts around names in other scripts.
ISOLATES = str.maketrans("", "", "\u2068\u2069")


def sign(statement, name: str, *, country: str = "PH", **fields) -> Signature:
    """A confirmed signature, with an email as every web signer has."""
    email = f"{name.split()[0].lower()}{Signature.objects.count()}@signers.example.org"
    fields.setdefault("status", Signature.Status.CONFIRMED)
    return Signature.objects.create(
        statement=statement,
        name=name,
        country=country,
        email_hash=keyed_hash("email", email),
        email_encrypted=encrypt(email),
        **fields,
    )


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def statement(db):
    statement = make_statement(
        slug="stop-the-raids-letter",
        kind="sign_on_letter",
        title="Open letter: stop the raids",
        body="We, the undersigned, ask you to **stop the raids** at once.",
        addressees="To the Prime Minister of Malaysia",
        slogans=["Stop the raids!", "Free all detained migrants!"],
        accepts_signatures=True,
    )
    sign(
        statement, "Org Contact Person", kind="organization",
        organization="Migrante International", role="Secretariat",
    )  # fmt: skip
    sign(statement, "Maria Clara Santos", organization="Gabriela", role="Organizer")
    sign(
        statement, "Hadi Hamid Rahman", organization="Secret Union", role="Treasurer",
        display=Signature.Display.INITIALS,
    )  # fmt: skip
    sign(statement, "Quietly Counted", display=Signature.Display.COUNT_ONLY)
    sign(statement, "Not Yet Confirmed", status=Signature.Status.PENDING)
    sign(statement, "Held For Review", is_held=True)
    sign(statement, "Withdrawn Signer", status=Signature.Status.WITHDRAWN)
    Signature.objects.create(
        statement=statement, name="Paper Signer", country="PH",
        status=Signature.Status.CONFIRMED, source=Signature.Source.PAPER,
    )  # fmt: skip
    sign(statement, ARABIC, country="AE")
    sign(statement, BENGALI, country="BD")
    sign(statement, BURMESE, country="MM")
    OfflineCount.objects.create(statement=statement, count=250, note="Rally sheets")
    return statement


@pytest.fixture
def letter(statement):
    return Letter.objects.create(statement=statement)


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text as a reader gets it, whitespace folded."""
    reader = PdfReader(io.BytesIO(data))
    return [
        " ".join(page.extract_text().translate(ISOLATES).split())
        for page in reader.pages
    ]


def embedded_fonts(data: bytes) -> set[str]:
    fonts = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            # "ABCDEF+Noto-Sans-Bengali": a subset's tag, then the font's name.
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
    return fonts


def compiled(letter_or_statement) -> tuple[bytes, letter_compile.CompiledInfo]:
    out = io.BytesIO()
    info = write_letter_pdf(letter_or_statement, out)
    return out.getvalue(), info


def test_signatories_appear_as_they_chose_and_never_more(letter):
    data, info = compiled(letter)
    text = " ".join(pdf_pages(data))
    assert "Migrante International · Secretariat" in text
    assert "Maria Clara Santos, Gabriela · Organizer" in text
    assert "Paper Signer" in text
    # Initials only: neither the name nor the organization and role beside it.
    assert "H.H.R." in text
    for hidden in ("Hadi", "Hamid", "Rahman", "Secret Union", "Treasurer"):
        assert hidden not in text
    # An organization is named by itself, never by the person who signed for it.
    assert "Org Contact Person" not in text
    for unnamed in ("Quietly", "Not Yet Confirmed", "Held For Review", "Withdrawn"):
        assert unnamed not in text
    assert "@" not in text
    assert info.named == 7


def test_the_first_page_carries_the_count_with_paper_and_offline_signatures(letter):
    data, info = compiled(letter)
    first = pdf_pages(data)[0]
    # 8 counted signatures (the paper one too) and 250 gathered offline.
    assert "Signed by 258 organizations and people" in first
    assert "250 signatures gathered offline" in first
    assert info.signatures == 258
    assert "To the Prime Minister of Malaysia" in first
    assert "Open letter: stop the raids" in first
    assert "stop the raids at once" in first
    assert "Free all detained migrants!" in " ".join(pdf_pages(data))


def test_a_country_count_under_five_is_not_shown(letter, statement):
    for number in range(2):
        sign(statement, f"Worker {number}", country="MY")
    data, _info = compiled(letter)
    text = " ".join(pdf_pages(data))
    # The Philippines' 5 are shown; 2 in Malaysia and 1 in three others are not.
    assert "Philippines · 5 signatures" in text
    assert "Malaysia" in text
    assert "2 signatures" not in text
    assert "1 signature" not in text


def test_names_in_arabic_bengali_and_burmese_come_out_in_noto_fonts(letter):
    data, _info = compiled(letter)
    text = " ".join(pdf_pages(data))
    assert ARABIC in text
    assert BURMESE in text
    # Bengali's vowel signs come back from the PDF reordered (the reader's limit,
    # not the letter's): its letters are there, and the Noto font that draws them.
    assert all(letter in text for letter in "মহমদরহ")
    fonts = embedded_fonts(data)
    assert {"Noto-Sans-Arabic", "Noto-Sans-Bengali", "Noto-Sans-Myanmar"} <= fonts


def test_the_letter_is_in_its_original_language_countries_sorted_in_it(db):
    statement = make_statement(
        slug="carta-abierta", kind="sign_on_letter", language="es",
        title="Carta abierta: alto a las redadas", body="Exigimos el fin de las redadas.",
        translations={"en": "Open letter: stop the raids"},
    )  # fmt: skip
    for country in ("EG", "DE", "US", "GB"):
        sign(statement, f"Firmante {country}", country=country)
    text = " ".join(pdf_pages(compiled(statement)[0]))
    assert "Carta abierta: alto a las redadas" in text
    assert "Open letter" not in text
    # By English names or by code the order would differ.
    order = ["Alemania", "Egipto", "Estados Unidos", "Reino Unido"]
    assert sorted(order, key=text.index) == order


def test_a_long_list_is_rendered_in_parts_with_page_numbers_running_on(
    letter, statement, monkeypatch
):
    monkeypatch.setattr(letter_compile, "CHUNK_NAMES", 150)
    monkeypatch.setattr(letter_compile, "PARAGRAPH_NAMES", 40)
    countries = ["PH", "HK", "GB", "MY"]
    Signature.objects.bulk_create(
        Signature(
            statement=statement, name=f"Signer Number{n:04d}", country=countries[n % 4],
            status=Signature.Status.CONFIRMED,
        )
        for n in range(1200)
    )  # fmt: skip
    progress = []
    out = io.BytesIO()
    info = write_letter_pdf(
        letter, out, progress=lambda done, total: progress.append((done, total))
    )
    pages = pdf_pages(out.getvalue())
    assert len(pages) == info.pages
    # 1,207 names in parts of 150: at least nine parts, each its own PDF, each
    # reported when done.
    assert progress[0] == (0, 1207)
    assert len(progress[1:]) >= 9
    assert progress[-1] == (1207, 1207)
    for number, text in enumerate(pages, start=1):
        assert text.endswith(f"Page {number}")
    text = " ".join(pages)
    assert all(f"Signer Number{n:04d}" in text for n in range(1200))
    assert text.count("Philippines (continued)") >= 1


def test_the_letter_prints_from_the_statement_alone(statement):
    data, info = compiled(statement)
    assert data.startswith(b"%PDF")
    assert info.named == 7


def test_the_final_compilation_is_made_once_and_returned_as_it_is(letter, media):
    first = compile_letter(letter=letter)
    sign(letter.statement, "Late Signer")
    again = compile_letter(letter=letter)
    assert again.pk == first.pk
    assert again.pdf.name == first.pdf.name
    assert LetterCompilation.objects.filter(letter=letter, test=False).count() == 1
    with first.pdf.open("rb") as stored:
        data = stored.read()
    assert hashlib.sha256(data).hexdigest() == first.sha256
    assert (first.size, first.pages, first.signatures, first.named) == (
        len(data), len(PdfReader(io.BytesIO(data)).pages), 258, 7
    )  # fmt: skip
    assert "Late Signer" not in " ".join(pdf_pages(data))


def test_a_test_compilation_is_made_afresh_each_time(letter, media):
    final = compile_letter(letter=letter)
    sign(letter.statement, "Late Signer")
    test = compile_letter(letter=letter, test=True)
    assert test.pk != final.pk and test.test
    with test.pdf.open("rb") as stored:
        assert "Late Signer" in " ".join(pdf_pages(stored.read()))
    assert compile_letter(letter=letter, test=True).pk != test.pk


def test_the_letter_fetches_nothing(db):
    """An address in the letter never makes the worker call out."""
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        html = (
            f'<link rel="stylesheet" href="{url}/style.css">'
            f'<p style="background: url({url}/bg.png)">'
            f'<img src="{url}/photo.png" alt=""></p>'
        )
        assert letter_compile.render_pdf(html).startswith(b"%PDF")
    finally:
        server.shutdown()
        server.server_close()
    assert requests == []


def test_the_command_writes_the_letter_and_stores_nothing(statement, tmp_path):
    out = tmp_path / "letter.pdf"
    call_command(
        "compile_letter", statement.slug, out=str(out), no_progress=True,
        stdout=io.StringIO(), stderr=io.StringIO(),
    )  # fmt: skip
    assert "Maria Clara Santos" in " ".join(pdf_pages(out.read_bytes()))
    assert not LetterCompilation.objects.exists()


def test_the_command_refuses_an_unknown_slug_or_a_statement_that_is_no_letter(
    db, tmp_path
):
    out = tmp_path / "letter.pdf"
    with pytest.raises(CommandError, match="no statement"):
        call_command("compile_letter", "no-such-letter", out=str(out))
    make_statement(slug="a-plain-statement")
    with pytest.raises(CommandError, match="not a sign-on letter"):
        call_command("compile_letter", "a-plain-statement", out=str(out))
    assert not out.exists()
