import csv
import html
import io
import re

import pytest
from django.contrib.auth.models import Permission

from ima_site.models import AuditEntry
from signatories import services
from signatories.exports import safe_cell
from signatories.models import CountEvent, Signature
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
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"signatories-{open_statement.slug}-" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert len(rows) == 2  # header + the counted signature; the held one is left out
    assert rows[1][2] == "'=HYPERLINK(evil)"
    assert rows[1][3] == "'+x" and rows[1][5] == "'@y"
    assert "ana@" not in body
    [entry] = AuditEntry.objects.filter(action="signatures.export")
    assert entry.actor == secretariat and entry.object_id == str(open_statement.pk)
    assert entry.details == {"via": "admin", "only_counted": True, "excel": True}


def test_the_admin_and_the_api_export_the_same_rows_through_one_service(
    client, secretariat, open_statement
):
    from rest_framework.test import APIClient

    signature(open_statement, name="Ana Reyes")
    signature(open_statement, name="Budi", country="ID")
    signature(open_statement, name="Pending", status="pending")
    client.force_login(secretariat)
    admin_csv = b"".join(
        client.post(
            "/admin/signatories/signature/export/",
            {"statement": open_statement.pk, "only_counted": "on"},
        ).streaming_content
    )
    api = APIClient()
    api.force_authenticate(secretariat)
    response = api.get(
        f"/api/v1/statements/{open_statement.slug}/signatures/export.csv"
    )
    assert response.status_code == 200
    api_csv = b"".join(response.streaming_content)
    assert api_csv == admin_csv
    assert [row[2] for row in csv.reader(io.StringIO(api_csv.decode()))][1:] == [
        "Ana Reyes", "Budi",
    ]  # fmt: skip
    entries = AuditEntry.objects.filter(action="signatures.export").order_by("id")
    assert [e.details["via"] for e in entries] == ["admin", "api"]
    assert {e.actor for e in entries} == {secretariat}


def test_only_exporters_may_export_through_the_api(
    editor, outsider, secretariat, open_statement
):
    from rest_framework.test import APIClient

    url = f"/api/v1/statements/{open_statement.slug}/signatures/export.csv"
    api = APIClient()
    assert api.get(url).status_code in (401, 403)
    for user in (editor, outsider):  # staff without the permission; not staff
        api.force_authenticate(user)
        assert api.get(url).status_code == 403, user
    assert not AuditEntry.objects.filter(action="signatures.export").exists()
    api.force_authenticate(secretariat)
    assert api.get(url).status_code == 200
    missing = "/api/v1/statements/no-such/signatures/export.csv"
    assert api.get(missing).status_code == 404


def test_only_organizers_with_the_permission_may_export(client, editor, open_statement):
    client.force_login(editor)
    response = client.post(
        "/admin/signatories/signature/export/", {"statement": open_statement.pk}
    )
    assert response.status_code == 403
    client.logout()
    response = client.get("/admin/signatories/signature/export/")
    assert response.status_code == 302 and "/login/" in response["Location"]


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
    # Erasing asks first: the plain post only shows the confirmation page.
    asked = client.post(url, {"action": "erase", "_selected_action": [a.pk]})
    assert asked.status_code == 200 and Signature.objects.filter(pk=a.pk).exists()
    client.post(url, confirmation_answer(asked))
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    assert not Signature.objects.filter(pk=a.pk).exists()
    assert Signature.objects.get(pk=b.pk).status == "rejected"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"signatures.hold", "signatures.release", "signatures.reject",
            "signatures.erase"} <= actions  # fmt: skip


def confirmation_answer(response) -> dict:
    """The "yes" of a confirmation page: its form's hidden fields, as posted."""
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
        response.content.decode(),
    ):
        if name != "csrfmiddlewaretoken":
            fields.setdefault(name, []).append(html.unescape(value))
    assert "confirmation" in fields, "not a confirmation page"
    return fields


def review_state(*signatures) -> list:
    return [
        list(Signature.objects.filter(pk__in=[s.pk for s in signatures]).values()),
        list(AuditEntry.objects.values_list("action", flat=True)),
        list(CountEvent.objects.values_list("delta", flat=True)),
    ]


@pytest.mark.parametrize(
    "action", ["hold", "release", "reject", "erase", "link_registry"]
)
def test_reviewing_needs_the_review_permission(
    client, editor, secretariat, open_statement, action
):
    from signatories.models import Organization

    Organization.objects.create(name="Migrante", country="PH", is_member=True)
    person = signature(open_statement, is_held=True, hold_reason="network-burst")
    group = signature(open_statement, kind="organization", organization="Migrante")
    url = "/admin/signatories/signature/"
    post = {"action": action, "_selected_action": [person.pk, group.pk]}
    before = review_state(person, group)

    client.force_login(editor)  # staff, no signature permission at all
    assert client.post(url, post).status_code == 403
    editor.user_permissions.add(Permission.objects.get(codename="view_signature"))
    client.force_login(editor)  # may look, may not review
    response = client.post(url, post)
    # Without the review permission the admin offers no action: it shows the list
    # again and runs nothing.
    assert response.status_code == 200
    assert action not in response.content.decode().split('name="action"')[-1][:2000]
    assert review_state(person, group) == before

    # The same request from a reviewer does change something: the test can tell.
    client.force_login(secretariat)
    response = client.post(url, post)
    if action == "erase":  # asks first, then does it
        assert review_state(person, group) == before
        response = client.post(url, confirmation_answer(response))
    assert response.status_code == 302
    assert review_state(person, group) != before
    assert AuditEntry.objects.filter(action=f"signatures.{action}").exists()


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
