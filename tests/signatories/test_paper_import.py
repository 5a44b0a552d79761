"""Paper signatures: the file read with every problem named, the check page with
repeats and earlier imports, and the confirmation that trusts only the stored file."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from ima_site.models import AuditEntry
from signatories import services
from signatories.admin_sheets import PENDING_KEY, PENDING_SECONDS
from signatories.models import PaperImport, Signature
from signatories.paper import (
    PaperImportError,
    import_paper_signatures,
    read_paper_file,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db

PAPER = "/admin/signatories/signature/paper/"


@pytest.fixture
def organizer(db):
    """A secretariat organizer who records paper signatures."""
    return make_user("paper-organizer", groups=["Publishers"])


def upload(client, statement, text: str | bytes, name="sheet.csv", collected_by="Migrante HK"):  # fmt: skip
    data = text.encode() if isinstance(text, str) else text
    return client.post(
        PAPER,
        {"statement": statement.pk, "collected_by": collected_by,
         "file": SimpleUploadedFile(name, data, content_type="text/csv")},
    )  # fmt: skip


def seen_on(page: str) -> str:
    return re.search(r'name="seen" value="([0-9a-f]{64})"', page).group(1)


def check_page(client, statement, text: str):
    """Upload the file; returns the check page's address and its HTML."""
    response = upload(client, statement, text)
    assert response.status_code == 302, response.content.decode()[:2000]
    url = response["Location"]
    page = client.get(url)
    assert page.status_code == 200
    return url, page.content.decode()


def problems_of(text: str) -> list[str]:
    with pytest.raises(PaperImportError) as raised:
        read_paper_file(data=text.encode())
    return [str(problem) for problem in raised.value.problems]


# --- Reading the file ------------------------------------------------------------


def test_every_problem_of_every_line_is_named_at_once_and_nothing_is_saved(
    client, organizer, open_statement
):
    bad = (
        "name,country,organization,kind\n"
        "Ana Reyes,PH,Migrante,person\n"
        ",Atlantis,,\n"
        "Budi,ID,Visit evil.example,robot\n"
        "Good Line,PH,,\n"
        "Carla,,,\n"
    )
    client.force_login(organizer)
    response = upload(client, open_statement, bad)
    assert response.status_code == 200
    page = response.content.decode()
    assert "The file has 5 problems; nothing was added." in page
    for problem in [
        "Line 3, name: it is empty.",
        "Line 3, country: “Atlantis” is not a country name or code we know",
        "Line 4, organization: organization cannot contain a web address.",
        "Line 4, kind: “robot” is neither person nor organization.",
        "Line 6, country: it is empty.",
    ]:
        assert problem in page
    assert not Signature.objects.filter(source="paper").exists()
    assert not PaperImport.objects.exists()


def test_line_numbers_count_the_lines_of_the_file_not_the_records():
    text = 'name,country,city\n"Ana\nReyes",PH,Manila\n\nBudi,ZZ,\n'
    problems = problems_of(text)
    assert any(p.startswith("Line 2, name:") for p in problems)  # a line break
    assert any(p.startswith("Line 5, country:") for p in problems)


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("PH", "PH"), ("ph", "PH"), ("PHL", "PH"),
        ("Philippines", "PH"),  # English, and French
        ("filipinas", "PH"),  # Spanish, any case
        ("Pilipinas", "PH"),  # Filipino
        ("Filipina", "PH"),  # Indonesian
        ("Malaisie", "MY"), ("Malasia", "MY"),
        ("États-Unis", "US"), ("ETATS UNIS", "US"), ("Estados Unidos", "US"),
        ("Arab Saudi", "SA"), ("Hapon", "JP"), ("Jepang", "JP"),
        ("Corée du Sud", "KR"), ("  hong kong ", "HK"), ("UK", "GB"),
        ("Türkiye", "TR"), ("Turquia", "TR"),
    ],
)  # fmt: skip
def test_countries_are_read_by_code_or_by_name_in_the_sites_languages(typed, code):
    (row,) = read_paper_file(data=f"name,country\nAna,{typed}\n".encode())
    assert row.country == code


