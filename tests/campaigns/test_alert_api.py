"""The organizers' alert API: write an alert, read its matching table, test it on
yourself, send it now or later, watch its progress; with tokens of each role."""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns import sending
from campaigns.alerts import Audience, VersionText, create_alert, text_problem
from campaigns.models import Alert, AlertDelivery, AlertVersion, Mission, MissionChoice
from campaigns.serializers_alerts import placeholder_text_pattern
from ima_site.models import AuditEntry, SiteConfiguration
from ima_site.tokens import create_api_token
from signatories.models import Contact, Organization
from tests.campaigns.conftest import (
    contact_email,
    make_action,
    make_alert,
    make_contacts,
)
from tests.factories import make_user

pytestmark = pytest.mark.django_db

BODY = "Dear {organization}, meet at {mission_name} on {date}, {time}."


def client_of(user) -> APIClient:
    _token, value = create_api_token(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {value}")
    return client


@pytest.fixture
def action(db):
    return make_action()


@pytest.fixture
def editor_api(editor):
    editor.email = "editor@secretariat.example.org"
    editor.save()
    return client_of(editor)


@pytest.fixture
def publisher_api(publisher):
    publisher.email = "publisher@secretariat.example.org"
    publisher.save()
    return client_of(publisher)


def alert_for(action, *, contacts: int, per_organization: int = 10, **fields):
    """A draft alert for the action, to `contacts` more contacts of member
    organizations (PLACES in turn: Manila, Hong Kong, London, New York)."""
    make_contacts(contacts, per_organization=per_organization)
    return make_alert(action=action, contacts=0, **fields)


def new_alert(for_action, **fields) -> dict:
    return {
        "action": for_action.pk,
        "subject": "Day of action at {mission_name}",
        "body": BODY,
        **fields,
    }


def endpoints(alert_id: int) -> list[tuple[str, str]]:
    return [
        ("post", "/api/v1/alerts/"),
        ("get", f"/api/v1/alerts/{alert_id}/"),
        ("get", f"/api/v1/alerts/{alert_id}/recipients/"),
        ("post", f"/api/v1/alerts/{alert_id}/test/"),
        ("post", f"/api/v1/alerts/{alert_id}/send/"),
    ]


# --- Who may do what ---------------------------------------------------------------


def test_every_alert_endpoint_asks_for_a_token(action, mailoutbox):
    alert = alert_for(action, contacts=3)
    for method, url in endpoints(alert.pk):
        response = getattr(APIClient(), method)(url, {}, format="json")
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"].startswith("Token"), url
    assert Alert.objects.count() == 1
    assert not AlertDelivery.objects.exists()
    assert mailoutbox == []


def test_a_token_whose_user_left_the_roles_is_refused_everywhere(action, editor):
    alert = alert_for(action, contacts=3)
    api = client_of(editor)
    editor.groups.clear()
    for method, url in endpoints(alert.pk):
        response = getattr(api, method)(url, {}, format="json")
        assert response.status_code == 401, url


def test_an_organizer_without_the_permission_to_write_alerts_gets_a_403(
    action, publisher_api
):
    Group.objects.get(name="Publishers").permissions.remove(
        Permission.objects.get(
            content_type__app_label="campaigns", codename="add_alert"
        )
    )
    response = publisher_api.post("/api/v1/alerts/", new_alert(action), format="json")
    assert response.status_code == 403
    assert not Alert.objects.exists()


def test_an_editor_may_not_send_and_nothing_is_written(action, editor_api, mailoutbox):
    alert = alert_for(action, contacts=5)
    response = editor_api.post(f"/api/v1/alerts/{alert.pk}/send/", {}, format="json")
    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT
    assert alert.frozen_content is None
    assert not AlertDelivery.objects.exists()
    assert mailoutbox == []


def test_an_alert_that_does_not_exist_is_a_404_everywhere(action, publisher_api):
    for method, url in endpoints(987654)[1:] + endpoints(2**70)[1:]:
        response = getattr(publisher_api, method)(url, {}, format="json")
        assert response.status_code == 404, url
        assert response.json()["detail"], url


def test_every_organizer_reads_every_alert_whoever_wrote_it(
    action, editor, publisher_api
):
    """One secretariat: another organizer's draft is readable, not only the
    author's (a Publisher must read an Editor's draft to send it)."""
    other_editor = make_user("other-editor", groups=["Editors"])
    alert = alert_for(action, contacts=3, by=editor)
    for api in (client_of(other_editor), publisher_api):
        assert api.get(f"/api/v1/alerts/{alert.pk}/").status_code == 200
        assert api.get(f"/api/v1/alerts/{alert.pk}/recipients/").status_code == 200


# --- Writing an alert --------------------------------------------------------------


def test_an_editor_writes_an_alert_with_versions_and_an_audience(action, editor_api):
    response = editor_api.post(
        "/api/v1/alerts/",
        new_alert(
            action,
            language="en",
            versions=[
                {"language": "tl", "subject": "Araw ng pagkilos", "body": "Sa {date}."},
                {"language": "id", "subject": "Hari aksi", "body": "Pada {date}."},
            ],
            audience={
                "countries": ["PH", "HK"],
                "sectors": ["Domestic work"],
                "languages": ["en", "tl"],
                "members_only": False,
            },
        ),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    alert = Alert.objects.get()
    assert response["Location"] == f"/api/v1/alerts/{alert.pk}/"
    assert data["id"] == alert.pk
    assert data["status"] == "draft"
    assert data["campaign"] == "stop-ops-mega"
    assert (data["language"], data["subject"], data["body"]) == (
        "en",
        "Day of action at {mission_name}",
        BODY,
    )
    assert [v["language"] for v in data["versions"]] == ["tl", "id"]
    assert data["audience"] == {
        "countries": ["PH", "HK"],
        "sectors": ["Domestic work"],
        "languages": ["en", "tl"],
        "members_only": False,
    }
    assert data["created_by"] == "editor"
    assert data["progress"]["total"] == 0
    assert alert.created_by.username == "editor"
    assert alert.countries == ["PH", "HK"] and alert.members_only is False
    original = AlertVersion.objects.get(alert=alert, is_original=True)
    assert (original.language, original.body) == ("en", BODY)
    assert AlertVersion.objects.filter(alert=alert).count() == 3
    entry = AuditEntry.objects.get(action="alert.create")
    assert entry.object_id == str(alert.pk)
    assert entry.actor.username == "editor"
    assert entry.details["languages"] == ["en", "tl", "id"]


def test_a_publisher_writes_an_alert_to_every_member_by_default(action, publisher_api):
    response = publisher_api.post("/api/v1/alerts/", new_alert(action), format="json")
    assert response.status_code == 201
    alert = Alert.objects.get()
    assert (alert.countries, alert.sectors, alert.languages) == ([], [], [])
    assert alert.members_only is True
    assert alert.versions.get().language == "en"


@pytest.mark.parametrize(
    ("field", "text", "named"),
    [
        ("body", "Meet at {mision_name}.", "{mision_name}"),
        ("subject", "Action at {embassy}", "{embassy}"),
        ("body", "{organization} and {Organization}", "{Organization}"),
    ],
)
def test_an_unknown_placeholder_is_a_400_naming_it(
    action, editor_api, field, text, named
):
    response = editor_api.post(
        "/api/v1/alerts/", new_alert(action, **{field: text}), format="json"
    )
    assert response.status_code == 400
    assert named in response.json()[field][0]
    assert "{mission_name}" in response.json()[field][0]  # the ones there are
    assert not Alert.objects.exists()


def test_an_unknown_placeholder_in_a_translation_names_the_version(action, editor_api):
    versions = [
        {"language": "tl", "subject": "Pagkilos", "body": "Sa {petsa}."},
    ]
    response = editor_api.post(
        "/api/v1/alerts/", new_alert(action, versions=versions), format="json"
    )
    assert response.status_code == 400
    assert "{petsa}" in response.json()["versions[0].body"][0]
    assert not Alert.objects.exists()


def test_literal_braces_and_known_placeholders_are_accepted(action, editor_api):
    body = "Use {{hashtag}} and {organization}; 3 } 2 is text, and so is {\nthis."
    response = editor_api.post(
        "/api/v1/alerts/", new_alert(action, body=body), format="json"
    )
    assert response.status_code == 201, response.json()
    assert Alert.objects.get().versions.get().body == body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"action": None}, "action"),
        ({"action": "7"}, "action"),
        ({"action": 0}, "action"),
        ({"action": 2**63}, "action"),
        ({"language": "xx"}, "language"),
        ({"language": "EN"}, "language"),
        ({"subject": "Two\nlines"}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": 12}, "subject"),
        ({"body": "   \n\t"}, "body"),
        ({"body": ""}, "body"),
        ({"body": "Nul\x00"}, "body"),
        ({"audience": {"countries": ["ph"]}}, "audience.countries[0]"),
        ({"audience": {"countries": ["XX"]}}, "audience.countries[0]"),
        ({"audience": {"countries": "PH"}}, "audience.countries"),
        ({"audience": {"members_only": "yes"}}, "audience.members_only"),
        ({"audience": {"languages": ["english"]}}, "audience.languages[0]"),
        ({"audience": {"sectors": [" "]}}, "audience.sectors[0]"),
        ({"audience": []}, "audience"),
        ({"versions": [{"language": "tl", "subject": "S"}]}, "versions[0].body"),
        ({"versions": {"tl": {}}}, "versions"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_written(
    action, editor_api, change, field
):
    body = new_alert(action, **change)
    body = {key: value for key, value in body.items() if value is not None}
    response = editor_api.post("/api/v1/alerts/", body, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert all(isinstance(messages, list) for messages in errors.values())
    assert not Alert.objects.exists()
    assert not AuditEntry.objects.filter(action="alert.create").exists()


def test_an_action_that_does_not_exist_is_a_422_naming_it(action, editor_api):
    """Well formed (the schema cannot know which actions exist), so not a 400."""
    response = editor_api.post(
        "/api/v1/alerts/", new_alert(action, action=action.pk + 100), format="json"
    )
    assert response.status_code == 422
    assert response.json() == {"action": [f"There is no action {action.pk + 100}."]}
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("versions", "field"),
    [
        ([{"language": "en", "subject": "S", "body": "B"}], "versions[0].language"),
        (
            [
                {"language": "tl", "subject": "S", "body": "B"},
                {"language": "tl", "subject": "T", "body": "C"},
            ],
            "versions[1].language",
        ),
    ],
)
def test_a_language_given_twice_is_a_422_naming_the_version(
    action, editor_api, versions, field
):
    response = editor_api.post(
        "/api/v1/alerts/", new_alert(action, versions=versions), format="json"
    )
    assert response.status_code == 422
    assert list(response.json()) == [field]
    assert not Alert.objects.exists()


def test_the_schema_patterns_state_the_servers_rule_on_alert_text():
    """A client checking the schema's pattern refuses exactly what the server
    refuses (campaigns.alerts.text_problem)."""

    def python(pattern: str) -> re.Pattern:
        # JSON Schema reads a final $ as the very end, as Python's \Z.
        return re.compile(re.sub(r"\$$", r"\\Z", pattern))

    pieces = ["{", "}", "{{", "}}", "\n", "\r", " ", "\t", "a", "é", "\x00",
              "{organization}", "{date}", "{x}", "time", "}{", "{ }"]  # fmt: skip
    samples = ["Hello", "{organization}", "{{x}}", "{x}", "a { b", "{\n}", "{ab{cd}",
               "{{{date}", "}}}", "{organization}}", "{a\rb}", "   ", ""]  # fmt: skip
    generator = random.Random(20261128)
    samples += [
        "".join(generator.choice(pieces) for _n in range(generator.randint(0, 8)))
        for _sample in range(20_000)
    ]
    for one_line in (True, False):
        pattern = python(placeholder_text_pattern(one_line=one_line))
        for text in samples:
            assert bool(pattern.match(text)) == (
                not text_problem(text, one_line=one_line)
            ), (one_line, text)


# --- The matching table ------------------------------------------------------------


def test_the_matching_table_has_a_row_per_organization_with_its_mission_and_time(
    action, publisher_api
):
    alert = alert_for(action, contacts=8, per_organization=4)
    # Contacts 0-3 are of an organization in Manila, 4-7 in Hong Kong.
    first = Contact.objects.order_by("id").first()
    first.unsubscribed_at = timezone.now()
    first.save()
    response = publisher_api.get(f"/api/v1/alerts/{alert.pk}/recipients/")
    assert response.status_code == 200
    data = response.json()
    assert data["count"] == 2
    manila, hong_kong = sorted(data["results"], key=lambda r: r["organization"]["id"])
    assert manila["organization"]["country"] == "PH"
    assert (manila["contacts"], manila["skipped"]) == (3, 1)
    assert manila["mission"]["name"] == "Embassy of Malaysia in Manila"
    assert manila["mission_abroad"] is False
    assert manila["mission_chosen"] is False
    assert manila["languages"] == ["en"]
    # 10:00-12:00 on 10 December, local to each mission.
    assert (manila["local_date"], manila["starts"], manila["ends"]) == (
        "2026-12-10",
        "10:00",
        "12:00",
    )
    assert manila["time_zone"] == "Asia/Manila"
    assert manila["starts_at"] == "2026-12-10T02:00:00Z"
    assert hong_kong["time_zone"] == "Asia/Hong_Kong"
    assert hong_kong["contacts"] == 4


def test_the_matching_table_shows_a_chosen_mission_and_one_abroad(
    action, publisher_api
):
    alert = alert_for(action, contacts=2, per_organization=1)
    manila_org, hong_kong_org = Organization.objects.order_by("id")
    MissionChoice.objects.create(
        alert=alert,
        organization=manila_org,
        mission=Mission.objects.get(city="London"),
    )
    hong_kong_org.country = "JP"  # no mission of Malaysia in Japan here
    hong_kong_org.save()
    rows = publisher_api.get(f"/api/v1/alerts/{alert.pk}/recipients/").json()
    by_id = {row["organization"]["id"]: row for row in rows["results"]}
    chosen = by_id[manila_org.pk]
    assert chosen["mission"]["city"] == "London"
    assert chosen["mission_chosen"] is True and chosen["mission_abroad"] is True
    assert chosen["time_zone"] == "Europe/London"
    assert chosen["starts_at"] == "2026-12-10T10:00:00Z"
    abroad = by_id[hong_kong_org.pk]
    assert abroad["mission"]["city"] == "Hong Kong"
    assert abroad["mission_abroad"] is True


def test_the_matching_table_never_shows_a_contacts_name_or_address(
    action, publisher_api
):
    alert = alert_for(action, contacts=6)
    content = publisher_api.get(f"/api/v1/alerts/{alert.pk}/recipients/").content
    for number in range(6):
        assert contact_email(number).encode() not in content
    assert b"Contact 1" not in content
    assert b"@" not in content


def test_the_matching_table_takes_as_many_queries_for_600_organizations_as_for_3(
    action, publisher_api
):
    alert = alert_for(action, contacts=3, per_organization=1)
    url = f"/api/v1/alerts/{alert.pk}/recipients/"
    with CaptureQueriesContext(connection) as small:
        assert publisher_api.get(url).status_code == 200
    make_contacts(1800, per_organization=3)
    with CaptureQueriesContext(connection) as large:
        response = publisher_api.get(url + "?page=2")
    assert response.status_code == 200
    assert response.json()["count"] == 603
    assert len(response.json()["results"]) == 20
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 16


def test_a_page_past_the_end_of_the_table_is_a_404(action, publisher_api):
    alert = alert_for(action, contacts=3)
    url = f"/api/v1/alerts/{alert.pk}/recipients/"
    assert publisher_api.get(url + "?page=2").status_code == 404
    assert publisher_api.get(url + "?page=abc").status_code == 404


# --- Test sends --------------------------------------------------------------------


def test_a_test_reaches_the_smtp_server_only_for_the_caller(
    action, editor, editor_api, sink
):
    alert = alert_for(action, contacts=5)
    response = editor_api.post(
        f"/api/v1/alerts/{alert.pk}/test/",
        # Not in the schema, and not obeyed: a test goes to the caller only.
        {"to": "someone-else@example.org"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {"sent_to": "editor@secretariat.example.org"}
    assert [tos for tos, _message in sink.inbox.messages] == [
        ["editor@secretariat.example.org"]
    ]
    message = sink.inbox.messages[0][1]
    assert message["Subject"].startswith("[Test] ")
    assert "Embassy of Malaysia in Manila" in message.get_body(("plain",)).get_content()
    assert not AlertDelivery.objects.exists()
    assert Alert.objects.get().status == Alert.Status.DRAFT
    assert AuditEntry.objects.filter(action="alert.test", actor=editor).exists()


def test_a_test_can_show_the_email_of_a_chosen_contact(
    action, publisher_api, mailoutbox
):
    alert = alert_for(action, contacts=2, per_organization=1)
    hong_kong = Contact.objects.order_by("id")[1]
    response = publisher_api.post(
        f"/api/v1/alerts/{alert.pk}/test/", {"contact": hong_kong.pk}, format="json"
    )
    assert response.status_code == 200
    assert [message.to for message in mailoutbox] == [
        ["publisher@secretariat.example.org"]
    ]
    assert "Hong Kong" in mailoutbox[0].body


def test_a_test_as_a_contact_outside_the_audience_is_a_422(action, publisher_api):
    alert = alert_for(action, contacts=2, per_organization=1, countries=["PH"])
    outside = Contact.objects.exclude(organization__country="PH").first()
    for contact_id in (outside.pk, 10**9):
        response = publisher_api.post(
            f"/api/v1/alerts/{alert.pk}/test/", {"contact": contact_id}, format="json"
        )
        assert response.status_code == 422
        assert "contact" in response.json()


def test_a_test_without_an_address_on_the_account_is_a_409(action, editor, mailoutbox):
    alert = alert_for(action, contacts=2)
    response = client_of(editor).post(
        f"/api/v1/alerts/{alert.pk}/test/", {}, format="json"
    )
    assert response.status_code == 409
    assert "email address" in response.json()["detail"]
    assert mailoutbox == []


# --- Sending -----------------------------------------------------------------------


def test_a_publisher_sends_now_and_the_progress_shows_each_delivery(
    action, editor, publisher_api, mailoutbox
):
    alert = alert_for(action, contacts=6, by=editor)
    unsubscribed = Contact.objects.order_by("id").last()
    unsubscribed.unsubscribed_at = timezone.now()
    unsubscribed.save()
    response = publisher_api.post(f"/api/v1/alerts/{alert.pk}/send/", format="json")
    assert response.status_code == 202, response.json()
    data = response.json()
    assert data["status"] == "sending"
    assert data["frozen_at"] is not None
    assert data["progress"] == {
        "total": 6, "queued": 5, "sending": 0, "sent": 0, "failed": 0,
        "skipped": 1, "cancelled": 0,
    }  # fmt: skip
    assert AuditEntry.objects.filter(action="alert.send", object_id=str(alert.pk))
    # The bulk worker's part, here in the test.
    sending.send_batch(alert_id=alert.pk)
    sending.finish_if_done(alert_id=alert.pk)
    progress = publisher_api.get(f"/api/v1/alerts/{alert.pk}/").json()
    assert progress["status"] == "sent"
    assert progress["progress"]["sent"] == 5
    assert progress["progress"]["skipped"] == 1
    assert sorted(to for message in mailoutbox for to in message.to) == sorted(
        contact_email(n) for n in range(5)
    )
    # The table of a sent alert reads the action as it was frozen.
    table = publisher_api.get(f"/api/v1/alerts/{alert.pk}/recipients/").json()
    assert [
        (row["contacts"], row["skipped"], row["starts"]) for row in table["results"]
    ] == [(5, 1, "10:00")]


def test_sending_twice_is_a_409_and_sends_nothing_more(
    action, editor, publisher_api, mailoutbox
):
    alert = alert_for(action, contacts=4, by=editor)
    url = f"/api/v1/alerts/{alert.pk}/send/"
    assert publisher_api.post(url, format="json").status_code == 202
    sending.send_batch(alert_id=alert.pk)
    sending.finish_if_done(alert_id=alert.pk)
    second = publisher_api.post(url, format="json")
    assert second.status_code == 409
    assert "already sent" in second.json()["detail"]
    assert AlertDelivery.objects.count() == 4
    assert sending.has_due_rows(alert_id=alert.pk) is False
    assert len(mailoutbox) == 4


def test_sending_at_a_moment_schedules_every_delivery_for_it(
    action, editor, publisher_api
):
    alert = alert_for(action, contacts=4, by=editor)
    response = publisher_api.post(
        f"/api/v1/alerts/{alert.pk}/send/",
        {"at": "2026-12-09T09:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    assert response.json()["status"] == "scheduled"
    assert response.json()["send_at"] == "2026-12-09T01:00:00Z"
    moment = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    assert set(AlertDelivery.objects.values_list("send_after", flat=True)) == {moment}
    assert sending.has_due_rows(alert_id=alert.pk) is False


def test_a_moment_already_past_sends_now(action, editor, publisher_api):
    alert = alert_for(action, contacts=2, by=editor)
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    response = publisher_api.post(
        f"/api/v1/alerts/{alert.pk}/send/", {"at": past}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["status"] == "sending"


def test_sending_at_nine_in_each_zone_schedules_each_organization_in_its_own(
    action, editor, publisher_api
):
    alert = alert_for(action, contacts=3, per_organization=1, by=editor)
    response = publisher_api.post(
        f"/api/v1/alerts/{alert.pk}/send/",
        {"local_date": "2026-12-09", "local_time": "09:00"},
        format="json",
    )
    assert response.status_code == 202, response.json()
    data = response.json()
    assert (data["send_on_local_date"], data["send_at_local_time"]) == (
        "2026-12-09",
        "09:00",
    )
    moments = {
        row.organization.time_zone: row.send_after
        for row in AlertDelivery.objects.select_related("organization")
    }
    assert moments == {
        "Asia/Manila": datetime(2026, 12, 9, 1, 0, tzinfo=UTC),
        "Asia/Hong_Kong": datetime(2026, 12, 9, 1, 0, tzinfo=UTC),
        "Europe/London": datetime(2026, 12, 9, 9, 0, tzinfo=UTC),
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"at": "2026-12-09T09:00:00"}, "at"),
        ({"at": "2026-12-09 09:00:00+08:00"}, "at"),
        ({"at": "tomorrow"}, "at"),
        ({"at": 1765270800}, "at"),
        ({"at": "9999-12-31T23:00:00-05:00"}, "at"),
        ({"at": "2026-12-09T09:00:00Z", "local_date": "2026-12-09"}, "at"),
        ({"local_date": "2026-12-09"}, "local_time"),
        ({"local_time": "09:00"}, "local_date"),
        ({"local_date": "2026-02-30", "local_time": "09:00"}, "local_date"),
        ({"local_date": "20261209", "local_time": "09:00"}, "local_date"),
        ({"local_date": "2026-12-09", "local_time": "9:00"}, "local_time"),
        ({"local_date": "2026-12-09", "local_time": "24:00"}, "local_time"),
    ],
)
def test_a_bad_time_to_send_is_a_400_naming_it_and_nothing_is_sent(
    action, editor, publisher_api, body, field
):
    alert = alert_for(action, contacts=2, by=editor)
    response = publisher_api.post(
        f"/api/v1/alerts/{alert.pk}/send/", body, format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert Alert.objects.get().status == Alert.Status.DRAFT
    assert not AlertDelivery.objects.exists()


def test_the_author_may_not_send_their_own_alert_under_review_by_a_second_person(
    action, publisher, publisher_api
):
    configuration = SiteConfiguration.current()
    configuration.review_by_second_person = True
    configuration.save()
    alert = alert_for(action, contacts=2, by=publisher)
    url = f"/api/v1/alerts/{alert.pk}/send/"
    refused = publisher_api.post(url, format="json")
    assert refused.status_code == 403
    assert "second person" in refused.json()["detail"]
    assert not AlertDelivery.objects.exists()
    other = client_of(make_user("second-publisher", groups=["Publishers"]))
    assert other.post(url, format="json").status_code == 202


def test_an_alert_with_nobody_in_its_audience_is_a_409(action, editor, publisher_api):
    alert = alert_for(action, contacts=2, by=editor, countries=["NO"])
    response = publisher_api.post(f"/api/v1/alerts/{alert.pk}/send/", format="json")
    assert response.status_code == 409
    assert "No contact" in response.json()["detail"]
    assert Alert.objects.get().status == Alert.Status.DRAFT


def test_an_alert_written_through_the_api_is_sent_through_it(
    action, editor_api, publisher_api, mailoutbox
):
    make_contacts(3)
    created = editor_api.post("/api/v1/alerts/", new_alert(action), format="json")
    alert_id = created.json()["id"]
    sent = publisher_api.post(f"/api/v1/alerts/{alert_id}/send/", format="json")
    assert sent.status_code == 202
    sending.send_batch(alert_id=alert_id)
    assert len(mailoutbox) == 3
    assert "Dear Migrant Workers Union 0, meet at Embassy of Malaysia in Manila on" in (
        mailoutbox[0].body
    )


# --- The service the admin can share ------------------------------------------------


def test_create_alert_writes_the_draft_its_versions_and_one_audit_entry(action, editor):
    alert = create_alert(
        action=action,
        versions=[
            VersionText(language="en", subject="Day of action", body=BODY),
            VersionText(language="tl", subject="Araw ng pagkilos", body="Sa {date}."),
        ],
        audience=Audience(countries=("ph", "PH"), languages=("TL",)),
        by=editor,
    )
    assert alert.status == Alert.Status.DRAFT
    assert (alert.countries, alert.languages) == (["PH"], ["tl"])
    assert list(alert.versions.values_list("language", "is_original")) == [
        ("en", True),
        ("tl", False),
    ]
    assert AuditEntry.objects.filter(action="alert.create").count() == 1


@pytest.mark.parametrize(
    ("versions", "named"),
    [
        ([], "at least one version"),
        (
            [
                VersionText(language="en", subject="A", body="B"),
                VersionText(language="en", subject="C", body="D"),
            ],
            "two versions in en",
        ),
        ([VersionText(language="en", subject="A\nB", body="C")], "one line"),
        ([VersionText(language="en", subject="A", body="{nope}")], "{nope}"),
        ([VersionText(language="en", subject="A", body=" \n")], "blank"),
    ],
)
def test_create_alert_refuses_bad_text_and_writes_nothing(
    action, editor, versions, named
):
    with pytest.raises(sending.AlertError, match=re.escape(named)):
        create_alert(action=action, versions=versions, audience=Audience(), by=editor)
    assert not Alert.objects.exists()
    assert not AuditEntry.objects.filter(action="alert.create").exists()


def test_create_alert_needs_the_permission_to_write_alerts(action, outsider):
    with pytest.raises(PermissionDenied):
        create_alert(
            action=action,
            versions=[VersionText(language="en", subject="A", body="B")],
            audience=Audience(),
            by=outsider,
        )
    assert not Alert.objects.exists()
