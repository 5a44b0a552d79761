"""Browser journey: a new Publisher sets up two-factor login at the first login."""

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.e2e.conftest import csp_violations, type_password
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_publisher_scans_the_code_confirms_and_keeps_the_recovery_codes(page):
    make_user("newcomer", groups=["Publishers"], two_factor=False)
    violations = csp_violations(page)
    type_password(page, "newcomer")

    # Only the set-up page: the QR code is drawn, the secret is there to type.
    expect(page).to_have_title("Set up two-factor login | IMA campaign site")
    qr = page.get_by_role("img", name="QR code of your two-factor secret")
    box = qr.locator("svg").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    device = TOTPDevice.objects.get(user__username="newcomer")
    secret = page.locator("#secret").inner_text().replace(" ", "")
    assert len(secret) == 32
    page.goto("/admin/statements/statement/")
    expect(page).to_have_title("Set up two-factor login | IMA campaign site")

    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them: continue").click()
    # Back where the admin was asked for, now open.
    expect(page).to_have_title("Select statement to change | IMA campaign site")
    expect(page.locator("#user-tools")).to_contain_text("Two-factor login")
    assert violations == []
