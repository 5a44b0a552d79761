"""Organizers' API tokens: named, several per organizer, hashed, expiring, made and
revoked in the admin, and good only while their user is an organizer."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from ima_site.models import ApiToken, AuditEntry
from ima_site.tokens import create_api_token
from signatories.models import Signature
from tests.factories import make_statement, make_user

pytestmark = pytest.mark.django_db

ADD_URL = "/admin/ima_site/apitoken/add/"
LIST_URL = "/admin/ima_site/apitoken/"


@pytest.fixture
def statement(db):
    return make_statement(slug="sign-me", accepts_signatures=True)


def signatures_status(value: str, slug: str = "sign-me") -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    return client.get(f"/api/v1/statements/{slug}/signatures/").status_code


def make_in_admin(client, name: str) -> str:
    response = client.post(ADD_URL, {"name": name})
    assert response.status_code == 200, response.content[:2000]
    assert "no-store" in response["Cache-Control"]
    return re.search(r"Authorization: Token ([0-9a-f]{64})", response.content.decode())[
        1
    ]


@pytest.mark.parametrize("role", ["Editors", "Publishers"])
def test_an_organizer_makes_several_named_tokens_in_the_admin(client, role):
    organizer = make_user("organizer", groups=[role])
    client.force_login(organizer)
    assert client.get(ADD_URL).status_code == 200
    first = make_in_admin(client, "partner site")
    second = make_in_admin(client, "spreadsheet")
    assert first != second
    tokens = ApiToken.objects.filter(user=organizer).order_by("name")
    assert [t.name for t in tokens] == ["partner site", "spreadsheet"]
    listing = client.get(LIST_URL).content.decode()
    assert "partner site" in listing and "spreadsheet" in listing
    # Shown once: the value is in no page and no row afterwards.
    assert first not in listing
    assert first not in client.get(f"{LIST_URL}{tokens[0].pk}/change/").content.decode()
    assert AuditEntry.objects.filter(action="api_token.create").count() == 2


def test_a_token_is_stored_only_as_a_hash_and_expires(settings):
    settings.API_TOKEN_DAYS = 30
    publisher = make_user("publisher", groups=["Publishers"])
    token, value = create_api_token(user=publisher, name="x")
    stored = ApiToken.objects.values().get(pk=token.pk)
    assert value not in str(stored)
    assert len(stored["digest"]) == 128
    expected = timezone.now() + timedelta(days=30)
    assert abs(token.expiry - expected) < timedelta(minutes=1)


def test_two_tokens_of_one_organizer_cannot_share_a_name(client):
    editor = make_user("editor", groups=["Editors"])
    client.force_login(editor)
    make_in_admin(client, "same")
    response = client.post(ADD_URL, {"name": "same"})
    assert response.status_code == 200
    assert "You already have a token with this name." in response.content.decode()
    assert ApiToken.objects.count() == 1
    # Another organizer may use the same name.
    other = make_user("other", groups=["Editors"])
    create_api_token(user=other, name="same")


def test_an_organizer_sees_and_revokes_only_their_own_tokens(client, statement):
    mine_user = make_user("mine", groups=["Publishers"])
    theirs_user = make_user("theirs", groups=["Publishers"])
    mine, mine_value = create_api_token(user=mine_user, name="my token")
    theirs, theirs_value = create_api_token(user=theirs_user, name="their token")
    client.force_login(mine_user)
    listing = client.get(LIST_URL).content.decode()
    assert "my token" in listing and "their token" not in listing
    assert client.get(f"{LIST_URL}{theirs.pk}/change/").status_code in (302, 403, 404)
    assert client.post(
        f"{LIST_URL}{theirs.pk}/delete/", {"post": "yes"}
    ).status_code in (
        302,
        403,
        404,
    )
    # The bulk action only reaches the organizer's own rows, whatever ids are posted.
    client.post(
        LIST_URL,
        {"action": "delete_selected", "_selected_action": [theirs.pk], "post": "yes"},
    )
    assert ApiToken.objects.filter(pk=theirs.pk).exists()
    assert signatures_status(theirs_value) == 200

    assert signatures_status(mine_value) == 200
    response = client.post(f"{LIST_URL}{mine.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=mine.pk).exists()
    assert signatures_status(mine_value) == 401
    entry = AuditEntry.objects.get(action="api_token.revoke")
    assert entry.actor == mine_user and "my token" in entry.object_repr


def test_a_superuser_sees_every_token(client):
    create_api_token(user=make_user("editor", groups=["Editors"]), name="editor's")
    admin = make_user("root", groups=[])
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    assert "editor&#x27;s" in client.get(LIST_URL).content.decode()


def test_someone_who_is_no_organizer_makes_no_token(client):
    staff = make_user("staff-no-role", groups=[])
    client.force_login(staff)
    assert client.get(ADD_URL).status_code == 403
    assert client.post(ADD_URL, {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "change",
    ["deactivated", "no longer staff", "left the group", "moved to no group"],
)
def test_a_token_stops_working_at_once_when_its_user_stops_being_an_organizer(
    statement, change
):
    publisher = make_user("publisher", groups=["Publishers"])
    _token, value = create_api_token(user=publisher, name="x")
    assert signatures_status(value) == 200
    if change == "deactivated":
        publisher.is_active = False
        publisher.save()
    elif change == "no longer staff":
        publisher.is_staff = False
        publisher.save()
    elif change == "left the group":
        publisher.groups.remove(Group.objects.get(name="Publishers"))
    else:
        publisher.groups.clear()
    response = APIClient()
    response.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    answer = response.get("/api/v1/statements/")
    assert answer.status_code == 401
    assert "no longer works" in answer.json()["detail"] or change == "deactivated"
    assert signatures_status(value) == 401


def test_an_expired_token_does_not_work(statement):
    publisher = make_user("publisher", groups=["Publishers"])
    token, value = create_api_token(user=publisher, name="x")
    ApiToken.objects.filter(pk=token.pk).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    assert signatures_status(value) == 401


def test_the_header_is_token_and_a_bearer_or_wrong_value_is_refused(statement):
    publisher = make_user("publisher", groups=["Publishers"])
    _token, value = create_api_token(user=publisher, name="x")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {value}")
    assert client.get("/api/v1/statements/sign-me/signatures/").status_code == 401
    wrong = value[:-1] + ("0" if value[-1] != "0" else "1")
    assert signatures_status(wrong) == 401
    response = APIClient().get("/api/v1/statements/sign-me/signatures/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_schema_names_the_token_scheme_and_anonymous_signing(client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == (
        "Authorization"
    )
    post = schema["paths"]["/api/v1/statements/{slug}/signatures/"]["post"]
    assert {} in post["security"]
    listing = schema["paths"]["/api/v1/statements/{slug}/signatures/"]["get"]
    assert {} not in listing["security"]


def stop_being_an_organizer(user, change: str) -> None:
    if change == "no longer staff":
        user.is_staff = False
        user.save()
    elif change == "left the group":
        user.groups.clear()
    else:
        user.is_active = False
        user.save()


CHANGES = ["no longer staff", "left the group", "deactivated"]


@pytest.mark.parametrize("change", CHANGES)
def test_an_open_session_stops_reaching_signatures_when_its_user_stops_being_an_organizer(
    client, statement, change
):
    Signature.objects.create(
        statement=statement, name="Ana Reyes", country="PH", status="confirmed"
    )
    publisher = make_user("publisher", groups=["Publishers"])
    client.force_login(publisher)
    urls = [
        "/api/v1/statements/sign-me/signatures/",
        "/api/v1/statements/sign-me/signatures/export.csv",
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url  # the session works first
    stop_being_an_organizer(publisher, change)
    for url in urls:
        response = client.get(url)
        assert response.status_code in (401, 403), (url, response.status_code)
        assert b"Ana Reyes" not in response.content
    # Nothing was exported the second time.
    assert AuditEntry.objects.filter(action__contains="export").count() == 1


@pytest.mark.parametrize("change", CHANGES)
def test_an_open_session_stops_previewing_and_seeing_drafts_on_the_api(client, change):
    draft = make_statement(slug="draft-one", status="draft", title="Secret draft")
    editor = make_user("editor", groups=["Editors"])
    client.force_login(editor)
    preview = f"/statements/{draft.slug}/preview/"
    assert client.get(preview).status_code == 200
    assert client.get("/api/v1/statements/draft-one/").status_code == 200
    stop_being_an_organizer(editor, change)
    answer = client.get(preview)
    assert answer.status_code in (302, 403)
    assert "Secret draft" not in answer.content.decode()
    assert client.get("/api/v1/statements/draft-one/").status_code == 404


def test_a_session_of_someone_who_is_no_organizer_is_anonymous_to_the_api(
    client, statement
):
    # Staff without a role, holding the signature permission directly: the
    # permission alone is not enough, as for a token.
    from django.contrib.auth.models import Permission

    staff = make_user("staff-no-role", groups=[])
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_signature", "export_signatures"])
    )
    client.force_login(staff)
    assert client.get("/api/v1/statements/sign-me/signatures/").status_code == 401
    export = client.get("/api/v1/statements/sign-me/signatures/export.csv")
    assert export.status_code == 401
