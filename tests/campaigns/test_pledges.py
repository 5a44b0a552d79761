"""Members' personal links: pledges, reports with safe photos, details, unsubscribe."""

import io
import re
import struct
import threading
import zlib
from datetime import date, time, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from PIL import ExifTags, Image, PngImagePlugin

from campaigns import links, pledges
from campaigns.models import (
    Action,
    Alert,
    AlertDelivery,
    Campaign,
    Mission,
    Pledge,
    ReportPhoto,
)
from campaigns.photos import clean_photo
from ima_site.crypto import encrypt
from ima_site.models import AuditEntry
from signatories.models import Contact, Organization
from signatories.services.contacts import contact_email, contact_email_hash

# --- Fixtures ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def publishers_approve_reports(db):
    # The roles the lead adds to ima_site/roles.py (see the report); granted here
    # so the tests do not depend on the order of the changes.
    def grant():
        group, _ = Group.objects.get_or_create(name="Publishers")
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="campaigns",
                codename__in=["view_pledge", "change_pledge"],
            )
        )

    return grant


def make_contact(organization, number: int, **fields) -> Contact:
    email = f"person{number}@members.example.org"
    fields.setdefault("name", f"Person {number}")
    return Contact.objects.create(
        organization=organization,
        email_hash=contact_email_hash(email),
        email_encrypted=encrypt(email),
        **fields,
    )


@pytest.fixture
def mission(db):
    return Mission.objects.create(
        represented_country="MY",
        host_country="PH",
        city="Manila",
        kind=Mission.Kind.EMBASSY,
        name="Embassy of Malaysia in Manila",
        address="330 Sen. Gil Puyat Avenue",
        latitude=14.5547,
        longitude=121.0244,
        time_zone="Asia/Manila",
    )


@pytest.fixture
def action(db, mission):
    campaign = Campaign.objects.create(
        slug="stop-ops-mega",
        title="Stop Ops Mega 3.0",
        target_country="MY",
        status=Campaign.Status.ACTIVE,
    )
    return Action.objects.create(
        campaign=campaign,
        slug="day-of-action",
        kind=Action.Kind.PROTEST,
        title="Day of action at the embassies",
        date=timezone.localdate() + timedelta(days=20),
        starts=time(10, 0),
        ends=time(12, 0),
        instructions="Bring banners. <script>alert(1)</script>",
    )


@pytest.fixture
def organization(db):
    return Organization.objects.create(
        name="Migrante <b>Manila</b>",
        country="PH",
        city="Manila",
        is_member=True,
        latitude=14.6,
        longitude=121.0,
        time_zone="Asia/Manila",
    )


@pytest.fixture
def contact(organization):
    return make_contact(organization, 1)


@pytest.fixture
def colleague(organization):
    return make_contact(organization, 2)


@pytest.fixture
def stranger(db):
    other = Organization.objects.create(
        name="Other union", country="HK", is_member=True
    )
    return make_contact(other, 3)


def token_of(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[1]


def path_of(url: str) -> str:
    from django.conf import settings

    assert url.startswith(settings.SITE_URL + "/")
    return url[len(settings.SITE_URL) :]


def with_delivery(action, contact, mission) -> AlertDelivery:
    alert = Alert.objects.create(action=action)
    return AlertDelivery.objects.create(
        alert=alert,
        contact=contact,
        organization=contact.organization,
        mission=mission,
        language="en",
    )


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 20), "red")
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # turned: the phone was held upright
    exif[ExifTags.Base.Make] = "SecretCam"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update(
        {1: "N", 2: (14.0, 35.0, 58.0), 3: "E", 4: (120.0, 59.0, 3.0)}
    )
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        exif=exif,
        xmp=b"<x:xmpmeta>Taliba Street</x:xmpmeta>",
        comment="Taken by Maria",
        icc_profile=b"\0" * 128,
    )
    return out.getvalue()


