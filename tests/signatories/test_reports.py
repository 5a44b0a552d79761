import pytest

from signatories.models import SignatureCount
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_world_map_is_a_small_svg_shaded_by_country(client, open_statement):
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=40
    )
    SignatureCount.objects.create(
        statement=open_statement, country="MY", kind="person", count=2
    )
    SignatureCount.objects.create(
        statement=open_statement, country="ID", kind="person", count=12
    )
    response = client.get(
        f"/statements/{open_statement.slug}/map.svg", HTTP_ACCEPT_ENCODING="gzip"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/svg+xml")
    assert response["Content-Encoding"] == "gzip"
    assert len(response.content) < 40_000
    import gzip

    svg = gzip.decompress(response.content).decode()
    assert "<title>Philippines: 40</title>" in svg
    # Malaysia's 2 would be the total less the others: Indonesia, the smallest
    # shown, is hidden beside it, and both look alike.
    assert "<title>Malaysia: not shown</title>" in svg
    assert "<title>Indonesia: not shown</title>" in svg
    assert ": 2<" not in svg and ": 12<" not in svg
    assert "<script" not in svg


def test_map_of_a_draft_is_not_found(client, draft):
    assert client.get(f"/statements/{draft.slug}/map.svg").status_code == 404


def test_charts_for_organizers_only(client, publisher, editor, open_statement):
    from signatories.models import Signature

    Signature.objects.create(
        statement=open_statement, name="x", country="PH", status="confirmed"
    )
    url = f"/admin/signatories/signature/chart/?statement={open_statement.pk}"
    client.force_login(editor)
    assert client.get(url).status_code == 403
    client.force_login(publisher)
    body = client.get(url).content.decode()
    assert body.count('class="chart"') == 2
    assert "Philippines" in body


def test_blank_sign_up_sheet_is_a_pdf(client, open_statement):
    pytest.importorskip("weasyprint", reason="WeasyPrint needs Pango from the system")
    organizer = make_user("sheet-printer", groups=["Publishers"])
    client.force_login(organizer)
    response = client.get(
        f"/admin/signatories/signature/sheet/?statement={open_statement.pk}&language=es"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_sheet_needs_the_permission(client, editor, open_statement):
    client.force_login(editor)
    url = f"/admin/signatories/signature/sheet/?statement={open_statement.pk}"
    assert client.get(url).status_code == 403