def test_unknown_and_ambiguous_country_names_are_named_errors():
    problems = problems_of("name,country\nAna,Korea\nBudi,Narnia\n")
    assert problems == [
        "Line 2, country: “Korea” may mean North Korea (KP) or South Korea (KR): "
        "write the two-letter code.",
        "Line 3, country: “Narnia” is not a country name or code we know: write its "
        "two-letter code, such as PH.",
    ]


def test_the_printed_sheets_headers_in_spanish_with_semicolons_are_a_valid_file():
    with translation.override("es"):
        from signatories.sheets import _sheet_columns

        headers = [column["label"] for column in _sheet_columns()]
    text = "#;" + ";".join(headers) + ";Firma\n1;Ana Reyes;Filipinas;;;Manila;;\n"
    (row,) = read_paper_file(data=text.encode())
    assert (row.name, row.country, row.city, row.kind) == (
        "Ana Reyes", "PH", "Manila", "person",
    )  # fmt: skip


def test_unknown_repeated_and_missing_columns_are_named():
    problems = problems_of("nmae,Country,country,organisation\nAna,PH,PH,X\n")
    assert problems == [
        "Line 1: “nmae” is not a column of the import. The columns are: name, "
        "country, organization, role, city, kind.",
        "Line 1: The column “country” appears twice.",
        "Line 1: Missing column(s): name.",
    ]


