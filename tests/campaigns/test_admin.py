"""The organizers' admin for campaigns, actions, missions and alerts: Editors draft
and preview alerts and test them on themselves; only Publishers send, schedule,
pause, resume and cancel; what the pages show is escaped and bounded."""

from __future__ import annotations

import re
from datetime import date, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import sending
from campaigns.links import read_contact_token
from campaigns.models import (
    Action,
    Alert,
    AlertDelivery,
    AlertVersion,
    Campaign,
    Mission,
    MissionChoice,
    Pledge,
)
from ima_site import audit_text
from ima_site.crypto import encrypt, keyed_hash
from ima_site.models import AuditEntry, SiteConfiguration
from signatories.models import Contact, Organization
from tests.campaigns.conftest import BODY, make_action, make_alert, make_contacts
from tests.factories import make_user

ALERTS = "/admin/campaigns/alert/"


def url(alert, page: str = "change/") -> str:
    return f"{ALERTS}{alert.pk}/{page}"


@pytest.fixture
def staff_without_role(db):
    """Staff with an account on the admin, but neither Editor nor Publisher."""
    return make_user("staff-without-role", groups=[])


@pytest.fixture
def second_publisher(db):
    return make_user("second-publisher", groups=["Publishers"])


@pytest.fixture
def alert(editor):
    """A draft by the editor to 20 contacts of 2 organizations."""
    return make_alert(contacts=20, by=editor)