def png_with_text() -> bytes:
    image = Image.new("RGBA", (30, 30), (0, 128, 0, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Maria Santos")
    info.add_text("Location", "14.59N 120.98E")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG file whose header declares a huge image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def small_jpeg(color: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(out, "JPEG")
    return out.getvalue()


def noisy_jpeg() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((200, 200), 50).convert("RGB").save(out, "JPEG")
    return out.getvalue()


# --- Links -------------------------------------------------------------------------


def test_a_pledge_link_is_absolute_and_names_its_contact_and_action(contact, action):
    url = links.contact_url(contact, "pledge", action)

    found = links.read_contact_token(token_of(url), "pledge")

    assert url.startswith("http")
    assert found == (contact, action)


def test_links_open_in_the_contacts_language_where_the_site_has_it(contact, action):
    contact.language = "es"
    assert "/es/c/pledge/" in links.contact_url(contact, "pledge", action)
    contact.language = "ceb"  # a content language, not one of the interface's
    assert "/c/pledge/" in links.contact_url(contact, "pledge", action)
    assert "/ceb/" not in links.contact_url(contact, "pledge", action)


def test_a_link_for_another_purpose_is_refused(contact, action):
    token = token_of(links.contact_url(contact, "pledge", action))

    for purpose in ("details", "unsubscribe", "unsubscribe_one_click"):
        assert links.read_contact_token(token, purpose) is None
    unsubscribe = token_of(links.contact_url(contact, "unsubscribe"))
    assert links.read_contact_token(unsubscribe, "pledge") is None
    assert links.read_contact_token(unsubscribe, "unsubscribe_one_click") is None


def test_a_link_cannot_be_altered_to_reach_another_contact_or_action(
    contact, stranger, action
):
    token = token_of(links.contact_url(contact, "pledge", action))

    for position in (10, len(token) // 2, len(token) - 3):
        flipped = "A" if token[position] != "A" else "B"
        altered = token[:position] + flipped + token[position + 1 :]
        assert links.read_contact_token(altered, "pledge") is None
    assert links.read_contact_token("not-a-token", "pledge") is None
    # Another contact's own link gives that contact, never this one.
    other = token_of(links.contact_url(stranger, "pledge", action))
    assert links.read_contact_token(other, "pledge") == (stranger, action)


def test_a_link_to_a_deleted_action_or_contact_is_refused(contact, action):
    token = token_of(links.contact_url(contact, "pledge", action))
    details = token_of(links.contact_url(contact, "details"))

    contact.delete()

    assert links.read_contact_token(token, "pledge") is None
    assert links.read_contact_token(details, "details") is None


def test_links_expire_after_their_lifetime(contact, action):
    details = token_of(links.contact_url(contact, "details"))
    pledge = token_of(links.contact_url(contact, "pledge", action))
    now = timezone.now()

    assert links.read_contact_token(details, "details", now=now) is not None
    assert links.read_contact_token(details, "details", now=now + timedelta(days=364))
    assert (
        links.read_contact_token(details, "details", now=now + timedelta(days=366))
        is None
    )
    # A pledge link works until REPORT_WEEKS after the action, then stops.
    in_time = links.pledge_open_until(action) - timedelta(hours=1)
    assert links.read_contact_token(pledge, "pledge", now=in_time) is not None
    too_late = links.pledge_open_until(action) + timedelta(minutes=1)
    assert links.read_contact_token(pledge, "pledge", now=too_late) is None


def test_rotating_the_nonce_revokes_every_link_mailed_so_far(contact, action):
    old = [
        (token_of(links.contact_url(contact, "pledge", action)), "pledge"),
        (token_of(links.contact_url(contact, "details")), "details"),
        (token_of(links.contact_url(contact, "unsubscribe")), "unsubscribe"),
    ]

    links.rotate_links(contact)

    for token, purpose in old:
        assert links.read_contact_token(token, purpose) is None
    fresh = token_of(links.contact_url(contact, "details"))
    assert links.read_contact_token(fresh, "details") is not None


def test_links_keep_working_after_the_secret_key_is_rotated(settings, contact):
    token = token_of(links.contact_url(contact, "details"))

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40

    assert links.read_contact_token(token, "details") is not None


def test_the_nonce_is_made_once_even_for_two_renderings(contact):
    first = links.nonce_of(contact)
    again = Contact.objects.get(pk=contact.pk)
    assert links.nonce_of(again) == first


# --- Pledge page and pledging ------------------------------------------------------


def test_the_pledge_page_names_the_organization_its_mission_and_the_local_time(
    client, contact, action, mission
):
    with_delivery(action, contact, mission)

    response = client.get(path_of(links.contact_url(contact, "pledge", action)))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Migrante &lt;b&gt;Manila&lt;/b&gt;" in page  # escaped, never markup
    assert "Embassy of Malaysia in Manila" in page
    assert "330 Sen. Gil Puyat Avenue" in page
    assert "10:00–12:00" in page and "Asia/Manila" in page
    assert "<script>alert(1)</script>" not in page
    assert "noindex" in page
    assert (
        "no-cache" in response["Cache-Control"]
        or "no-store" in (response["Cache-Control"])
    )
    assert "We will act" in page


def test_an_invalid_link_shows_a_page_that_says_so(client):
    response = client.get("/c/pledge/garbage/")
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()


def test_pledging_saves_and_shows_the_pledge(client, contact, action, mission):
    with_delivery(action, contact, mission)
    path = path_of(links.contact_url(contact, "pledge", action))

    response = client.post(path, {"expected_people": "40"})

    assert response.status_code == 302
    pledge = Pledge.objects.get()
    assert (pledge.organization, pledge.action, pledge.mission) == (
        contact.organization,
        action,
        mission,
    )
    assert pledge.expected_people == 40
    assert pledge.status == Pledge.Status.PLEDGED
    page = client.get(response["Location"]).content.decode()
    assert "your pledge is saved" in page
    assert "about 40 people" in page
    entry = AuditEntry.objects.get(action="pledge.pledge")
    assert "Person 1" not in str(entry.details) + entry.object_repr


def test_a_wrong_number_of_people_is_refused_with_a_message(client, contact, action):
    path = path_of(links.contact_url(contact, "pledge", action))

    response = client.post(path, {"expected_people": "-5"})

    assert response.status_code == 400
    assert "greater than or equal to 0" in response.content.decode()
    assert not Pledge.objects.exists()


def test_two_contacts_of_one_organization_share_one_pledge(contact, colleague, action):
    pledges.pledge_action(contact=contact, action=action, expected_people=10)
    pledges.pledge_action(contact=colleague, action=action, expected_people=25)

    pledge = Pledge.objects.get()
    assert pledge.expected_people == 25
    assert pledge.updated_by == colleague


@pytest.mark.django_db(transaction=True)
def test_two_contacts_pledging_at_the_same_moment_make_one_row(
    contact, colleague, action
):
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pledge_as(who):
        try:
            barrier.wait(timeout=5)
            pledges.pledge_action(contact=who, action=action, expected_people=5)
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=pledge_as, args=(who,)) for who in (contact, colleague)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert errors == []
    assert Pledge.objects.count() == 1


def test_the_pledge_page_of_another_organization_shows_nothing_of_this_one(
    client, contact, stranger, action
):
    pledges.pledge_action(contact=contact, action=action, expected_people=4321)

    page = client.get(
        path_of(links.contact_url(stranger, "pledge", action))
    ).content.decode()

    assert "4321" not in page
    assert "Migrante" not in page


# --- Reports -----------------------------------------------------------------------


def report_path(contact, action) -> str:
    token = token_of(links.contact_url(contact, "pledge", action))
    return reverse("campaigns:contact_report", args=[token])


def test_a_report_is_saved_and_waits_for_approval(client, contact, action):
    response = client.post(
        report_path(contact, action),
        {
            "status": "held",
            "people": "40",
            "account": "We stood for two hours. <b>Loud</b>.",
            "press_links": "https://news.example.org/a\nhttp://radio.example.org/b",
        },
    )

    assert response.status_code == 302
    pledge = Pledge.objects.get()
    assert pledge.status == Pledge.Status.HELD
    assert pledge.people == 40
    assert pledge.account == "We stood for two hours. <b>Loud</b>."
    assert pledge.press_links == [
        "https://news.example.org/a",
        "http://radio.example.org/b",
    ]
    assert pledge.reported_at is not None
    assert pledge.approved_at is None
    page = client.get(response["Location"]).content.decode()
    assert "waits for the secretariat" in page
    assert "&lt;b&gt;Loud&lt;/b&gt;" in page


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://files.example.org/x",
        "news.example.org/no-scheme",
        "https://" + "a" * 500 + ".example.org",
    ],
)
def test_press_links_must_be_web_addresses(client, contact, action, link):
    response = client.post(
        report_path(contact, action),
        {"status": "held", "people": "3", "press_links": link},
    )

    assert response.status_code == 400
    assert "is not a web address starting with http" in response.content.decode()
    assert not Pledge.objects.exists()


def test_at_most_five_press_links(contact, action):
    with pytest.raises(ValidationError) as refused:
        pledges.report_action(
            contact=contact,
            action=action,
            status="held",
            people=3,
            account="",
            press_links=[f"https://example.org/{i}" for i in range(6)],
        )
    assert "at most 5 press links" in str(refused.value)


def test_a_report_needs_held_or_cancelled_and_a_short_account(contact, action):
    with pytest.raises(ValidationError, match="held or cancelled"):
        pledges.report_action(
            contact=contact, action=action, status="pledged", people=1, account=""
        )
    with pytest.raises(ValidationError, match="under 2,000 characters"):
        pledges.report_action(
            contact=contact, action=action, status="held", people=1, account="x" * 2001
        )
    assert not Pledge.objects.exists()


def test_changing_an_approved_report_takes_it_off_the_public_pages(
    contact, action, publisher, publishers_approve_reports
):
    publishers_approve_reports()
    pledge = pledges.report_action(
        contact=contact, action=action, status="held", people=5, account="Fine."
    )
    pledges.approve_report(
        pledge=pledge, by=publisher, seen=pledges.report_version(pledge)
    )

    pledges.report_action(
        contact=contact, action=action, status="held", people=5, account="Changed."
    )

    assert Pledge.objects.get().approved_at is None


# --- Photos ------------------------------------------------------------------------


def test_a_photo_with_gps_comes_out_without_any_metadata_and_upright():
    clean = clean_photo(upload(jpeg_with_gps()))

    back = Image.open(io.BytesIO(clean.data))
    assert back.format == "JPEG"
    assert len(back.getexif()) == 0
    assert not back.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "xmp", "comment", "icc_profile"):
        assert key not in back.info
    for secret in (b"SecretCam", b"Taliba", b"Maria", b"GPS"):
        assert secret not in clean.data
    # The orientation was applied before it was dropped: 40x20 turned is 20x40.
    assert (back.width, back.height) == (20, 40) == (clean.width, clean.height)


