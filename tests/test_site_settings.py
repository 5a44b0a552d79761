"""The one-row site settings: Publishers change them, on the record."""

import pytest

from ima_site.models import AuditEntry, SiteConfiguration

pytestmark = pytest.mark.django_db

CHANGE = "/admin/ima_site/siteconfiguration/1/change/"


def test_the_menu_link_goes_straight_to_the_one_row(client, publisher):
    client.force_login(publisher)
    response = client.get("/admin/ima_site/siteconfiguration/")
    assert response.status_code == 302
    assert response["Location"] == CHANGE
    assert SiteConfiguration.objects.count() == 1


def test_a_publisher_turns_on_review_by_a_second_person_and_it_is_audited(
    client, publisher
):
    client.force_login(publisher)
    client.get("/admin/ima_site/siteconfiguration/")

    response = client.post(CHANGE, {"review_by_second_person": "on", "_save": "1"})

    assert response.status_code == 302
    assert SiteConfiguration.current().review_by_second_person is True
    entry = AuditEntry.objects.get(action="site_settings.change")
    assert entry.actor == publisher
    assert entry.details["changes"] == [
        {"field": "review_by_second_person", "old": False, "new": True}
    ]
    page = client.get("/admin/ima_site/auditentry/").content.decode()
    assert "changed the site settings" in page
    assert "Review by a second person: no → yes" in page


def test_saving_without_a_change_writes_no_entry(client, publisher):
    client.force_login(publisher)
    client.get("/admin/ima_site/siteconfiguration/")
    client.post(CHANGE, {"_save": "1"})
    assert not AuditEntry.objects.filter(action="site_settings.change").exists()


def test_nobody_adds_a_second_row_or_deletes_the_one(client, publisher):
    client.force_login(publisher)
    client.get("/admin/ima_site/siteconfiguration/")
    assert client.get("/admin/ima_site/siteconfiguration/add/").status_code == 403
    assert client.post(f"{CHANGE.replace('change/', 'delete/')}").status_code == 403
    assert SiteConfiguration.objects.count() == 1


def test_an_editor_may_not_see_or_change_the_settings(client, editor):
    SiteConfiguration.current()
    client.force_login(editor)
    assert client.get("/admin/ima_site/siteconfiguration/").status_code == 403
    assert client.get(CHANGE).status_code == 403
    assert client.post(CHANGE, {"review_by_second_person": "on"}).status_code == 403
    assert SiteConfiguration.current().review_by_second_person is False
    assert "siteconfiguration" not in client.get("/admin/").content.decode()


def test_the_settings_history_is_their_audit_log(client, publisher):
    client.force_login(publisher)
    client.get("/admin/ima_site/siteconfiguration/")
    client.post(CHANGE, {"review_by_second_person": "on", "_save": "1"})

    response = client.get(CHANGE.replace("change/", "history/"), follow=True)

    html = response.content.decode()
    assert response.redirect_chain[0][0].startswith("/admin/ima_site/auditentry/?")
    assert "History of “Site settings”" in html
    assert "Review by a second person: no → yes" in html