def test_an_organization_signing_is_named_by_its_name():
    (row,) = read_paper_file(data=b"name,country,kind\nMigrante HK,HK,organization\n")
    assert (row.kind, row.organization) == ("organization", "Migrante HK")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (b"\xef\xbb\xbf \n\n", "The file is empty."),
        (b"name,country\n", "The file has its header line but no signatures."),
        (b"name,country\nAn\xe9,PH\n", "The file is not UTF-8 text"),
        (b"x" * 1_000_001, "The file has 1,000,001 bytes; the most is 1,000,000."),
    ],
)
def test_empty_unreadable_and_too_large_files_are_clear_errors(
    client, organizer, open_statement, content, message
):
    client.force_login(organizer)
    response = upload(client, open_statement, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Signature.objects.filter(source="paper").exists()


# --- Check, repeats, confirm -----------------------------------------------------


def test_a_checked_file_is_added_on_confirmation_with_its_import_row_and_audit_entry(
    client, organizer, open_statement
):
    client.force_login(organizer)
    url, page = check_page(
        client, open_statement, "name,country,organization\nAna Reyes,PH,Migrante\nBudi,ID,\n"
    )  # fmt: skip
    assert "2 new signatures" in page and "0 repeated rows" in page
    assert not Signature.objects.filter(source="paper").exists()

    response = client.post(url, {"seen": seen_on(page), "repeats": "skip"})
    assert response.status_code == 302
    assert response["Location"].endswith("/admin/signatories/signature/")
    added = Signature.objects.filter(source="paper")
    assert sorted(added.values_list("name", flat=True)) == ["Ana Reyes", "Budi"]
    assert set(added.values_list("status", "collected_by")) == {
        ("confirmed", "Migrante HK")
    }
    paper_import = PaperImport.objects.get()
    assert (paper_import.added, paper_import.skipped) == (2, 0)
    assert paper_import.imported_by == organizer
    assert paper_import.file_name == "sheet.csv"
    entry = AuditEntry.objects.get(action="signatures.paper_import")
    assert entry.actor == organizer
    assert entry.details["added"] == 2 and entry.details["skipped"] == 0
    assert entry.details["paper_import"] == paper_import.pk
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 2
    messages = client.get(response["Location"]).content.decode()
    assert "2 paper signatures added" in messages
    # The check is used up: confirming again adds nothing.
    assert client.post(url, {"seen": seen_on(page), "repeats": "skip"})[
        "Location"
    ].endswith(PAPER)
    assert added.count() == 2


def test_repeated_rows_are_listed_and_skipped_by_default(
    client, organizer, open_statement
):
    Signature.objects.create(
        statement=open_statement, name="Ana Reyes", country="PH", city="Manila",
        status="confirmed",
    )  # fmt: skip
    text = (
        "name,country,city\n"
        "  ANA REYES ,Philippines, manila\n"  # already signed, other case and spaces
        "Ana Reyes,PH,Cebu\n"  # another city: another person
        "Budi,ID,Jakarta\n"
        "budi,Indonesia,JAKARTA\n"  # the same file twice
    )
    client.force_login(organizer)
    url, page = check_page(client, open_statement, text)
    assert "2 new signatures" in page and "2 repeated rows" in page
    table = page[page.index('id="paper-repeats"') :]
    assert "Already signed on" in table and "Same as line 4" in table
    assert '<input type="radio" name="repeats" value="skip"' in page
    assert re.search(r'value="skip"[^>]*checked', page)

    client.post(url, {"seen": seen_on(page), "repeats": "skip"})
    added = Signature.objects.filter(source="paper")
    assert sorted(added.values_list("name", "city")) == [
        ("Ana Reyes", "Cebu"), ("Budi", "Jakarta"),
    ]  # fmt: skip
    paper_import = PaperImport.objects.get()
    assert (paper_import.added, paper_import.skipped) == (2, 2)
    entry = AuditEntry.objects.get(action="signatures.paper_import")
    assert (entry.details["added"], entry.details["skipped"]) == (2, 2)


def test_repeated_rows_are_added_when_the_organizer_chooses(
    client, organizer, open_statement
):
    Signature.objects.create(
        statement=open_statement, name="Ana Reyes", country="PH", status="confirmed"
    )
    client.force_login(organizer)
    url, page = check_page(
        client, open_statement, "name,country\nAna Reyes,PH\nBudi,ID\nBudi,ID\n"
    )
    client.post(url, {"seen": seen_on(page), "repeats": "add"})
    assert Signature.objects.filter(source="paper").count() == 3
    paper_import = PaperImport.objects.get()
    assert (paper_import.added, paper_import.skipped) == (3, 0)
    details = AuditEntry.objects.get(action="signatures.paper_import").details
    assert details["repeats_added"] == 2


def test_the_same_file_again_is_named_with_when_by_whom_and_how_many(
    client, organizer, open_statement
):
    text = "name,country\nAna Reyes,PH\nBudi,ID\n"
    client.force_login(organizer)
    url, page = check_page(client, open_statement, text)
    assert 'id="paper-same-file"' not in page
    client.post(url, {"seen": seen_on(page), "repeats": "skip"})

    url, page = check_page(client, open_statement, text)
    warning = page[page.index('id="paper-same-file"') :]
    assert "This same file was imported for this statement before" in warning
    assert "by paper-organizer: 2 added, 0 skipped." in warning
    assert "0 new signatures" in page and "2 repeated rows" in page
    client.post(url, {"seen": seen_on(page), "repeats": "skip"})
    assert Signature.objects.filter(source="paper").count() == 2
    assert list(PaperImport.objects.values_list("added", "skipped")) == [
        (0, 2), (2, 0),
    ]  # fmt: skip


def test_the_confirmation_trusts_only_the_file_kept_on_the_server(
    client, organizer, open_statement
):
    from tests.factories import make_statement

    other = make_statement(slug="other", status="published", accepts_signatures=True)
    client.force_login(organizer)
    url, page = check_page(client, open_statement, "name,country\nAna Reyes,PH\n")
    seen = seen_on(page)

    # A forged choice is refused with the check shown again, nothing added.
    response = client.post(url, {"seen": seen, "repeats": "everything"})
    assert response.status_code == 400
    assert not Signature.objects.filter(source="paper").exists()

    # A forged token finds nothing.
    response = client.post(PAPER + "forged-token/", {"seen": seen, "repeats": "add"})
    assert response["Location"].endswith(PAPER)
    assert not Signature.objects.filter(source="paper").exists()

    # Someone signs with the same name between the check and the confirmation: the
    # organizer sees the new repeat before anything is added.
    Signature.objects.create(
        statement=open_statement, name="ana reyes", country="PH", status="confirmed"
    )
    response = client.post(url, {"seen": seen, "repeats": "add"})
    assert response.status_code == 409
    changed = response.content.decode()
    assert "changed since this page was shown" in changed
    assert "1 repeated row" in changed
    assert not Signature.objects.filter(source="paper").exists()

    # Rows, a statement or counts sent with the form are not read.
    client.post(
        url,
        {"seen": seen_on(changed), "repeats": "skip", "statement": other.pk,
         "name": "Injected", "added": 99, "file_hash": "0" * 64},
    )  # fmt: skip
    assert not Signature.objects.filter(source="paper").exists()
    assert not other.signatures.exists()
    paper_import = PaperImport.objects.get()
    assert (paper_import.statement, paper_import.added, paper_import.skipped) == (
        open_statement, 0, 1,
    )  # fmt: skip


def test_cancelling_the_check_drops_the_kept_file(client, organizer, open_statement):
    client.force_login(organizer)
    url, page = check_page(client, open_statement, "name,country\nAna Reyes,PH\n")
    assert 'name="cancel"' in page
    response = client.post(url, {"cancel": "Cancel"}, follow=True)
    assert response.redirect_chain[-1][0] == PAPER
    assert "Nothing was added, and the file is not kept." in response.content.decode()
    assert PENDING_KEY not in client.session
    response = client.post(url, {"seen": seen_on(page), "repeats": "skip"})
    assert response["Location"].endswith(PAPER)
    assert not Signature.objects.filter(source="paper").exists()


def test_a_file_left_unconfirmed_for_an_hour_goes_on_the_next_visit(
    client, organizer, open_statement
):
    client.force_login(organizer)
    check_page(client, open_statement, "name,country\nAna Reyes,PH\n")
    session = client.session
    session[PENDING_KEY]["stored_at"] -= PENDING_SECONDS + 1
    session.save()
    assert client.get(PAPER).status_code == 200
    assert PENDING_KEY not in client.session


def test_one_organizers_check_cannot_be_confirmed_by_another(
    client, organizer, open_statement
):
    client.force_login(organizer)
    url, page = check_page(client, open_statement, "name,country\nAna Reyes,PH\n")
    client.force_login(make_user("second-organizer", groups=["Publishers"]))
    response = client.post(url, {"seen": seen_on(page), "repeats": "skip"})
    assert response["Location"].endswith(PAPER)
    assert not Signature.objects.filter(source="paper").exists()


def test_what_the_file_holds_is_escaped_on_both_pages(
    client, organizer, open_statement
):
    client.force_login(organizer)
    page = upload(
        client, open_statement, "name,country\n<b>Ana</b>,<img src=x onerror=alert(1)>\n"
    ).content.decode()  # fmt: skip
    assert "<img src=x" not in page and "&lt;img src=x" in page
    Signature.objects.create(
        statement=open_statement, name="<b>Ana</b>", country="PH", status="confirmed"
    )
    url, page = check_page(client, open_statement, "name,country\n<b>Ana</b>,PH\n")
    assert "<b>Ana</b>" not in page and "&lt;b&gt;Ana&lt;/b&gt;" in page


def test_a_statement_that_stopped_taking_signatures_gets_nothing(
    organizer, open_statement
):
    open_statement.accepts_signatures = False
    open_statement.save(update_fields=["accepts_signatures"])
    with pytest.raises(PaperImportError):
        import_paper_signatures(
            statement=open_statement, data=b"name,country\nAna,PH\n",
            file_name="x.csv", collected_by="x", by=organizer,
        )  # fmt: skip
    assert not Signature.objects.exists() and not PaperImport.objects.exists()


# --- Who may -----------------------------------------------------------------------


def test_editors_may_neither_upload_nor_check_nor_confirm(
    client, organizer, editor, open_statement
):
    client.force_login(organizer)
    url, page = check_page(client, open_statement, "name,country\nAna Reyes,PH\n")
    client.force_login(editor)
    assert client.get(PAPER).status_code == 403
    assert upload(client, open_statement, "name,country\nAna,PH\n").status_code == 403
    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"seen": seen_on(page), "repeats": "skip"}).status_code == 403
    )
    assert not Signature.objects.filter(source="paper").exists()


def test_people_not_logged_in_are_sent_to_the_login(client, open_statement):
    for response in (client.get(PAPER), client.get(PAPER + "some-token/")):
        assert response.status_code == 302 and "/login/" in response["Location"]