def test_a_png_with_text_chunks_comes_out_as_a_bare_jpeg():
    clean = clean_photo(upload(png_with_text(), "banner.png"))

    back = Image.open(io.BytesIO(clean.data))
    assert back.format == "JPEG"
    assert back.mode == "RGB"
    assert b"Maria" not in clean.data and b"120.98" not in clean.data
    assert set(back.info) <= {
        "jfif",
        "jfif_version",
        "jfif_unit",
        "jfif_density",
        "dpi",
    }


def test_a_big_photo_is_shrunk_to_2000_pixels():
    out = io.BytesIO()
    Image.new("RGB", (3000, 1500), "white").save(out, "PNG")

    clean = clean_photo(upload(out.getvalue(), "wide.png"))

    assert (clean.width, clean.height) == (2000, 1000)


def test_a_webp_is_accepted():
    out = io.BytesIO()
    Image.new("RGB", (10, 10), "green").save(out, "WEBP")

    assert clean_photo(upload(out.getvalue(), "x.webp")).width == 10


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.4 not a photo at all", "poster.jpg", "is not a JPEG, PNG or WebP"),
        (
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
            "animated.gif",
            "is not a JPEG, PNG or WebP",
        ),
        (png_declaring(100_000, 100_000), "bomb.png", "over 40 megapixels"),
        (png_declaring(8000, 6000), "big.png", "over 40 megapixels"),
        (noisy_jpeg()[:-4000], "cut.jpg", "damaged"),
    ],
)
def test_a_file_that_is_not_a_safe_image_is_refused_by_name(data, name, message):
    with pytest.raises(ValidationError) as refused:
        clean_photo(upload(data, name))
    assert name in str(refused.value)
    assert message in str(refused.value)


