"""A phone 360 px wide and axe-core's rules, on the pages the public and developers use."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from signatories import links
from signatories.models import Signature
from signatories.services import sign_statement
from signatories.services.counts import reconcile_counts
from signatories.services.signing import SignerData
from tests.factories import make_statement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 360, "height": 740}
LONG_BODY = "\n\n".join(
    [
        "Migrant workers in Malaysia are being rounded up in night raids on their "
        "dormitories, held for months in immigration depots and deported without "
        "their wages. We demand that the raids stop now."
    ]
    * 30
    + [
        "Read the full report: https://example.org/reports/2026/"
        "immigration-depots-conditions-and-deaths-in-custody-annual-review.pdf"
    ]
)


@pytest.fixture
def long_statement():
    statement = make_statement(
        slug="long-one",
        title="Stop the mass arrests and deportations of undocumented migrant "
        "workers in Malaysia now",
        subtitle="A joint statement of migrant organizations across Asia Pacific",
        addressees="To the Government of Malaysia and the Ministry of Home Affairs",
        body=LONG_BODY,
        slogans=["Stop the raids!", "Regularize all undocumented migrants now!"],
        translations={"es": "Alto a las redadas", "fr": "Halte aux rafles"},
        accepts_signatures=True,
        signature_goal=10_000,
        links=2,
        contacts=2,
    )
    for number in range(12):
        Signature.objects.create(
            statement=statement, kind="organization", status="confirmed",
            name=f"Migrante International Chapter {number}",
            organization="Migrante International Confederation of Overseas Filipino "
            f"Workers Organizations {number}",
            role="Secretary-general", country="PH",
        )  # fmt: skip
    reconcile_counts()
    return statement


def confirm_path(statement) -> str:
    """A confirmation link as the signer's email carries it."""
    sign_statement(
        statement=statement,
        data=SignerData(name="Ana Reyes", email="ana@example.org", country="PH"),
        client_ip=None,
    )
    signature = Signature.objects.get(statement=statement, name="Ana Reyes")
    return links.link_path(signature, "confirm")


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, locale="en-US", is_mobile=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sideways_overflow(page) -> dict:
    """How far the page is wider than the screen, and what sticks out."""
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          const wide = [...document.querySelectorAll("body *")]
            .filter(e => e.getBoundingClientRect().right > root.clientWidth + 0.5)
            .slice(0, 5)
            .map(e => e.tagName.toLowerCase() + "." + e.className);
          return {scroll: root.scrollWidth, client: root.clientWidth, wide: wide};
        }"""
    )


def test_no_page_scrolls_sideways_on_a_360_px_phone(phone, long_statement):
    pages = [
        "/",
        "/statements/",
        "/es/statements/",
        "/statements/long-one/",
        "/statements/long-one/embed/",
        "/statements/long-one/signed/",
    ]
    for path in pages:
        phone.goto(path)
        overflow = sideways_overflow(phone)
        assert overflow["scroll"] <= overflow["client"], (path, overflow)

    phone.goto(confirm_path(long_statement))
    overflow = sideways_overflow(phone)
    assert overflow["scroll"] <= overflow["client"], ("link confirm", overflow)
    phone.get_by_role("button", name="Confirm my signature").click()
    phone.get_by_role("heading", name="Thank you").wait_for()
    overflow = sideways_overflow(phone)
    assert overflow["scroll"] <= overflow["client"], ("confirmed", overflow)


def test_the_language_bar_wraps_within_the_phone_screen(phone, long_statement):
    phone.goto("/statements/long-one/")
    box = phone.locator("nav.languages").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    for link in phone.locator("nav.languages a").all():
        link_box = link.bounding_box()
        assert link_box["x"] + link_box["width"] <= PHONE["width"], link.inner_text()


def test_a_long_statement_shows_its_count_and_a_sign_link_on_the_first_screen(
    phone, long_statement
):
    phone.goto("/statements/long-one/")
    count = phone.locator(".sign-summary .count-total")
    sign = phone.get_by_role("link", name="Sign", exact=True)
    for element in (count, sign):
        box = element.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    assert count.inner_text() == "12"

    sign.click()
    phone.wait_for_url("**/statements/long-one/#sign")
    form = phone.locator("form.sign-form")
    assert form.is_visible()
    name_field = phone.get_by_label("Your name")
    field_box = name_field.bounding_box()
    assert field_box is not None and 0 <= field_box["y"] < PHONE["height"]


SERIOUS = {"serious", "critical"}


def serious_violations(page) -> list[str]:
    results = Axe().run(page)
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


@pytest.mark.parametrize(
    ("viewport", "color_scheme"),
    [(PHONE, "light"), ({"width": 1280, "height": 900}, "dark")],
)
def test_the_main_pages_have_no_serious_accessibility_violations(
    browser, live_server, long_statement, viewport, color_scheme
):
    context = browser.new_context(
        base_url=live_server.url,
        viewport=viewport,
        color_scheme=color_scheme,
        locale="en-US",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    found: dict[str, list[str]] = {}
    pages = [
        "/",
        "/statements/",
        "/statements/long-one/",
        "/statements/long-one/embed/",
        "/statements/long-one/signed/",
        confirm_path(long_statement),
        "/api/docs/",
    ]
    for path in pages:
        page.goto(path)
        if path == "/api/docs/":
            # Swagger UI draws the operations after loading the schema.
            page.locator(".opblock").first.wait_for()
        found[path] = serious_violations(page)
    # An operation opened: its parameters, choice lists and examples.
    page.locator(".opblock-summary-control").first.click()
    page.locator(".opblock-body select").first.wait_for()
    page.locator(".opblock-body .highlight-code").first.wait_for()
    found["/api/docs/ with an operation open"] = serious_violations(page)
    # A form sent back with errors: the messages are tied to their fields.
    page.goto("/statements/long-one/")
    page.locator("form.sign-form button[type=submit]").click()
    page.locator("#sign-errors").wait_for()
    found["sign form with errors"] = serious_violations(page)
    context.close()
    assert {path: rules for path, rules in found.items() if rules} == {}
