from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from statements.models import Statement
from tests.e2e.conftest import csp_violations, log_in
from tests.factories import make_statement, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch_hosts(page, live_server) -> list[str]:
    """Records every request that leaves the site's own host."""
    own = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda request: (
            urlsplit(request.url).netloc != own and elsewhere.append(request.url)
        ),
    )
    return elsewhere


def test_visitor_reads_a_statement_in_two_languages(page, live_server):
    make_statement(
        slug="stop-the-raids",
        title="Stop the raids on migrant workers",
        translations={"es": "Alto a las redadas contra trabajadores migrantes"},
        slogans=["Regularize all migrants!"],
    )
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: message.type == "error" and errors.append(message.text),
    )
    elsewhere = watch_hosts(page, live_server)

    page.goto("/")
    page.get_by_role("link", name="Stop the raids on migrant workers").first.click()
    page.wait_for_url("**/statements/stop-the-raids/")
    assert page.locator("h1").inner_text() == "Stop the raids on migrant workers"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Regularize all migrants!").is_visible()

    page.locator("nav.languages").get_by_role("link", name="Español").click()
    page.wait_for_url("**/es/statements/stop-the-raids/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").inner_text() == (
        "Alto a las redadas contra trabajadores migrantes"
    )
    assert page.get_by_role("heading", name="Compartir").is_visible()

    page.get_by_role("link", name="English").last.click()
    page.wait_for_url("**/statements/stop-the-raids/")
    assert page.locator("h1").inner_text() == "Stop the raids on migrant workers"
    assert errors == []
    assert elsewhere == []


def test_statement_page_reads_fully_without_javascript(browser, live_server):
    make_statement(slug="no-js", title="Readable without scripts", contacts=2)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/statements/no-js/")
    assert page.locator("h1").inner_text() == "Readable without scripts"
    assert page.get_by_text("We stand with").is_visible()
    assert page.get_by_role("heading", name="Media contacts").is_visible()
    page.goto("/statements/")
    page.get_by_label("Search").fill("scripts")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/statements/?q=scripts*")
    assert page.get_by_role("link", name="Readable without scripts").is_visible()
    context.close()


def test_arabic_version_is_laid_out_right_to_left(page):
    make_statement(slug="kafala", translations={"ar": "أوقفوا نظام الكفالة"})
    page.goto("/statements/kafala/")
    page.get_by_role("link", name="العربيّة").click()
    article = page.locator("article.statement")
    assert article.get_attribute("dir") == "rtl"
    assert article.evaluate("element => getComputedStyle(element).direction") == "rtl"
    assert page.locator("h1").inner_text() == "أوقفوا نظام الكفالة"