def test_a_file_over_8_mb_is_refused():
    with pytest.raises(ValidationError, match="larger than 8 MB"):
        clean_photo(upload(b"\xff\xd8" + b"\0" * (8 * 1024 * 1024), "huge.jpg"))


def test_a_report_with_photos_stores_them_under_random_names(
    client, contact, action, media_in_tmp
):
    response = client.post(
        report_path(contact, action),
        {
            "status": "held",
            "people": "12",
            "photos": [
                upload(jpeg_with_gps(), "maria-at-the-embassy.jpg"),
                upload(png_with_text(), "banner.png"),
            ],
        },
    )

    assert response.status_code == 302
    photos = list(ReportPhoto.objects.all())
    assert len(photos) == 2
    for photo in photos:
        assert "maria" not in photo.image.name
        assert photo.image.name.endswith(".jpg")
        stored = media_in_tmp / photo.image.name
        assert stored.exists()
        assert b"SecretCam" not in stored.read_bytes()


def test_a_bad_photo_saves_nothing_of_the_report(client, contact, action, media_in_tmp):
    response = client.post(
        report_path(contact, action),
        {
            "status": "held",
            "people": "12",
            "photos": [upload(small_jpeg()), upload(b"<svg onload=x>", "x.jpg")],
        },
    )

    assert response.status_code == 400
    assert "“x.jpg” is not a JPEG, PNG or WebP image" in response.content.decode()
    assert not Pledge.objects.exists()
    assert not ReportPhoto.objects.exists()
    assert not list(media_in_tmp.rglob("*.jpg"))


