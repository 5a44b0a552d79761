"""Browser tests: Debian's Chromium driven by Playwright. Never a browser download."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
HOW_TO_ENABLE = (
    "Debian's chromium is not installed: `apt-get install chromium` "
    "(or set CHROMIUM_PATH) to run the browser tests."
)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM:
        if os.environ.get("IMA_REQUIRE_BROWSER"):
            pytest.fail(HOW_TO_ENABLE)
        pytest.skip(HOW_TO_ENABLE)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in the test's thread; the ORM calls
    # the tests make around it are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def csp_violations(page) -> list[str]:
    """The Content Security Policy complaints the page logs from now on."""
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text
            and violations.append(message.text)
        ),
    )
    return violations


def type_password(page, username: str, path: str = "/admin/") -> None:
    """The first step of an organizer's login, through the admin's form."""
    page.goto(path)
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password-1")
    page.get_by_role("button", name="Log in").click()


def log_in(page, user, path: str = "/admin/") -> None:
    """Password, then the code the organizer's authenticator app shows."""
    from tests.factories import totp_code

    type_password(page, user.get_username(), path)
    page.fill("#id_code", totp_code(user))
    page.get_by_role("button", name="Verify").click()
