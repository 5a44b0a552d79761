"""Organizers' profiles: the admin in their own time zone and language."""

import zoneinfo
from datetime import datetime

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils import timezone, translation

from ima_site.middleware import OrganizerPreferencesMiddleware, is_admin_path
from ima_site.models import OrganizerProfile
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def what_the_view_sees(request):
    return HttpResponse(
        f"{timezone.get_current_timezone_name()} {translation.get_language()}"
    )


def through_middleware(user, path="/admin/"):
    request = RequestFactory().get(path)
    request.user = user

    def resolve_and_view(request):
        # The handler's order: the URL is resolved, then process_view, the view.
        middleware.process_view(request, what_the_view_sees, (), {})
        return what_the_view_sees(request)

    middleware = OrganizerPreferencesMiddleware(resolve_and_view)
    return middleware(request)


def test_admin_pages_run_in_the_profiles_zone_and_language_and_nothing_stays(
    publisher,
):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="Asia/Manila", language="fil"
    )
    before = (timezone.get_current_timezone_name(), translation.get_language())

    response = through_middleware(publisher)

    assert response.content.decode() == "Asia/Manila fil"
    assert response["Content-Language"] == "fil"
    assert (timezone.get_current_timezone_name(), translation.get_language()) == before


def test_the_admin_under_a_language_prefix_is_the_admin_too(publisher):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="Europe/Madrid", language="es"
    )
    assert is_admin_path("/es/admin/statements/")
    assert not is_admin_path("/es/statements/admin-notes/")
    assert through_middleware(publisher, "/fr/admin/").content == b"Europe/Madrid es"


def test_public_pages_keep_the_visitors_language_whatever_the_profile(publisher):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="Asia/Manila", language="es"
    )
    with translation.override("en"):
        response = through_middleware(publisher, "/statements/")
    assert response.content == b"UTC en"


def test_a_user_without_profile_gets_the_sites_zone_and_language(publisher):
    with translation.override("en"):
        assert through_middleware(publisher).content == b"UTC en"


def test_the_desk_is_in_spanish_for_a_spanish_profile(client, publisher):
    OrganizerProfile.objects.create(
        user=publisher, time_zone="America/Mexico_City", language="es"
    )
    client.force_login(publisher)

    page = client.get("/admin/")

    assert page.status_code == 200
    assert page["Content-Language"] == "es"
    html = page.content.decode()
    assert '<html lang="es"' in html
    # Django's own admin strings, translated, and the zone the desk counts in.
    assert "Cerrar sesión" in html
    assert "America/Mexico_City" in html


def test_times_in_the_admin_are_shown_in_the_organizers_zone(client, publisher):
    from tests.factories import make_statement

    OrganizerProfile.objects.create(
        user=publisher, time_zone="Asia/Manila", language="en"
    )
    make_statement(
        slug="later",
        status="scheduled",
        publish_at=datetime(2031, 12, 1, 0, 0, tzinfo=zoneinfo.ZoneInfo("UTC")),
    )
    client.force_login(publisher)

    html = client.get("/admin/").content.decode()

    # 00:00 UTC is 08:00 in Manila.
    assert 'datetime="2031-12-01T08:00:00+08:00"' in html


def test_any_organizer_sets_their_own_profile_without_the_right_to_change_users(
    client, editor
):
    assert not editor.has_perm("auth.change_user")
    client.force_login(editor)
    assert client.get("/admin/my-profile/").status_code == 200

    response = client.post(
        "/admin/my-profile/", {"time_zone": "Asia/Jakarta", "language": "id"}
    )

    profile = OrganizerProfile.objects.get(user=editor)
    assert (profile.time_zone, profile.language) == ("Asia/Jakarta", "id")
    # The next page is already in the new language.
    assert response.status_code == 302
    assert response["Location"] == "/id/admin/my-profile/"
    assert client.get("/admin/")["Content-Language"] == "id"


def test_a_zone_that_does_not_exist_is_named_and_nothing_is_saved(client, editor):
    client.force_login(editor)

    response = client.post(
        "/admin/my-profile/", {"time_zone": "Mars/Olympus_Mons", "language": "es"}
    )

    assert response.status_code == 200
    assert "Mars/Olympus_Mons" in response.content.decode()
    assert not OrganizerProfile.objects.filter(user=editor).exists()


def test_the_profile_page_is_for_organizers_only(client, outsider):
    assert client.get("/admin/my-profile/").status_code == 302
    client.force_login(outsider)
    response = client.get("/admin/my-profile/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_the_header_links_to_my_profile(client, editor):
    client.force_login(editor)
    assert 'href="/admin/my-profile/"' in client.get("/admin/").content.decode()


def test_user_admins_edit_the_profile_inline_on_the_user_page(client, publisher):
    admin_user = get_user_model().objects.create_superuser(
        "root", password="a-long-test-password-1"
    )
    make_user("second-root", staff=True)  # gives the superuser an OTP device too
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=admin_user, name="Phone", confirmed=True)
    client.force_login(admin_user)
    url = f"/admin/auth/user/{publisher.pk}/change/"
    page = client.get(url)
    assert "organizer_profile-0-time_zone" in page.content.decode()

    data = {
        "username": publisher.username,
        "is_active": "on",
        "is_staff": "on",
        "groups": [g.pk for g in publisher.groups.all()],
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "organizer_profile-TOTAL_FORMS": "1",
        "organizer_profile-INITIAL_FORMS": "0",
        "organizer_profile-MIN_NUM_FORMS": "0",
        "organizer_profile-MAX_NUM_FORMS": "1",
        "organizer_profile-0-time_zone": "Africa/Nairobi",
        "organizer_profile-0-language": "fr",
    }
    response = client.post(url, data)

    assert response.status_code == 302, response.content.decode()[:3000]
    profile = OrganizerProfile.objects.get(user=publisher)
    assert zoneinfo.ZoneInfo(profile.time_zone).key == "Africa/Nairobi"
    assert profile.language == "fr"


def test_a_post_without_fields_names_what_is_missing(client, editor):
    client.force_login(editor)

    response = client.post("/admin/my-profile/", {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not OrganizerProfile.objects.filter(user=editor).exists()