def test_organizer_drafts_previews_and_publishes(page, live_server):
    organizer = make_user("organizer", groups=["Editors", "Publishers"])
    violations = csp_violations(page)
    log_in(page, organizer)
    expect(page.locator("#user-tools")).to_contain_text("organizer")

    page.goto("/admin/statements/statement/add/")
    expect(page).to_have_title("Add statement | IMA campaign site")
    page.fill("#id_title", "Solidarity with the striking farmworkers")
    page.fill("#id_body", "We stand with the **strikers** of Huelva.")
    page.fill("#id_slug", "solidarity-with-strikers")
    page.select_option("#id_kind", "solidarity_message")
    page.fill("#id_dateline", "Madrid, Spain")
    page.fill("#id_countries", "es, ma")
    page.fill("#id_slogans", "Fair wages now!\nPapers for all!")
    page.get_by_role("button", name="Save and continue editing").click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")

    # Not public yet.
    assert page.request.get("/statements/solidarity-with-strikers/").status == 404

    page.get_by_role("button", name="Send for review").click()
    expect(page.locator(".messagelist")).to_contain_text("Sent for review.")

    with page.context.expect_page() as preview_opened:
        page.get_by_role("link", name="Preview").click()
    preview = preview_opened.value
    preview.wait_for_load_state()
    assert "Preview" in preview.locator(".preview-banner").inner_text()
    assert (
        preview.locator("h1").inner_text() == "Solidarity with the striking farmworkers"
    )
    assert preview.locator("strong", has_text="strikers").is_visible()
    assert preview.get_by_text("Papers for all!").is_visible()
    preview.close()

    page.get_by_role("button", name="Publish now").click()
    expect(page.locator("h1")).to_contain_text("Publish now?")
    page.get_by_role("button", name="Publish", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("Published.")
    statement = Statement.objects.get(slug="solidarity-with-strikers")
    assert statement.status == "published"
    assert statement.countries == ["ES", "MA"]

    page.goto("/statements/solidarity-with-strikers/")
    assert page.locator("h1").inner_text() == "Solidarity with the striking farmworkers"
    assert page.locator(".preview-banner").count() == 0
    page.goto("/admin/ima_site/auditentry/")
    expect(page.locator("#result_list")).to_contain_text("statement.publish")
    expect(page.locator("#result_list")).to_contain_text("statement.submit")
    assert violations == []


def test_api_docs_work_offline_under_the_content_security_policy(page, live_server):
    make_statement(slug="in-the-api")
    problems: list[str] = []
    page.on(
        "console", lambda m: m.type in ("error", "warning") and problems.append(m.text)
    )
    elsewhere = watch_hosts(page, live_server)
    page.goto("/api/docs/")
    expect(
        page.locator('.opblock-summary-path[data-path="/api/v1/statements/{slug}/"]')
    ).to_be_visible()
    assert problems == []
    assert elsewhere == []


PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    '"><svg onload="window.__pwned = 3">',
]


def no_element_from_payloads(page) -> None:
    """The payloads made no element, handler or script run in the page."""
    assert page.evaluate("window.__pwned") is None
    made = page.evaluate(
        """() => [...document.querySelectorAll(
            "main script, main img:not(.map), main svg, [onerror], [onload]"
          )].map(e => e.outerHTML)"""
    )
    assert made == []


def test_script_in_signers_names_never_runs_in_the_page_or_the_admin(
    browser, live_server
):
    from signatories.models import Signature

    statement = make_statement(slug="hostile-signers", accepts_signatures=True)
    for i, payload in enumerate(PAYLOADS):
        Signature.objects.create(
            statement=statement, name=payload, organization=payload, role=payload,
            country="PH", status="confirmed", kind="organization" if i else "person",
        )  # fmt: skip
    # Without the site's CSP, only the escaping stands between a name and the page:
    # that is what this test is about.
    context = browser.new_context(base_url=live_server.url, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto("/statements/hostile-signers/")
    # The CSP is really off: an inline handler added now does run.
    page.evaluate(
        """() => { const probe = document.createElement("img");
                   probe.setAttribute("onerror", "window.__probe = 1");
                   probe.src = "data:,"; probe.id = "probe"; document.body.append(probe); }"""
    )
    page.wait_for_function("window.__probe === 1")
    page.evaluate("document.getElementById('probe').remove()")
    listed = page.locator(".signatories").inner_text()
    for payload in PAYLOADS:
        assert payload in listed, payload
    no_element_from_payloads(page)

    reviewer = make_user("reviewer", groups=["Publishers"])
    log_in(page, reviewer, "/admin/login/?next=/admin/signatories/signature/")
    expect(page.locator("#result_list")).to_contain_text("window.__pwned")
    listed = page.locator("#result_list").inner_text()
    for payload in PAYLOADS:
        assert payload in listed, payload
    assert page.evaluate("window.__pwned") is None
    # The admin's own yes/no icons are the only images in the list.
    made = "#result_list img:not([src*='/static/admin/img/']), #result_list svg"
    assert page.locator(made).count() == 0
    assert dialogs == []
    context.close()