def test_a_sixth_photo_is_refused_with_a_clear_message(
    client, contact, action, media_in_tmp
):
    path = report_path(contact, action)
    client.post(
        path,
        {
            "status": "held",
            "people": "3",
            "photos": [upload(small_jpeg(), f"{i}.jpg") for i in range(5)],
        },
    )

    response = client.post(
        path, {"status": "held", "people": "3", "photos": [upload(small_jpeg())]}
    )

    assert response.status_code == 400
    assert "at most 5 photos; this one has 5 already" in response.content.decode()
    assert ReportPhoto.objects.count() == 5
    assert len(list(media_in_tmp.rglob("*.jpg"))) == 5


def test_a_photo_is_added_only_to_an_existing_report(contact, action):
    clean = clean_photo(upload(small_jpeg()))
    with pytest.raises(ValidationError, match="Report back on the action"):
        pledges.add_report_photo(contact=contact, action=action, photo=clean)

    pledges.report_action(
        contact=contact, action=action, status="held", people=2, account=""
    )
    photo = pledges.add_report_photo(contact=contact, action=action, photo=clean)
    assert photo.pledge.organization == contact.organization


# --- Serving photos ----------------------------------------------------------------


@pytest.fixture
def reported_photo(contact, action) -> ReportPhoto:
    pledges.report_action(
        contact=contact,
        action=action,
        status="held",
        people=9,
        account="",
        photos=[clean_photo(upload(jpeg_with_gps()))],
    )
    return ReportPhoto.objects.get()


def test_the_public_does_not_see_a_photo_before_approval(
    client, reported_photo, editor
):
    url = reverse("campaigns:report_photo", args=[reported_photo.pk])

    assert client.get(url).status_code == 404
    client.force_login(editor)  # an organizer without the pledges permission
    assert client.get(url).status_code == 404


