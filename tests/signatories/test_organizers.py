import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from ima_site.models import AuditEntry
from signatories import services
from signatories.exports import safe_cell
from signatories.models import Signature
from signatories.services.counts import count_event
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def secretariat(db):
    """An organizer who reviews, exports and records paper signatures."""
    user = make_user("secretariat", groups=["Publishers"])
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=[
                "export_signatures",
                "review_signatures",
                "add_signature",
                "view_signature",
            ]  # fmt: skip
        )
    )
    return user


def signature(statement, **fields):
    defaults = {"name": "Ana", "country": "PH", "status": "confirmed"}
    return Signature.objects.create(statement=statement, **{**defaults, **fields})


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx", "＝1", "＋1", "－1", "＠x"],
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(value):
    assert safe_cell(value).startswith("'")
    assert safe_cell("Ana") == "Ana"


def test_export_streams_a_csv_with_an_audit_entry(client, secretariat, open_statement):
    signature(open_statement, name="=HYPERLINK(evil)", organization="+x", city="@y")
    signature(open_statement, name="Held", is_held=True)
    client.force_login(secretariat)
    response = client.post(
        "/admin/signatories/signature/export/",
        {"statement": open_statement.pk, "only_counted": "on", "excel": "on"},
    )
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 2  # header + the counted signature; the held one is left out
    assert rows[1][2] == "'=HYPERLINK(evil)"
    assert rows[1][3] == "'+x" and rows[1][5] == "'@y"
    assert "ana@" not in body
    assert AuditEntry.objects.filter(action="signatures.export").count() == 1


def test_only_organizers_with_the_permission_may_export(client, editor, open_statement):
    client.force_login(editor)
    response = client.post(
        "/admin/signatories/signature/export/", {"statement": open_statement.pk}
    )
    assert response.status_code == 403
    client.logout()
    response = client.get("/admin/signatories/signature/export/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_paper_signatures_are_added_all_or_nothing(client, secretariat, open_statement):
    client.force_login(secretariat)
    good = "name,country,organization\nAna Reyes,PH,Migrante\nBudi,ID,\n"
    response = client.post(
        "/admin/signatories/signature/paper/",
        {"statement": open_statement.pk, "collected_by": "Migrante HK",
         "file": SimpleUploadedFile("sheet.csv", good.encode())},
    )  # fmt: skip
    assert response.status_code == 302
    added = Signature.objects.filter(source="paper")
    assert added.count() == 2
    assert set(added.values_list("collected_by", flat=True)) == {"Migrante HK"}
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 2

    bad = "name,country\nGood Line,PH\nBad Line,ZZ\n"
    response = client.post(
        "/admin/signatories/signature/paper/",
        {"statement": open_statement.pk, "collected_by": "x",
         "file": SimpleUploadedFile("sheet.csv", bad.encode())},
    )  # fmt: skip
    assert response.status_code == 200
    assert "Line 3: ZZ is not a country code" in response.content.decode()
    assert Signature.objects.filter(source="paper").count() == 2

    spam = "name,country,organization\nGood,PH,Visit evil.example\n"
    response = client.post(
        "/admin/signatories/signature/paper/",
        {"statement": open_statement.pk, "collected_by": "x",
         "file": SimpleUploadedFile("sheet.csv", spam.encode())},
    )  # fmt: skip
    assert (
        "Line 2: organization cannot contain a web address" in response.content.decode()
    )
    assert Signature.objects.filter(source="paper").count() == 2


def test_bulk_hold_release_reject_erase(client, secretariat, open_statement):
    a = signature(open_statement, name="A")
    b = signature(open_statement, name="B")
    for s in (a, b):
        count_event(s, +1)
    client.force_login(secretariat)
    url = "/admin/signatories/signature/"
    client.post(url, {"action": "hold", "_selected_action": [a.pk, b.pk]})
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    client.post(url, {"action": "release", "_selected_action": [a.pk]})
    client.post(url, {"action": "reject", "_selected_action": [b.pk]})
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1
    client.post(url, {"action": "erase", "_selected_action": [a.pk]})
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    assert not Signature.objects.filter(pk=a.pk).exists()
    assert Signature.objects.get(pk=b.pk).status == "rejected"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"signatures.hold", "signatures.release", "signatures.reject",
            "signatures.erase"} <= actions  # fmt: skip


def test_reviewing_needs_the_review_permission(client, editor, open_statement):
    a = signature(open_statement)
    editor.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(editor)
    client.post(
        "/admin/signatories/signature/", {"action": "erase", "_selected_action": [a.pk]}
    )
    assert Signature.objects.filter(pk=a.pk).exists()


def test_organizers_find_a_signer_by_email_without_it_being_stored(
    client, secretariat, open_statement
):
    from ima_site.crypto import keyed_hash

    signature(
        open_statement, name="Findable", email_hash=keyed_hash("email", "ana@gmail.com")
    )
    signature(open_statement, name="Other")
    client.force_login(secretariat)
    response = client.post(
        "/admin/signatories/signature/find/", {"email": "A.N.A@gmail.com"}
    )
    assert response.status_code == 302
    assert "@" not in response["Location"] and "gmail" not in response["Location"]
    body = client.get(response["Location"]).content.decode()
    assert "Findable" in body and "Other" not in body
    client.force_login(make_user("no-access", groups=["Editors"]))
    assert (
        client.post(
            "/admin/signatories/signature/find/", {"email": "ana@gmail.com"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "url",
    [
        "/admin/signatories/signature/",
        "/admin/signatories/signature/find/",
        "/admin/signatories/signature/chart/",
        "/admin/signatories/signature/sheet/",
        "/admin/signatories/signature/paper/",
        "/admin/signatories/signature/export/",
        "/admin/signatories/offlinecount/add/",
        "/admin/signatories/signingswitch/add/",
        "/admin/signatories/organization/",
        "/admin/signatories/countcheck/",
    ],
)
def test_every_signature_page_of_the_admin_is_closed_to_editors(client, editor, url):
    client.force_login(editor)
    assert client.get(url).status_code == 403
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/login/" in response["Location"]
