import pytest
from rest_framework.test import APIClient

from ima_site.tokens import create_api_token
from signatories.models import Signature
from tests.factories import make_user
from tests.signatories.conftest import send_outbox

pytestmark = pytest.mark.django_db

SIGNER = {"name": "Budi Santoso", "email": "budi@example.org", "country": "ID"}


def test_api_signing_gives_the_same_answer_for_new_repeat_and_held(open_statement):
    client = APIClient()
    url = f"/api/v1/statements/{open_statement.slug}/signatures/"
    new = client.post(url, SIGNER, format="json")
    repeat = client.post(url, {**SIGNER, "name": "Other"}, format="json")
    held = client.post(
        url, {**SIGNER, "email": "b@example.net", "website": "x"}, format="json"
    )
    assert new.status_code == repeat.status_code == held.status_code == 202
    assert new.json() == repeat.json() == held.json() == {"status": "check-your-email"}
    assert Signature.objects.filter(source="api").count() == 2
    # The new signer and the repeat get an email; the honeypot's catch does not.
    assert len(send_outbox()) == 2
    for response in (new, repeat, held):
        assert "@" not in response.content.decode()


def test_api_signing_names_the_bad_field(open_statement):
    response = APIClient().post(
        f"/api/v1/statements/{open_statement.slug}/signatures/",
        {**SIGNER, "country": "XX", "email": "nope"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"country", "email"}
    assert not Signature.objects.exists()


def token_client(user) -> APIClient:
    client = APIClient()
    _token, value = create_api_token(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    return client


def test_signature_list_and_export_need_a_publishers_token(
    open_statement, outsider, editor
):
    Signature.objects.create(
        statement=open_statement, name="Ana", country="PH", status="confirmed"
    )
    url = f"/api/v1/statements/{open_statement.slug}/signatures/"
    export = f"/api/v1/statements/{open_statement.slug}/signatures/export.csv"
    anonymous = APIClient()
    assert anonymous.get(url).status_code in (401, 403)
    assert anonymous.get(export).status_code in (401, 403)
    # A token of someone who is no organizer does not even authenticate.
    stranger = token_client(outsider)
    assert stranger.get(url).status_code == 401
    assert stranger.get(export).status_code == 401
    # An Editor is staff with a working token, but may not read signatures.
    drafter = token_client(editor)
    assert drafter.get("/api/v1/statements/").status_code == 200
    assert drafter.get(url).status_code == 403
    assert drafter.get(export).status_code == 403
    # Logged in through the admin instead of a token: the same answer.
    session = APIClient()
    session.force_login(editor)
    assert session.get(url).status_code == 403
    assert session.get(export).status_code == 403

    organizer = make_user("api-organizer", groups=["Publishers"])
    client = token_client(organizer)
    listing = client.get(url)
    assert listing.status_code == 200
    [row] = listing.json()["results"]
    assert row["name"] == "Ana" and "email" not in str(row).lower().replace("_", "")
    response = client.get(export)
    assert response.status_code == 200
    assert b"Ana" in b"".join(response.streaming_content)


def test_signing_endpoints_are_in_the_schema(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/statements/{slug}/signatures/" in schema
    assert "/api/v1/statements/{slug}/count/" in schema
    assert "/api/v1/statements/{slug}/signatures/export.csv" in schema