def test_an_approved_photo_is_served_as_a_jpeg_that_is_not_sniffed(
    client, reported_photo, publisher, publishers_approve_reports
):
    publishers_approve_reports()
    pledges.approve_report(
        pledge=reported_photo.pledge,
        by=publisher,
        seen=pledges.report_version(reported_photo.pledge),
    )

    response = client.get(reverse("campaigns:report_photo", args=[reported_photo.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    assert Image.open(io.BytesIO(body)).format == "JPEG"


def test_an_organizer_with_the_permission_sees_a_photo_before_approval(
    client, reported_photo, publisher, publishers_approve_reports
):
    publishers_approve_reports()
    client.force_login(publisher)

    response = client.get(reverse("campaigns:report_photo", args=[reported_photo.pk]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


def test_a_contact_sees_its_own_photos_and_no_one_elses(
    client, reported_photo, contact, colleague, stranger, action
):
    own = token_of(links.contact_url(colleague, "pledge", action))
    other = token_of(links.contact_url(stranger, "pledge", action))

    assert (
        client.get(
            reverse("campaigns:contact_photo", args=[own, reported_photo.pk])
        ).status_code
        == 200
    )
    assert (
        client.get(
            reverse("campaigns:contact_photo", args=[other, reported_photo.pk])
        ).status_code
        == 404
    )
    response = client.post(
        reverse("campaigns:contact_remove_photo", args=[other, reported_photo.pk])
    )
    assert response.status_code == 404
    assert ReportPhoto.objects.filter(pk=reported_photo.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_contact_removes_a_photo_and_its_file(client, contact, action, media_in_tmp):
    pledges.report_action(
        contact=contact,
        action=action,
        status="held",
        people=9,
        account="",
        photos=[clean_photo(upload(small_jpeg()))],
    )
    photo = ReportPhoto.objects.get()
    token = token_of(links.contact_url(contact, "pledge", action))

    response = client.post(
        reverse("campaigns:contact_remove_photo", args=[token, photo.pk])
    )

    assert response.status_code == 302
    assert not ReportPhoto.objects.exists()
    assert not (media_in_tmp / photo.image.name).exists()


# --- Unsubscribe -------------------------------------------------------------------


def test_the_unsubscribe_page_asks_first_and_the_button_stops_alerts(client, contact):
    path = path_of(links.contact_url(contact, "unsubscribe"))

    page = client.get(path)
    contact.refresh_from_db()
    assert page.status_code == 200
    assert "Stop action alerts" in page.content.decode()
    assert contact.unsubscribed_at is None

    done = client.post(path)
    contact.refresh_from_db()
    assert done.status_code == 200
    assert "No more action alerts" in done.content.decode()
    assert contact.unsubscribed_at is not None
    entry = AuditEntry.objects.get(action="contact.unsubscribe")
    assert "Person 1" not in entry.object_repr + str(entry.details)
    assert "person1" not in entry.object_repr + str(entry.details)


def test_one_click_unsubscribe_needs_no_csrf_token_and_can_repeat(contact):
    client = Client(enforce_csrf_checks=True)
    path = path_of(links.contact_url(contact, "unsubscribe_one_click"))

    first = client.post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    contact.refresh_from_db()
    when = contact.unsubscribed_at
    second = client.post(
        path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    contact.refresh_from_db()

    assert (first.status_code, second.status_code) == (200, 200)
    assert when is not None and contact.unsubscribed_at == when
    assert AuditEntry.objects.filter(action="contact.unsubscribe").count() == 1


def test_opening_the_one_click_link_in_a_browser_changes_nothing(client, contact):
    response = client.get(path_of(links.contact_url(contact, "unsubscribe_one_click")))

    contact.refresh_from_db()
    assert response.status_code == 200
    assert contact.unsubscribed_at is None


def test_a_forged_one_click_post_is_refused(contact):
    response = Client().post("/c/unsubscribe-now/forged/")
    contact.refresh_from_db()
    assert response.status_code == 404
    assert contact.unsubscribed_at is None


# --- Details -----------------------------------------------------------------------


def test_a_contact_corrects_its_name_and_language(client, contact):
    path = path_of(links.contact_url(contact, "details"))

    response = client.post(path, {"name": "  Maria   Santos ", "language": "fil"})

    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.name, contact.language) == ("Maria Santos", "fil")
    # The page follows the language the contact just chose.
    assert response["Location"].startswith("/fil/")
    page = client.get(response["Location"]).content.decode()
    with translation.override("fil"):
        assert 'lang="fil"' in page and gettext("Your details are saved.") in page
    entry = AuditEntry.objects.get(action="contact.correct")
    assert entry.details == {"fields": ["name", "language"]}
    assert "Maria" not in entry.object_repr


def test_a_confirmed_new_email_replaces_the_address_of_the_same_contact(
    client, contact, action
):
    old_pledge_link = token_of(links.contact_url(contact, "pledge", action))
    path = path_of(links.contact_url(contact, "details"))

    response = client.post(
        path, {"name": "Person 1", "language": "en", "email": "New@Members.example.org"}
    )

    # Waiting for the link mailed to the new address (see
    # test_contact_email_change.py); used here straight away.
    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact_email(contact) == "person1@members.example.org"
    response = client.post(path_of(links.contact_url(contact, "confirm_email")))
    assert response.status_code == 302
    assert Contact.objects.count() == 1
    contact.refresh_from_db()
    assert contact.email_hash == contact_email_hash("new@members.example.org")
    assert contact_email(contact) == "New@Members.example.org"
    # Links mailed to the old address stop working; the page's new link works.
    assert links.read_contact_token(old_pledge_link, "pledge") is None
    assert client.get(response["Location"]).status_code == 200


def test_an_email_of_another_contact_is_refused(client, contact, colleague):
    path = path_of(links.contact_url(contact, "details"))

    response = client.post(
        path,
        {"name": "Person 1", "language": "en", "email": "person2@members.example.org"},
    )

    assert response.status_code == 400
    assert "Another contact of this organization" in response.content.decode()
    contact.refresh_from_db()
    assert contact_email(contact) == "person1@members.example.org"


def test_a_wrong_email_is_refused_with_a_message(client, contact):
    path = path_of(links.contact_url(contact, "details"))

    response = client.post(
        path, {"name": "Person 1", "language": "en", "email": "not an address"}
    )

    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()


# --- Admin approval ----------------------------------------------------------------


def confirmation_page(client, pledge):
    return client.post(
        reverse("admin:campaigns_pledge_changelist"),
        {"action": "approve_reports", "_selected_action": [pledge.pk]},
        follow=True,
    )


def answer_yes(client, page, pledge):
    """Press "Yes, approve" on the confirmation page, sending back what it holds."""
    versions = re.findall(
        rf'name="version_{pledge.pk}" value="([0-9a-f]+)"', page.content.decode()
    )
    return client.post(
        reverse("admin:campaigns_pledge_changelist"),
        {
            "action": "approve_reports",
            "_selected_action": [pledge.pk],
            "post": "yes",
            **({f"version_{pledge.pk}": versions[0]} if versions else {}),
        },
        follow=True,
    )


def approve_in_admin(client, pledge):
    return answer_yes(client, confirmation_page(client, pledge), pledge)


@pytest.fixture
def report(contact, action) -> Pledge:
    return pledges.report_action(
        contact=contact, action=action, status="held", people=30, account="Held."
    )


def test_a_publisher_approves_a_report_in_the_admin(
    client, publisher, report, publishers_approve_reports
):
    publishers_approve_reports()
    client.force_login(publisher)

    response = approve_in_admin(client, report)

    assert "1 report approved" in response.content.decode()
    report.refresh_from_db()
    assert report.approved_by == publisher
    assert AuditEntry.objects.filter(action="pledge.approve_report").count() == 1


def test_approving_first_shows_each_report_as_the_public_will_see_it(
    client, publisher, contact, action, publishers_approve_reports
):
    publishers_approve_reports()
    pledges.report_action(
        contact=contact,
        action=action,
        status="held",
        people=12,
        account="<script>alert(1)</script> We stood outside for two hours.",
        press_links=["https://news.example.org/ops-mega"],
    )
    pledge = Pledge.objects.get()
    client.force_login(publisher)

    page = confirmation_page(client, pledge)

    text = page.content.decode()
    assert "We stood outside for two hours." in text
    assert "https://news.example.org/ops-mega" in text
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;" in text
    pledge.refresh_from_db()
    assert pledge.approved_at is None


def test_a_report_changed_while_the_organizer_read_it_is_not_approved(
    client, publisher, report, contact, action, publishers_approve_reports
):
    publishers_approve_reports()
    client.force_login(publisher)
    page = confirmation_page(client, report)
    # The member rewrites the report between the reading and the "yes".
    pledges.report_action(
        contact=contact, action=action, status="held", people=30, account="Other."
    )

    response = answer_yes(client, page, report)

    assert "changed while you read it" in response.content.decode()
    report.refresh_from_db()
    assert report.approved_at is None
    assert not AuditEntry.objects.filter(action="pledge.approve_report").exists()


def test_a_new_photo_also_counts_as_a_change(
    report, publisher, publishers_approve_reports
):
    publishers_approve_reports()
    seen = pledges.report_version(report)
    ReportPhoto.objects.create(pledge=report, image="reports/x.jpg", width=1, height=1)

    with pytest.raises(ValidationError, match="changed since you read it"):
        pledges.approve_report(pledge=report, by=publisher, seen=seen)


def test_a_publisher_withdraws_an_approval_from_the_report_page(
    client, publisher, report, publishers_approve_reports
):
    publishers_approve_reports()
    client.force_login(publisher)
    approve_in_admin(client, report)
    page = client.get(reverse("admin:campaigns_pledge_change", args=[report.pk]))
    assert "Withdraw the approval" in page.content.decode()

    response = client.post(
        reverse("admin:campaigns_pledge_changelist"),
        {"action": "withdraw_approvals", "_selected_action": [report.pk]},
        follow=True,
    )

    assert "1 report taken off the site" in response.content.decode()
    report.refresh_from_db()
    assert report.approved_at is None
    assert AuditEntry.objects.filter(action="pledge.withdraw_approval").count() == 1


def test_an_editor_has_no_approve_button_and_cannot_approve(
    client, editor, report, publishers_approve_reports
):
    publishers_approve_reports()
    # Even an editor who may read pledges gets no approve action.
    Group.objects.get(name="Editors").permissions.add(
        Permission.objects.get(codename="view_pledge")
    )
    client.force_login(editor)

    page = client.get(reverse("admin:campaigns_pledge_changelist"))
    assert page.status_code == 200
    assert "approve_reports" not in page.content.decode()
    approve_in_admin(client, report)

    report.refresh_from_db()
    assert report.approved_at is None
    with pytest.raises(PermissionDenied):
        pledges.approve_report(
            pledge=report, by=editor, seen=pledges.report_version(report)
        )


def test_someone_without_a_role_cannot_reach_the_pledges(client, outsider, report):
    client.force_login(outsider)

    response = client.get(reverse("admin:campaigns_pledge_changelist"))

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.approved_at is None


def test_a_pledge_without_a_report_is_not_approved(
    client, publisher, contact, action, publishers_approve_reports
):
    publishers_approve_reports()
    pledge = pledges.pledge_action(contact=contact, action=action, expected_people=3)
    client.force_login(publisher)

    response = approve_in_admin(client, pledge)

    assert "has no report yet" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.approved_at is None


def test_reporting_is_possible_once_the_action_has_started(client, contact, action):
    action.date = date.today() - timedelta(days=1)
    action.save()

    page = client.get(
        path_of(links.contact_url(contact, "pledge", action))
    ).content.decode()

    assert "Report back" in page
    assert "We will act" not in page


def test_a_cut_file_is_refused_even_where_pillow_is_told_to_accept_it(monkeypatch):
    # WeasyPrint sets this for the whole process once the sign-up sheets are used.
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ValidationError) as refused:
        clean_photo(upload(noisy_jpeg()[:-4000], "cut.jpg"))
    assert "damaged" in str(refused.value)