def version_form(prefix: str = "versions", rows=(), initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "1",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            if value is True:
                value = "on"
            if value is False:
                continue
            data[f"{prefix}-{index}-{key}"] = value
    return data


def alert_form(action, *, rows, initial: int = 0, **fields) -> dict:
    data = {
        "action": str(action.pk),
        "countries": "",
        "languages": "",
        "members_only": "on",
        **version_form(rows=rows, initial=initial),
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def existing_rows(alert) -> list[dict]:
    return [
        {
            "id": str(version.pk),
            "alert": str(alert.pk),
            "language": version.language,
            "is_original": version.is_original,
            "subject": version.subject,
            "body": version.body,
        }
        for version in alert.versions.all()
    ]


# --- drafting -----------------------------------------------------------------------


def test_an_editor_drafts_an_alert_with_its_versions_and_audience(client, editor):
    action = make_action()
    client.force_login(editor)
    response = client.post(
        f"{ALERTS}add/",
        alert_form(
            action,
            countries="ph, HK",
            languages="en, FIL",
            rows=[
                {"language": "en", "is_original": True, "subject": "Act", "body": BODY},
                {"language": "fil", "subject": "Kumilos", "body": "{organization}"},
            ],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    alert = Alert.objects.get()
    assert alert.created_by == editor
    assert alert.status == Alert.Status.DRAFT
    assert alert.countries == ["PH", "HK"]
    assert alert.languages == ["en", "fil"]
    assert sorted(alert.versions.values_list("language", "is_original")) == [
        ("en", True),
        ("fil", False),
    ]


def test_an_unknown_placeholder_is_named_in_the_form_and_nothing_is_saved(
    client, editor
):
    action = make_action()
    client.force_login(editor)
    response = client.post(
        f"{ALERTS}add/",
        alert_form(
            action,
            rows=[
                {
                    "language": "en",
                    "is_original": True,
                    "subject": "Hello {orgnization}",
                    "body": "At {mission_nme} on {date}",
                }
            ],
        ),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Unknown placeholders: {orgnization}" in html
    assert "Unknown placeholders: {mission_nme}" in html
    assert "{mission_name}" in html  # the list of the ones that exist
    assert not Alert.objects.exists()


def test_exactly_one_original_version_is_required(client, editor):
    action = make_action()
    client.force_login(editor)
    response = client.post(
        f"{ALERTS}add/",
        alert_form(
            action,
            rows=[
                {"language": "en", "is_original": True, "subject": "A", "body": "x"},
                {"language": "es", "is_original": True, "subject": "B", "body": "y"},
            ],
        ),
    )
    assert response.status_code == 200
    assert "Mark exactly one language version as the original." in (
        response.content.decode()
    )
    assert not Alert.objects.exists()


def test_a_bad_country_or_language_of_the_audience_is_named(client, editor):
    action = make_action()
    client.force_login(editor)
    response = client.post(
        f"{ALERTS}add/",
        alert_form(
            action,
            countries="PH, XX",
            languages="en, klingon",
            rows=[{"language": "en", "is_original": True, "subject": "A", "body": "x"}],
        ),
    )
    html = response.content.decode()
    assert "Not ISO 3166-1 country codes: XX" in html
    assert "Not language codes: klingon" in html
    assert not Alert.objects.exists()


# --- permissions ----------------------------------------------------------------------

READ_PAGES = ["change/", "recipients/", "preview/", "preview/email/", "progress/"]
SEND_PAGES = ["send/", "schedule/", "schedule-local/"]
STATUS_PAGES = ["pause/", "resume/", "cancel/"]


@pytest.mark.parametrize("page", READ_PAGES + SEND_PAGES)
def test_staff_without_a_role_see_no_alert_page(
    client, staff_without_role, alert, page
):
    client.force_login(staff_without_role)
    assert client.get(url(alert, page)).status_code == 403


@pytest.mark.parametrize("page", ["test/", *SEND_PAGES, *STATUS_PAGES])
def test_staff_without_a_role_cannot_act_on_an_alert(
    client, staff_without_role, alert, page, mailoutbox
):
    client.force_login(staff_without_role)
    assert client.post(url(alert, page), {"at": "2031-01-01T09:00"}).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT
    assert not AlertDelivery.objects.exists()
    assert mailoutbox == []


def test_people_who_are_not_logged_in_are_sent_to_the_login(client, alert):
    for page in READ_PAGES + SEND_PAGES:
        response = client.get(url(alert, page))
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    assert client.post(url(alert, "send/")).status_code == 302
    assert not AlertDelivery.objects.exists()


@pytest.mark.parametrize("page", SEND_PAGES)
def test_editors_may_not_open_the_send_pages(client, editor, alert, page):
    client.force_login(editor)
    assert client.get(url(alert, page)).status_code == 403


@pytest.mark.parametrize("page", SEND_PAGES)
def test_editors_may_not_send_or_schedule(client, editor, alert, page):
    client.force_login(editor)
    data = {"at": "2031-01-01T09:00", "local_date": "2031-01-01", "local_time": "09:00"}
    assert client.post(url(alert, page), data).status_code == 403
    alert.refresh_from_db()
    assert alert.status == Alert.Status.DRAFT
    assert not AlertDelivery.objects.exists()


@pytest.mark.parametrize("page", STATUS_PAGES)
def test_editors_may_not_pause_resume_or_cancel(client, editor, publisher, page):
    alert = make_alert(contacts=5, by=editor)
    sending.start_alert(alert=alert, by=publisher)
    if page == "resume/":
        sending.pause_alert(alert=alert, by=publisher)
    before = Alert.objects.get(pk=alert.pk).status
    client.force_login(editor)
    assert client.post(url(alert, page)).status_code == 403
    assert Alert.objects.get(pk=alert.pk).status == before


def test_an_editor_sees_no_send_buttons_and_is_told_who_sends(client, editor, alert):
    client.force_login(editor)
    html = client.get(url(alert)).content.decode()
    assert 'value="test"' in html
    assert 'value="send"' not in html
    assert 'value="schedule"' not in html
    assert "Only Publishers send alerts" in html


def test_a_publisher_sees_the_send_buttons(client, publisher, alert):
    client.force_login(publisher)
    html = client.get(url(alert)).content.decode()
    for value in ("test", "send", "schedule", "schedule_local"):
        assert f'name="_alert" value="{value}"' in html


def test_the_status_actions_answer_only_posts(client, publisher, alert):
    client.force_login(publisher)
    for page in ["test/", *STATUS_PAGES]:
        assert client.get(url(alert, page)).status_code == 405


# --- the second-person rule -----------------------------------------------------------


@pytest.fixture
def second_person_on(db):
    configuration = SiteConfiguration.current()
    configuration.review_by_second_person = True
    configuration.save()


def test_with_review_by_a_second_person_the_author_cannot_send(
    client, publisher, second_person_on
):
    alert = make_alert(contacts=5, by=publisher)
    client.force_login(publisher)
    change = client.get(url(alert)).content.decode()
    assert 'value="send"' not in change
    assert "Review by a second person is on" in change
    page = client.get(url(alert, "send/")).content.decode()
    assert "Review by a second person is on" in page
    assert 'value="Send now"' not in page
    assert client.post(url(alert, "send/")).status_code == 403
    assert not AlertDelivery.objects.exists()


def test_with_review_by_a_second_person_another_publisher_sends(
    client, publisher, second_publisher, second_person_on
):
    alert = make_alert(contacts=5, by=publisher)
    client.force_login(second_publisher)
    assert 'value="Send now"' in client.get(url(alert, "send/")).content.decode()
    assert client.post(url(alert, "send/")).status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.SENDING


# --- sending ------------------------------------------------------------------------


def test_the_send_confirmation_says_how_many_contacts_and_who_is_left_out(
    client, publisher, alert
):
    contacts = list(Contact.objects.order_by("id"))
    Contact.objects.filter(pk=contacts[0].pk).update(unsubscribed_at=timezone.now())
    Contact.objects.filter(pk__in=[contacts[1].pk, contacts[2].pk]).update(bounces=5)
    client.force_login(publisher)
    html = " ".join(client.get(url(alert, "send/")).content.decode().split())
    assert "17 contacts get this alert, in 2 organizations." in html
    assert "3 contacts are left out: 1 unsubscribed, 2 bouncing" in html
    assert 'value="Send now"' in html
    assert not AlertDelivery.objects.exists()  # asking sends nothing


def test_the_send_confirmation_refuses_unknown_placeholders_before_sending(
    client, publisher, editor
):
    alert = make_alert(contacts=3, by=editor, body="Hello {nobody}")
    client.force_login(publisher)
    html = client.get(url(alert, "send/")).content.decode()
    assert "unknown placeholders {nobody}" in html
    assert 'value="Send now"' not in html


def test_sending_now_writes_one_delivery_per_contact_and_an_audit_entry(
    client, publisher, alert
):
    client.force_login(publisher)
    response = client.post(url(alert, "send/"))
    assert response.status_code == 302
    assert response["Location"] == url(alert)
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SENDING
    assert alert.frozen_content is not None
    assert AlertDelivery.objects.filter(alert=alert).count() == 20
    entry = AuditEntry.objects.get(action="alert.send")
    assert entry.actor == publisher
    assert "sent the alert" in str(audit_text.sentence(entry))
    messages = [str(m) for m in response.wsgi_request._messages]
    assert "Sending to 20 contacts." in messages


def test_the_save_and_send_button_saves_then_asks_for_confirmation(
    client, publisher, alert
):
    client.force_login(publisher)
    response = client.post(
        url(alert),
        alert_form(
            alert.action,
            rows=[{**existing_rows(alert)[0], "subject": "New subject"}],
            initial=1,
            _alert="send",
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == url(alert, "send/")
    assert alert.versions.get().subject == "New subject"
    assert not AlertDelivery.objects.exists()


def test_scheduling_reads_the_time_in_the_organizers_zone(client, publisher, alert):
    client.force_login(publisher)
    response = client.post(url(alert, "schedule/"), {"at": "2031-03-01T09:30"})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SCHEDULED
    zone = timezone.get_current_timezone()
    assert timezone.localtime(alert.send_at, zone).strftime("%Y-%m-%d %H:%M") == (
        "2031-03-01 09:30"
    )
    assert set(AlertDelivery.objects.values_list("send_after", flat=True)) == {
        alert.send_at
    }


def test_scheduling_in_the_past_is_refused_with_the_reason(client, publisher, alert):
    client.force_login(publisher)
    response = client.post(url(alert, "schedule/"), {"at": "2001-03-01T09:30"})
    assert response.status_code == 200
    assert "That time has passed: send now instead." in response.content.decode()
    assert not AlertDelivery.objects.exists()


def test_scheduling_at_a_local_time_sends_at_that_time_in_each_zone(
    client, publisher, alert
):
    client.force_login(publisher)
    response = client.post(
        url(alert, "schedule-local/"),
        {"local_date": "2031-12-09", "local_time": "09:00"},
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.status == Alert.Status.SCHEDULED
    assert alert.send_on_local_date == date(2031, 12, 9)
    assert alert.send_at_local_time == time(9, 0)
    for delivery in AlertDelivery.objects.select_related("organization"):
        local = delivery.send_after.astimezone(
            ZoneInfo(delivery.organization.time_zone)
        )
        assert (local.date(), local.time()) == (date(2031, 12, 9), time(9, 0))


def test_pause_resume_and_cancel_are_audited_in_sentences(client, publisher, alert):
    sending.start_alert(alert=alert, by=publisher)
    client.force_login(publisher)
    assert client.post(url(alert, "pause/")).status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.PAUSED
    assert client.post(url(alert, "resume/")).status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.SENDING
    assert client.post(url(alert, "cancel/")).status_code == 302
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.CANCELLED
    assert set(AlertDelivery.objects.values_list("status", flat=True)) == {
        AlertDelivery.Status.CANCELLED
    }
    sentences = [
        str(audit_text.sentence(entry))
        for entry in AuditEntry.objects.filter(action__startswith="alert.").order_by(
            "id"
        )
    ]
    assert sentences[1:] == [
        "publisher paused the alert “Day of action: 10 December”",
        "publisher resumed the alert “Day of action: 10 December”",
        "publisher cancelled the alert “Day of action: 10 December”",
    ]


def test_a_refused_status_move_says_why(client, publisher, alert):
    client.force_login(publisher)
    response = client.post(url(alert, "pause/"), follow=True)
    assert "it cannot be paused" in response.content.decode()
    assert Alert.objects.get(pk=alert.pk).status == Alert.Status.DRAFT


# --- frozen alerts ----------------------------------------------------------------------


def test_once_sending_started_the_versions_are_read_only(client, publisher, alert):
    sending.start_alert(alert=alert, by=publisher)
    client.force_login(publisher)
    html = client.get(url(alert)).content.decode()
    assert 'name="versions-0-subject"' not in html
    assert "cancel the alert first" in html
    assert f'action="{url(alert, "pause/")}"' in html
    response = client.post(
        url(alert),
        alert_form(
            alert.action,
            rows=[{**existing_rows(alert)[0], "subject": "Changed"}],
            initial=1,
        ),
    )
    assert response.status_code == 403
    assert alert.versions.get().subject == "Day of action: 10 December"


def test_an_edit_after_a_cancel_is_audited_with_old_and_new(client, publisher, alert):
    sending.start_alert(alert=alert, by=publisher)
    sending.cancel_alert(alert=alert, by=publisher)
    client.force_login(publisher)
    response = client.post(
        url(alert),
        alert_form(
            alert.action,
            rows=[{**existing_rows(alert)[0], "subject": "New time: 11 December"}],
            initial=1,
        ),
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="alert.edit_sending")
    assert ("Subject (en)", "Day of action: 10 December", "New time: 11 December") in (
        audit_text.changes(entry)
    )
    assert "after sending had started" in str(audit_text.sentence(entry))


def test_the_resend_confirmation_counts_who_already_got_it(client, publisher, alert):
    sending.start_alert(alert=alert, by=publisher)
    first = list(AlertDelivery.objects.order_by("id")[:4])
    AlertDelivery.objects.filter(pk__in=[d.pk for d in first]).update(
        status=AlertDelivery.Status.SENT
    )
    sending.cancel_alert(alert=alert, by=publisher)
    client.force_login(publisher)
    html = " ".join(client.get(url(alert, "send/")).content.decode().split())
    assert "16 contacts get this alert" in html
    assert "4 contacts already got it and do not get it again." in html


def test_only_drafts_never_sent_can_be_deleted(client, publisher, alert):
    client.force_login(publisher)
    assert client.get(url(alert, "delete/")).status_code == 200
    sending.start_alert(alert=alert, by=publisher)
    sending.cancel_alert(alert=alert, by=publisher)
    assert client.get(url(alert, "delete/")).status_code == 403


# --- the matching table ------------------------------------------------------------------


def test_the_matching_table_shows_each_organization_its_mission_and_local_time(
    client, editor, alert
):
    client.force_login(editor)
    html = " ".join(client.get(url(alert, "recipients/")).content.decode().split())
    assert "2 organizations, 20 contacts to send to." in html
    assert "Migrant Workers Union 0" in html
    assert "Embassy of Malaysia in Manila" in html
    # 10:00 local to the mission, in its zone.
    assert "10:00–12:00" in html
    assert "Asia/Manila" in html


def test_the_matching_table_flags_a_mission_abroad_and_one_missing(client, editor):
    alert = make_alert(contacts=0, by=editor)
    abroad = Organization.objects.create(
        name="Union in Japan", country="JP", city="Tokyo", latitude=35.68,
        longitude=139.69, time_zone="Asia/Tokyo", is_member=True,
    )  # fmt: skip
    nowhere = Organization.objects.create(
        name="Union with no place", country="FR", city="Paris", is_member=True
    )
    for number, organization in enumerate([abroad, nowhere]):
        Contact.objects.create(
            organization=organization,
            email_hash=keyed_hash("contact", f"x{number}@example.org"),
            email_encrypted=encrypt(f"x{number}@example.org"),
        )
    client.force_login(editor)
    html = client.get(url(alert, "recipients/")).content.decode()
    row = html[
        html.index("Union in Japan") : html.index("</tr>", html.index("Union in Japan"))
    ]
    assert "Hong Kong" in row and "abroad" in row
    row = html[html.index("Union with no place") :]
    assert "no mission" in row[: row.index("</tr>")]
    only = client.get(url(alert, "recipients/") + "?show=none").content.decode()
    assert "Union with no place" in only and "Union in Japan" not in only


def test_the_matching_table_runs_as_many_queries_for_300_organizations_as_for_3(
    client, editor
):
    alert = make_alert(contacts=0, by=editor)
    make_contacts(3, per_organization=1)
    client.force_login(editor)
    page = url(alert, "recipients/")
    client.get(page)  # sessions and permissions cached alike in both runs
    with CaptureQueriesContext(connection) as few:
        assert client.get(page).status_code == 200
    make_contacts(600, per_organization=2)
    with CaptureQueriesContext(connection) as many:
        response = client.get(page)
    assert response.status_code == 200
    assert "303 organizations" in response.content.decode()
    assert len(many) == len(few), [q["sql"][:120] for q in many.captured_queries]


def test_the_matching_table_is_paged(client, editor):
    alert = make_alert(contacts=0, by=editor)
    make_contacts(120, per_organization=1)
    client.force_login(editor)
    first = client.get(url(alert, "recipients/")).content.decode()
    assert "Page 1 of 3" in first
    third = client.get(url(alert, "recipients/") + "?page=3").content.decode()
    assert third.count('<tr id="organization-') == 20


def test_an_editor_chooses_another_mission_for_an_organization(client, editor, alert):
    organization = Organization.objects.order_by("id").first()
    london = Mission.objects.get(city="London")
    client.force_login(editor)
    choose = url(alert, f"recipients/{organization.pk}/mission/")
    page = client.get(choose).content.decode()
    assert "The nearest mission is Embassy of Malaysia in Manila" in page
    response = client.post(choose, {"mission": str(london.pk)})
    assert response.status_code == 302
    choice = MissionChoice.objects.get(alert=alert, organization=organization)
    assert choice.mission == london
    entry = AuditEntry.objects.get(action="alert.choose_mission")
    assert audit_text.changes(entry) == [
        (
            f"Mission of {organization.name}",
            "the nearest",
            "Embassy of Malaysia in London",
        )
    ]
    html = client.get(url(alert, "recipients/")).content.decode()
    row = html[html.index(f'id="organization-{organization.pk}"') :]
    row = row[: row.index("</tr>")]
    assert (
        "Embassy of Malaysia in London" in row and "chosen" in row and "abroad" in row
    )
    # Back to the nearest.
    client.post(choose, {"mission": ""})
    assert not MissionChoice.objects.exists()


def test_a_mission_of_another_country_cannot_be_chosen(client, editor, alert):
    other = Mission.objects.create(
        represented_country="SG", host_country="PH", city="Manila",
        kind=Mission.Kind.EMBASSY, name="Embassy of Singapore", time_zone="Asia/Manila",
    )  # fmt: skip
    organization = Organization.objects.order_by("id").first()
    client.force_login(editor)
    response = client.post(
        url(alert, f"recipients/{organization.pk}/mission/"), {"mission": str(other.pk)}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not MissionChoice.objects.exists()


def test_missions_are_chosen_only_by_organizers_and_only_before_sending(
    client, staff_without_role, editor, publisher, alert
):
    organization = Organization.objects.order_by("id").first()
    choose = url(alert, f"recipients/{organization.pk}/mission/")
    london = Mission.objects.get(city="London")
    client.force_login(staff_without_role)
    assert client.post(choose, {"mission": str(london.pk)}).status_code == 403
    sending.start_alert(alert=alert, by=publisher)
    client.force_login(editor)
    response = client.post(choose, {"mission": str(london.pk)})
    assert response.status_code == 302
    assert not MissionChoice.objects.exists()
    assert (
        "Choose the mission"
        not in client.get(url(alert, "recipients/")).content.decode()
    )


# --- preview and test ---------------------------------------------------------------------

HOSTILE_NAME = '<script>alert("org")</script> Union'
HOSTILE_BODY = (
    "Hello {organization}\n\n<img src=x onerror=alert(1)>\n\n"
    '<a href="javascript:alert(2)">click</a>'
)


@pytest.fixture
def hostile_alert(editor):
    alert = make_alert(contacts=2, by=editor, body=HOSTILE_BODY)
    Organization.objects.update(name=HOSTILE_NAME)
    AlertVersion.objects.filter(alert=alert).update(subject='<b>Act</b> "now"')
    return alert


def test_the_preview_shows_hostile_names_and_text_as_text(
    client, editor, hostile_alert
):
    client.force_login(editor)
    html = client.get(url(hostile_alert, "preview/")).content.decode()
    assert HOSTILE_NAME not in html
    assert "&lt;script&gt;alert(&quot;org&quot;)&lt;/script&gt; Union" in html
    assert "<b>Act</b>" not in html
    assert "&lt;b&gt;Act&lt;/b&gt;" in html
    assert 'sandbox=""' in html
    email = client.get(url(hostile_alert, "preview/email/"))
    body = email.content.decode()
    assert "<script>" not in body
    assert "onerror" not in body
    assert "javascript:" not in body
    policy = email["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "script-src" not in policy
    assert email["X-Frame-Options"] == "SAMEORIGIN"


def test_the_preview_links_open_nothing_and_write_nothing(client, editor, alert):
    client.force_login(editor)
    contact = Contact.objects.order_by("id").first()
    assert contact.link_nonce == ""
    body = client.get(url(alert, "preview/email/") + f"?contact={contact.pk}")
    links = re.findall(
        r'/c/(pledge|details|unsubscribe)/([^/"]+)/', body.content.decode()
    )
    assert {purpose for purpose, _token in links} == {
        "pledge",
        "details",
        "unsubscribe",
    }
    for purpose, token in links:
        assert read_contact_token(token, purpose) is None
    contact.refresh_from_db()
    assert contact.link_nonce == ""


def test_the_preview_finds_an_organization_and_shows_its_contacts(
    client, editor, alert
):
    client.force_login(editor)
    html = client.get(url(alert, "preview/") + "?q=union 1").content.decode()
    contact = Contact.objects.filter(
        organization__name="Migrant Workers Union 1"
    ).first()
    assert f'href="?contact={contact.pk}"' in html
    shown = client.get(
        url(alert, "preview/") + f"?contact={contact.pk}"
    ).content.decode()
    assert "As sent to a contact of Migrant Workers Union 1" in shown
    assert "Embassy of Malaysia in Hong Kong" in shown
    assert "action.ics" in shown


def test_the_preview_names_an_unknown_placeholder_instead_of_failing(client, editor):
    alert = make_alert(contacts=2, by=editor, body="Hi {nobody}")
    client.force_login(editor)
    response = client.get(url(alert, "preview/"))
    assert response.status_code == 200
    assert "{nobody}" in response.content.decode()


def test_an_editor_sends_a_test_to_their_own_address(client, editor, alert, mailoutbox):
    editor.email = "editor@secretariat.example.org"
    editor.save()
    client.force_login(editor)
    contact = Contact.objects.order_by("-id").first()
    response = client.post(
        url(alert, "test/"), {"contact": str(contact.pk), "back": "preview"}
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"preview/?contact={contact.pk}")
    assert [message.to for message in mailoutbox] == [
        ["editor@secretariat.example.org"]
    ]
    assert mailoutbox[0].subject.startswith("[Test]")
    assert AuditEntry.objects.get(action="alert.test").actor == editor
    assert not AlertDelivery.objects.exists()


def test_a_test_to_an_organizer_without_an_address_says_so(
    client, editor, alert, mailoutbox
):
    client.force_login(editor)
    response = client.post(url(alert, "test/"), follow=True)
    assert "Your account has no email address" in response.content.decode()
    assert mailoutbox == []


# --- progress ------------------------------------------------------------------------------


def test_the_progress_counts_refresh_from_json_and_show_without_script(
    client, editor, publisher, alert
):
    sending.start_alert(alert=alert, by=publisher)
    ids = list(AlertDelivery.objects.order_by("id").values_list("id", flat=True))
    AlertDelivery.objects.filter(pk__in=ids[:5]).update(
        status=AlertDelivery.Status.SENT
    )
    AlertDelivery.objects.filter(pk=ids[5]).update(status=AlertDelivery.Status.FAILED)
    client.force_login(editor)
    progress = client.get(url(alert, "progress/")).json()
    assert progress["sent"] == 5
    assert progress["failed"] == 1
    assert progress["total"] == 20
    assert progress["waiting"] == 14
    assert progress["status"] == "sending"
    html = client.get(url(alert)).content.decode()
    assert 'data-progress="sent">5<' in html
    assert 'data-progress="total">20<' in html
    assert "js/admin-alerts.js" in html


# --- the desk ----------------------------------------------------------------------------


def section(html: str, name: str) -> str:
    start = html.index(f'id="desk-{name}"')
    return html[start : html.index("</section>", start)]


def test_the_desk_shows_alerts_going_out_scheduled_and_reports_waiting(
    client, publisher, editor
):
    going = make_alert(contacts=4, by=editor)
    sending.start_alert(alert=going, by=publisher)
    AlertDelivery.objects.filter(
        pk=AlertDelivery.objects.order_by("id").first().pk
    ).update(status=AlertDelivery.Status.SENT)
    later = Alert.objects.create(action=going.action, created_by=editor)
    AlertVersion.objects.create(
        alert=later, language="en", is_original=True, subject="Reminder", body="x"
    )
    sending.start_alert(
        alert=later, by=publisher, local_date=date(2031, 1, 5), local_time=time(9, 0)
    )
    Pledge.objects.create(
        action=going.action,
        organization=Organization.objects.first(),
        status=Pledge.Status.HELD,
        reported_at=timezone.now(),
    )
    client.force_login(publisher)
    html = client.get("/admin/").content.decode()
    assert "1 of 4 sent" in section(html, "alerts_sending")
    assert "Reminder" in section(html, "alerts_scheduled")
    assert "09:00 on" in section(html, "alerts_scheduled")
    assert "Migrant Workers Union 0" in section(html, "reports_waiting")
    client.force_login(editor)
    html = client.get("/admin/").content.decode()
    assert 'id="desk-alerts_sending"' in html
    assert 'id="desk-reports_waiting"' not in html


def test_the_alert_panels_cost_the_same_queries_for_many_alerts(client, publisher):
    action = make_action()

    def going(count: int) -> None:
        for _n in range(count):
            alert = make_alert(contacts=0, action=action, by=publisher)
            Alert.objects.filter(pk=alert.pk).update(status=Alert.Status.SENDING)

    going(11)
    client.force_login(publisher)
    client.get("/admin/")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/admin/").status_code == 200
    going(15)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/admin/").content.decode()
    assert 'Alerts going out <span class="desk-total">(26)</span>' in html
    assert len(many) == len(few)


# --- campaigns, actions, missions, deliveries ------------------------------------------------


def test_a_publisher_adds_a_campaign_with_demands_one_per_line(client, publisher):
    client.force_login(publisher)
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "title": "Stop Ops Mega 3.0",
            "slug": "stop-ops-mega",
            "status": "draft",
            "language": "en",
            "target_country": "my",
            "demands": "Stop the arrests, now\nRelease the detained",
            "starts_on": "2026-07-01",
            "ends_on": "2026-06-01",
            **version_form(prefix="timeline", rows=[]),
            **version_form(prefix="actions", rows=[]),
        },
    )
    assert response.status_code == 200
    assert "The campaign cannot end before it starts." in response.content.decode()
    response = client.post(
        "/admin/campaigns/campaign/add/",
        {
            "title": "Stop Ops Mega 3.0",
            "slug": "stop-ops-mega",
            "status": "draft",
            "language": "en",
            "target_country": "my",
            "demands": "Stop the arrests, now\nRelease the detained",
            **version_form(prefix="timeline", rows=[]),
            **version_form(prefix="actions", rows=[]),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    campaign = Campaign.objects.get()
    assert campaign.demands == ["Stop the arrests, now", "Release the detained"]
    assert campaign.target_country == "MY"
    assert campaign.created_by == publisher


def test_editors_read_campaigns_actions_and_missions_but_do_not_change_them(
    client, editor
):
    action = make_action()
    mission = Mission.objects.first()
    client.force_login(editor)
    for path in (
        f"/admin/campaigns/campaign/{action.campaign_id}/change/",
        f"/admin/campaigns/action/{action.pk}/change/",
        f"/admin/campaigns/mission/{mission.pk}/change/",
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert 'name="_save"' not in response.content.decode()
    assert client.get("/admin/campaigns/campaign/add/").status_code == 403
    assert (
        client.post(
            f"/admin/campaigns/mission/{mission.pk}/change/", {"name": "x"}
        ).status_code
        == 403
    )


def action_data(campaign, **fields) -> dict:
    data = {
        "campaign": str(campaign.pk),
        "title": "Hand in the letter",
        "slug": "hand-in",
        "kind": "hand_in_letter",
        "date": "2026-12-10",
        "starts": "10:00",
        "ends": "12:00",
        "where": "nearest_mission",
    }
    data.update(fields)
    return data


def test_an_action_at_a_named_place_needs_its_place_named_field_by_field(
    client, publisher
):
    campaign = make_action().campaign
    client.force_login(publisher)
    response = client.post(
        "/admin/campaigns/action/add/",
        action_data(campaign, where="place", place_name="Plaza Miranda", ends="09:00"),
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The action must end after it starts." in html
    assert html.count("Needed for an action at one named place.") == 3
    assert not Action.objects.filter(slug="hand-in").exists()
    response = client.post(
        "/admin/campaigns/action/add/",
        action_data(
            campaign, where="place", place_name="Plaza Miranda", place_city="Manila",
            place_country="ph", place_time_zone="Asia/Manila",
            place_latitude="14.6", place_longitude="",
        ),
    )  # fmt: skip
    assert "Give both the latitude and the longitude, or none." in (
        response.content.decode()
    )
    response = client.post(
        "/admin/campaigns/action/add/",
        action_data(
            campaign, where="place", place_name="Plaza Miranda", place_city="Manila",
            place_country="ph", place_time_zone="Asia/Manila",
        ),
    )  # fmt: skip
    assert response.status_code == 302
    assert Action.objects.get(slug="hand-in").place_country == "PH"


def test_the_mission_list_filters_by_country_and_kind_and_searches(client, editor):
    make_action()
    client.force_login(editor)
    html = client.get(
        "/admin/campaigns/mission/?host_country=GB&kind__exact=embassy"
    ).content.decode()
    assert "Embassy of Malaysia in London" in html
    assert "Embassy of Malaysia in Manila" not in html
    html = client.get("/admin/campaigns/mission/?q=hong").content.decode()
    assert "Embassy of Malaysia in Hong Kong" in html
    assert "Embassy of Malaysia in London" not in html


def test_a_mission_with_a_bad_zone_or_coordinates_is_refused_in_the_form(
    client, publisher
):
    client.force_login(publisher)
    response = client.post(
        "/admin/campaigns/mission/add/",
        {
            "represented_country": "MY", "host_country": "XX", "city": "Somewhere",
            "kind": "embassy", "name": "Embassy", "latitude": "95",
            "longitude": "10", "time_zone": "Mars/Olympus",
        },
    )  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    assert "XX is not an ISO 3166-1 country code" in html
    assert "A latitude is between -90 and 90." in html
    assert "Select a valid choice" in html
    assert not Mission.objects.exists()


def test_alert_deliveries_are_read_only_and_listed_by_alert(client, publisher, alert):
    sending.start_alert(alert=alert, by=publisher)
    delivery = AlertDelivery.objects.first()
    client.force_login(publisher)
    listing = client.get(f"/admin/campaigns/alertdelivery/?alert__id__exact={alert.pk}")
    assert listing.status_code == 200
    assert client.get("/admin/campaigns/alertdelivery/add/").status_code == 403
    page = client.get(f"/admin/campaigns/alertdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.post(
            f"/admin/campaigns/alertdelivery/{delivery.pk}/change/", {"status": "sent"}
        ).status_code
        == 403
    )
