"""Organizers' accounts: throttled and audited logins, two-factor login, preview login."""

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from ima_site.crypto import keyed_hash
from ima_site.models import AuditEntry
from ima_site.twofactor import secret_text
from tests.factories import make_user, totp_code

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-test-password-1"
WRONG = "wrong-horse-battery-staple"
HOME = "203.0.113.7"  # a documentation address
ELSEWHERE = "198.51.100.20"


def log_in(client, username, password=PASSWORD, address=HOME, next_url=None, **extra):
    url = reverse("admin:login")
    if next_url:
        url += "?" + urlencode({"next": next_url})
    data = {"username": username, "password": password}
    if next_url:
        data["next"] = next_url
    return client.post(url, data, REMOTE_ADDR=address, **extra)


def logged_in(client) -> bool:
    return SESSION_KEY in client.session


def every_row_as_text() -> str:
    """What a dump of the database would show, table by table."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT t::text FROM "{table}" t')  # noqa: S608
            rows.extend(row[0] for row in cursor.fetchall())
    return "\n".join(rows)


def code_of(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits):06d}"


# --- Throttling and audit -----------------------------------------------------------


def test_a_failed_login_is_audited_without_the_password_or_the_address(client):
    organizer = make_user("organizer", groups=["Editors"])
    response = log_in(client, "organizer", WRONG)
    assert response.status_code == 200
    assert not logged_in(client)
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.actor is None
    assert entry.object_id == str(organizer.pk)
    assert entry.details["network"] == keyed_hash("network", "203.0.113.0/24")
    assert entry.details["username"] == keyed_hash("login-username", "organizer")
    dump = every_row_as_text()
    assert WRONG not in dump
    assert "203.0.113" not in dump
    # Axes' own tables, which keep addresses and browsers in clear, stay empty.
    assert not AccessAttempt.objects.exists()
    assert not AccessLog.objects.exists()
    assert not AccessFailureLog.objects.exists()


def test_a_failed_login_with_an_unknown_username_does_not_store_what_was_typed(client):
    log_in(client, "my-password-typed-in-the-wrong-box", WRONG)
    entry = AuditEntry.objects.get(action="login.failed")
    assert entry.object_repr == "(unknown username)"
    assert "my-password-typed" not in every_row_as_text()


def test_after_the_limit_the_username_is_refused_from_that_network_for_the_cool_off(
    client, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("organizer", groups=["Editors"])
    assert log_in(client, "organizer", WRONG).status_code == 200
    assert log_in(client, "organizer", WRONG).status_code == 200
    third = log_in(client, "organizer", WRONG)
    assert third.status_code == 429
    assert "Too many failed logins" in third.content.decode()
    assert "paused for 15 minutes" in third.content.decode()

    # Now even the right password is refused, before it is checked.
    refused = log_in(client, "organizer")
    assert refused.status_code == 429
    assert not logged_in(client)
    actions = list(
        AuditEntry.objects.order_by("id").values_list("action", "actor", "details")
    )
    assert [a for a, _, _ in actions] == [
        "login.failed", "login.failed", "login.failed", "login.lock_out",
        "login.refused",
    ]  # fmt: skip
    assert all(actor is None for _, actor, _ in actions)
    assert actions[3][2]["failures"] == 3

    # Another username from the same network, and this one from another, may go on.
    make_user("other", groups=["Editors"])
    assert log_in(client, "other").status_code == 302
    client.logout()
    assert log_in(client, "organizer", address=ELSEWHERE).status_code == 302
    client.logout()

    # Once the cool-off has passed, the right password works from home again.
    AuditEntry.objects.update(at=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "organizer").status_code == 302
    assert logged_in(client)


def test_attempts_during_a_lock_out_do_not_prolong_it(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("organizer", groups=["Editors"])
    log_in(client, "organizer", WRONG)
    log_in(client, "organizer", WRONG)
    lock_out = AuditEntry.objects.filter(action__in=["login.failed", "login.lock_out"])
    lock_out.update(at=timezone.now() - timedelta(minutes=10))
    # Refused attempts 10 minutes into the lock-out...
    assert log_in(client, "organizer", WRONG).status_code == 429
    assert log_in(client, "organizer").status_code == 429
    # ...and 15 minutes after it began, it is over.
    lock_out.update(at=timezone.now() - timedelta(minutes=16))
    assert log_in(client, "organizer").status_code == 302


def test_behind_the_proxy_each_visitor_is_counted_by_their_own_network(
    client, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 2
    make_user("organizer", groups=["Editors"])
    proxy = {"address": "10.0.0.1"}
    for _ in range(2):
        log_in(client, "organizer", WRONG, **proxy, HTTP_X_FORWARDED_FOR=HOME)
    assert (
        AuditEntry.objects.filter(
            action="login.failed",
            details__network=keyed_hash("network", "203.0.113.0/24"),
        ).count()
        == 2
    )
    # The same proxy, another visitor: not locked out.
    assert (
        log_in(client, "organizer", **proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE).status_code
        == 302
    )
    client.logout()
    # A forged entry before the proxy's changes nothing: the proxy's own entry counts.
    forged = f"{ELSEWHERE}, {HOME}"
    assert (
        log_in(client, "organizer", **proxy, HTTP_X_FORWARDED_FOR=forged).status_code
        == 429
    )


def test_axes_reset_lifts_a_lock_out_with_an_audit_entry(client, settings):
    settings.AXES_FAILURE_LIMIT = 2
    make_user("organizer", groups=["Editors"])
    log_in(client, "organizer", WRONG)
    assert log_in(client, "organizer", WRONG).status_code == 429
    call_command("axes_reset_username", "organizer")
    assert AuditEntry.objects.filter(action="login.unlock", actor=None).exists()
    assert log_in(client, "organizer").status_code == 302
    # The failures before the reset are still in the log: nothing was deleted.
    assert AuditEntry.objects.filter(action="login.failed").count() == 2


# --- Two-factor login ---------------------------------------------------------------


def test_a_publisher_without_an_app_is_sent_to_set_up_and_can_do_nothing_else(
    client, draft, published
):
    make_user("newcomer", groups=["Publishers"], two_factor=False)
    response = log_in(client, "newcomer", next_url="/admin/")
    assert response.status_code == 302
    set_up = reverse("two_factor:set_up")
    for url in [
        "/admin/",
        "/admin/statements/statement/",
        "/admin/signatories/signature/",
        reverse("two_factor:overview"),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(set_up + "?next="), url
    # Elsewhere the half-logged-in session counts for nothing.
    preview = reverse("statements:preview", args=[draft.slug])
    assert client.get(preview)["Location"].startswith(reverse("admin:login"))
    api = reverse("api-signatures", args=[published.slug])
    assert client.get(api).status_code in (401, 403)
    assert client.get(set_up).status_code == 200
    # The same request from a session past the second step is answered.
    verified = Client()
    verified.force_login(make_user("verified", groups=["Publishers"]))
    assert verified.get(api).status_code == 200


def test_set_up_shows_the_qr_code_as_inline_svg_and_the_secret_in_text(client):
    make_user("newcomer", groups=["Publishers"], two_factor=False)
    log_in(client, "newcomer")
    page = client.get(reverse("two_factor:set_up")).content.decode()
    device = TOTPDevice.objects.get(user__username="newcomer", confirmed=False)
    assert "<svg" in page and "<path" in page
    assert secret_text(device) in page
    # No inline script (the CSP forbids it) and nothing loaded from another host.
    for tag in page.split("<script")[1:]:
        assert 'src="/static/' in tag.split(">")[0]
    assert "http://" not in page.split("<svg")[1].split("</svg>")[0].replace(
        "http://www.w3.org/2000/svg", ""
    )
    # Reloading the page keeps the same secret (the app may have scanned it).
    client.get(reverse("two_factor:set_up"))
    assert TOTPDevice.objects.filter(user__username="newcomer").count() == 1


def test_set_up_refuses_a_wrong_code_then_shows_ten_recovery_codes_once(client):
    newcomer = make_user("newcomer", groups=["Publishers"], two_factor=False)
    log_in(client, "newcomer")
    url = reverse("two_factor:set_up") + "?next=/admin/"
    client.get(url)
    device = TOTPDevice.objects.get(user=newcomer)
    right = code_of(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    refused = client.post(url, {"code": wrong, "next": "/admin/"})
    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/admin/").status_code == 302
    # Right after a wrong code django-otp makes one wait, and says so.
    throttled = client.post(url, {"code": right, "next": "/admin/"})
    assert "wait a little" in throttled.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)

    accepted = client.post(
        url, {"code": right[:3] + " " + right[3:], "next": "/admin/"}
    )
    assert accepted.status_code == 200
    codes = accepted.context["codes"]
    assert len(codes) == 10 == len(set(codes))
    page = accepted.content.decode()
    assert all(code in page for code in codes)
    assert "no-store" in accepted["Cache-Control"]
    device.refresh_from_db()
    assert device.confirmed
    # Stored only as keyed hashes.
    stored = set(StaticToken.objects.values_list("token", flat=True))
    assert len(stored) == 10
    assert not stored & {code.replace("-", "") for code in codes}
    dump = every_row_as_text()
    assert not any(code.replace("-", "") in dump for code in codes)
    assert AuditEntry.objects.filter(
        action="two_factor.set_up", actor=newcomer
    ).exists()
    # The session is now verified: the admin opens.
    assert client.get("/admin/").status_code == 200


def test_login_asks_for_the_code_after_the_password(client):
    publisher = make_user("publisher", groups=["Publishers"])
    response = log_in(client, "publisher", next_url="/admin/statements/statement/")
    assert response["Location"] == "/admin/statements/statement/"
    step = client.get("/admin/statements/statement/")
    verify = reverse("two_factor:verify")
    assert step["Location"] == verify + "?next=%2Fadmin%2Fstatements%2Fstatement%2F"

    device = TOTPDevice.objects.get(user=publisher)
    wrong = f"{(int(code_of(device)) + 500_000) % 1_000_000:06d}"
    refused = client.post(step["Location"], {"code": wrong})
    assert refused.status_code == 200
    assert "That code is not right" in refused.content.decode()
    assert client.get("/admin/").status_code == 302
    assert AuditEntry.objects.filter(action="two_factor.refused", actor=publisher)

    # django-otp makes one wait a second after a wrong code.
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    accepted = client.post(step["Location"], {"code": totp_code(publisher)})
    assert accepted.status_code == 302
    assert accepted["Location"] == "/admin/statements/statement/"
    assert client.get("/admin/statements/statement/").status_code == 200


def test_an_app_code_is_good_only_once(client):
    publisher = make_user("publisher", groups=["Publishers"])
    code = totp_code(publisher)
    log_in(client, "publisher")
    assert client.post(reverse("two_factor:verify"), {"code": code}).status_code == 302
    client.logout()
    log_in(client, "publisher")
    again = client.post(reverse("two_factor:verify"), {"code": code})
    assert again.status_code == 200
    assert "used already" in again.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_recovery_code_works_once(client):
    publisher = make_user("publisher", groups=["Publishers"])
    client.force_login(publisher)
    codes = client.post(reverse("two_factor:recovery_codes")).context["codes"]
    client.logout()

    log_in(client, "publisher")
    used = client.post(reverse("two_factor:verify"), {"code": codes[0].upper()})
    assert used.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert AuditEntry.objects.get(action="two_factor.recovery_code_used").details == {
        "left": 9
    }
    client.logout()

    log_in(client, "publisher")
    again = client.post(reverse("two_factor:verify"), {"code": codes[0]})
    assert again.status_code == 200
    assert client.get("/admin/").status_code == 302
    # A wrong code makes django-otp wait a moment; then the next code still works.
    publisher.staticdevice_set.update(throttling_failure_count=0)
    assert (
        client.post(reverse("two_factor:verify"), {"code": codes[1]}).status_code == 302
    )


def test_new_recovery_codes_replace_the_old_ones(client):
    publisher = make_user("publisher", groups=["Publishers"])
    client.force_login(publisher)
    old = client.post(reverse("two_factor:recovery_codes")).context["codes"]
    new = client.post(reverse("two_factor:recovery_codes")).context["codes"]
    assert StaticToken.objects.filter(device__user=publisher).count() == 10
    client.logout()
    log_in(client, "publisher")
    assert (
        client.post(reverse("two_factor:verify"), {"code": old[0]}).status_code == 200
    )
    publisher.staticdevice_set.update(throttling_failure_count=0)
    assert (
        client.post(reverse("two_factor:verify"), {"code": new[0]}).status_code == 302
    )


def test_a_password_alone_cannot_move_the_second_factor_to_another_phone(client):
    make_user("publisher", groups=["Publishers"])
    log_in(client, "publisher")
    response = client.get(reverse("two_factor:set_up"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("two_factor:verify"))
    assert client.post(reverse("two_factor:recovery_codes")).status_code == 302
    assert not TOTPDevice.objects.filter(confirmed=False).exists()


def test_an_editor_without_an_app_logs_in_with_the_password_and_may_add_one(client):
    make_user("editor", groups=["Editors"], two_factor=False)
    log_in(client, "editor")
    assert client.get("/admin/").status_code == 200
    overview = client.get(reverse("two_factor:overview"))
    assert "Two-factor login is off for you" in overview.content.decode()
    assert client.get(reverse("two_factor:set_up")).status_code == 200


def test_an_editor_with_an_app_must_give_its_code(client):
    make_user("editor", groups=["Editors"])
    log_in(client, "editor")
    assert client.get("/admin/")["Location"].startswith(reverse("two_factor:verify"))


def test_the_admin_links_to_the_two_factor_page(client, publisher):
    client.force_login(publisher)
    page = client.get("/admin/").content.decode()
    assert reverse("two_factor:overview") in page


def test_a_code_that_is_not_a_code_gets_the_form_back(client):
    make_user("publisher", groups=["Publishers"])
    log_in(client, "publisher")
    for junk in ["", "x" * 40, "12345", "\x00"]:
        response = client.post(reverse("two_factor:verify"), {"code": junk})
        assert response.status_code == 200, junk
    # A lone surrogate, as the test client cannot encode it.
    response = client.post(
        reverse("two_factor:verify"),
        "code=%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200


def test_a_username_that_is_not_text_gets_the_login_form_back(client):
    response = client.post(
        reverse("admin:login"),
        "username=%ED%A0%80&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert AuditEntry.objects.filter(action="login.failed").count() == 1


# --- Preview ------------------------------------------------------------------------


def test_a_logged_out_preview_goes_to_the_admin_login_and_back(client, draft):
    preview = reverse("statements:preview", args=[draft.slug])
    response = client.get(preview)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("admin:login")
    assert parse_qs(location.query) == {"next": [preview]}
    publisher = make_user("publisher", groups=["Publishers"])
    after_password = log_in(client, "publisher", next_url=preview)
    assert after_password["Location"] == preview
    # Not verified yet: the preview sends to the login, the login to the code page.
    to_login = client.get(preview)["Location"]
    to_code = client.get(to_login)["Location"]
    assert to_code.startswith(reverse("two_factor:verify"))
    after_code = client.post(to_code, {"code": totp_code(publisher)})
    assert after_code["Location"] == preview
    page = client.get(preview)
    assert page.status_code == 200
    assert "Secret draft about Malaysia" in page.content.decode()


def test_a_logged_in_outsider_still_gets_no_preview(client, draft, outsider):
    client.force_login(outsider)
    assert client.get(reverse("statements:preview", args=[draft.slug])).status_code in (
        403,
        404,
    )


# --- The demo organizer -------------------------------------------------------------


def test_the_demo_organizer_login_tells_how_to_get_the_code(tmp_path, settings):
    import io

    out = io.StringIO()
    call_command("load_demo", password_file=str(tmp_path / "password"), stdout=out)
    line = out.getvalue().splitlines()[-1]
    assert "two-factor code" in line and "totp_code organizer" in line
    device = TOTPDevice.objects.get(user__username="organizer", confirmed=True)

    settings.DEBUG = True
    printed = io.StringIO()
    call_command("totp_code", "organizer", stdout=printed)
    assert printed.getvalue().split()[0] == code_of(device)

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DJANGO_DEBUG=1"):
        call_command("totp_code", "organizer")


# --- Settings -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["LOGIN_FAILURE_LIMIT", "LOGIN_COOLOFF_MINUTES"])
def test_a_bad_login_throttle_setting_stops_start_up_naming_it(name):
    from tests.test_settings import start

    result = start(**{name: "0"})
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.django_db(transaction=True)
def test_parallel_guesses_check_no_more_passwords_than_the_limit(settings):
    """Sixteen wrong passwords at once from one network: only the first five are
    checked, the rest are refused as locked out."""
    import threading

    settings.AXES_FAILURE_LIMIT = 5
    make_user("guessed", groups=["Publishers"])
    barrier = threading.Barrier(16, timeout=30)
    statuses = []

    def guess(number: int) -> None:
        try:
            client = Client()
            barrier.wait()
            response = client.post(
                reverse("admin:login"),
                {"username": "guessed", "password": f"wrong-{number}"},
                REMOTE_ADDR="203.0.113.7",
            )
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(statuses) == 16
    assert AuditEntry.objects.filter(action="login.failed").count() == 5
    assert AuditEntry.objects.filter(action="login.refused").count() == 11
    assert statuses.count(429) >= 11
