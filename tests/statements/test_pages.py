import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from statements.models import Statement
from tests.factories import make_statement

pytestmark = pytest.mark.django_db


@pytest.fixture
def full(db):
    """A statement with everything a real one carries, in three languages."""
    return make_statement(
        slug="full",
        kind="joint_statement",
        title="Stop the crackdown",
        subtitle="Free the detained",
        addressees="To the Government of Malaysia",
        signed_by="Ana Reyes",
        signed_by_role="chairperson",
        slogans=["Stop the raids!", "Regularize all migrants!"],
        countries=["MY", "PH"],
        translations={"es": "Alto a la represión", "ar": "أوقفوا الحملة"},
        links=2,
        contacts=3,
    )


def test_statement_page_shows_everything_it_carries(client, full):
    body = client.get("/statements/full/").content.decode()
    for expected in [
        "Stop the crackdown", "Free the detained", "Kuala Lumpur, Malaysia",
        "July 1, 2026", "To the Government of Malaysia", "<li>Stop the raids!</li>",
        "Ana Reyes", "chairperson", "<strong>every</strong>", "Report 0",
        "https://example.org/1", "<h3>Media</h3>", "<h3>Legal</h3>",
        'href="tel:+605550100"', "mailto:press1@example.org", "Malaysia", "Philippines",
        "Español", "العربيّة", "wa.me", "Joint statement",
    ]:  # fmt: skip
        assert expected in body, expected


def test_head_has_canonical_hreflang_feeds_and_social_meta(client, full):
    body = client.get("/statements/full/").content.decode()
    site = settings.SITE_URL
    assert f'<link rel="canonical" href="{site}/statements/full/">' in body
    assert f'hreflang="es" href="{site}/es/statements/full/"' in body
    assert f'hreflang="ar" href="{site}/statements/full/?lang=ar"' in body
    assert f'hreflang="x-default" href="{site}/statements/full/"' in body
    assert 'type="application/rss+xml"' in body and "/feeds/statements.rss" in body
    assert "/feeds/country/MY.rss" in body and "/feeds/topic/crackdown.atom" in body
    assert '<meta property="og:title" content="Stop the crackdown">' in body
    assert f'<meta property="og:url" content="{site}/statements/full/">' in body
    assert '<meta name="twitter:card" content="summary">' in body


def test_spanish_interface_shows_the_spanish_version(client, full):
    body = client.get("/es/statements/full/").content.decode()
    assert '<html lang="es"' in body
    assert "Alto a la represión" in body
    assert (
        f'<link rel="canonical" href="{settings.SITE_URL}/es/statements/full/">' in body
    )


def test_arabic_content_is_right_to_left_and_marked_as_arabic(client, full):
    body = client.get("/statements/full/?lang=ar").content.decode()
    assert '<html lang="en" dir="ltr">' in body
    assert '<article class="statement" lang="ar" dir="rtl">' in body
    # The Arabic version has no addressees of its own: the original's show, marked.
    assert '<p class="addressees" lang="en" dir="ltr">' in body
    assert '<p class="dateline" lang="en" dir="ltr">' in body
    assert "أوقفوا الحملة" in body


def test_version_in_another_language_than_the_page_gets_its_lang(client, full):
    # No French version: the French interface shows the English original, marked.
    body = client.get("/fr/statements/full/").content.decode()
    assert '<html lang="fr"' in body
    assert '<article class="statement" lang="en" dir="ltr">' in body
    assert f'<link rel="canonical" href="{settings.SITE_URL}/statements/full/">' in body


def test_unknown_statement_gets_the_friendly_404(client):
    response = client.get("/statements/no-such-thing/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


def test_500_page_renders_without_a_database(rf, django_assert_num_queries):
    from ima_site.views import server_error

    with django_assert_num_queries(0):
        response = server_error(rf.get("/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


def test_robots_txt_points_to_the_sitemap(client):
    body = client.get("/robots.txt").content.decode()
    assert f"Sitemap: {settings.SITE_URL}/sitemap.xml" in body
    assert "Disallow: /admin/" in body


def test_a_filter_not_understood_leaves_the_others_working(client):
    make_statement(slug="malaysia", countries=["MY"])
    make_statement(slug="kuwait", countries=["KW"])
    body = client.get("/statements/?country=MY&year=notayear").content.decode()
    assert "/statements/malaysia/" in body
    assert "/statements/kuwait/" not in body
    assert "Some filters were not understood" in body


def test_undated_statements_do_not_jump_to_the_top(client):
    make_statement(slug="dated", title="Dated statement")
    make_statement(slug="undated", title="Undated statement", issued_on=None)
    body = client.get("/statements/").content.decode()
    assert body.index("Dated statement") < body.index("Undated statement")


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_statement_page_queries_do_not_grow_with_versions_links_contacts(client):
    make_statement(slug="small", translations={"es": "x"}, links=1, contacts=1)
    make_statement(
        slug="big",
        translations={c: c for c in ["es", "fr", "id", "fil", "ar", "pt", "de", "ne"]},
        links=12,
        contacts=15,
        topics=["a", "b", "c", "d", "e"],
        countries=["MY", "PH", "ID", "NP", "BD"],
    )
    small = count_queries(client, "/statements/small/")
    assert small == count_queries(client, "/statements/big/")
    assert small <= 5


def test_list_and_home_queries_do_not_grow_with_statements(client):
    make_statement(slug="one")
    one_list = count_queries(client, "/statements/")
    one_home = count_queries(client, "/")
    one_search = count_queries(client, "/statements/?q=raids&country=MY")
    for i in range(25):
        make_statement(
            slug=f"s{i}", translations={"es": "x", "fr": "y"}, topics=[f"t{i}"]
        )
    assert count_queries(client, "/statements/") == one_list
    assert count_queries(client, "/") == one_home
    assert count_queries(client, "/statements/?q=raids&country=MY") == one_search
    assert count_queries(client, "/api/v1/statements/") == count_queries(
        client, "/api/v1/statements/?page=2"
    )


class Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.urls.append(attrs["href"])
        if tag in ("img", "iframe", "video", "audio", "source") and attrs.get("src"):
            self.urls.append(attrs["src"])


def test_statement_page_is_light_and_loads_nothing_from_elsewhere(client, full):
    from django.contrib.staticfiles import finders

    html = client.get("/statements/full/").content.decode()
    parser = Assets()
    parser.feed(html)
    assert parser.urls, "the page loads its stylesheet"
    total = len(html.encode())
    for url in parser.urls:
        assert url.startswith("/static/"), url
        total += Path(finders.find(url.removeprefix("/static/"))).stat().st_size
    assert total <= 50_000, total
    assert "@font-face" not in Path(finders.find("css/site.css")).read_text()
    assert not re.search(r"<(img|iframe|video|audio)\b", html)


def part_names(parts) -> list[str]:
    return [part.name for part in parts]


def test_statement_page_is_drawn_from_typed_parts_in_page_order(client, full):
    from statements.parts import PagePart

    response = client.get("/statements/full/")
    parts, about = response.context["parts"], response.context["about_parts"]
    assert all(isinstance(part, PagePart) for part in [*parts, *about])
    assert part_names(parts) == ["heading", "text"]
    assert part_names(about) == [
        "versions", "links", "contacts", "filed-under", "share",
    ]  # fmt: skip


def test_signing_adds_its_parts_under_the_title_and_after_the_text(client):
    make_statement(slug="open", accepts_signatures=True)
    response = client.get("/statements/open/")
    assert part_names(response.context["parts"]) == [
        "heading", "signing-summary", "text", "signing", "signatories",
    ]  # fmt: skip
    body = response.content.decode()
    # The count and the way to the form come before the text, the form after it.
    assert body.index('class="sign-summary"') < body.index('class="statement"')
    assert body.index('class="statement"') < body.index('id="sign"')
    assert '<a class="button sign-link" href="#sign">Sign</a>' in body


def test_a_closed_statement_shows_its_count_but_no_sign_link(client):
    from django.utils import timezone

    make_statement(
        slug="closed", accepts_signatures=True, signing_closes_at=timezone.now()
    )
    body = client.get("/statements/closed/").content.decode()
    assert 'class="sign-summary"' in body
    assert "sign-link" not in body
    assert "Signing is closed." in body


def test_the_page_template_includes_no_part_by_name():
    template = Path(settings.BASE_DIR) / "templates" / "statements" / "detail.html"
    assert "{% include" not in template.read_text()


def test_a_form_sent_back_replaces_only_the_values_its_part_has():
    from statements.parts import PagePart, Slot

    empty, sent = object(), object()
    signing = PagePart(
        name="signing", slot=Slot.ACTION, template="x.html", context={"form": empty}
    )
    text = PagePart(name="text", slot=Slot.TEXT, template="y.html")
    assert signing.replacing({"form": sent}).context == {"form": sent}
    assert signing.context == {"form": empty}
    assert text.replacing({"form": sent}) is text


def test_a_sign_form_with_errors_comes_back_in_the_signing_part(client):
    make_statement(slug="open", accepts_signatures=True)
    response = client.post("/statements/open/sign/", {"name": "", "email": "x"})
    assert response.status_code == 400
    signing = next(p for p in response.context["parts"] if p.name == "signing")
    assert signing.context["sign_form"].errors
    assert 'id="sign-errors"' in response.content.decode()


class DescribedBy(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if attrs.get("aria-describedby"):
            self.described_by += attrs["aria-describedby"].split()


def test_every_aria_describedby_of_the_sign_form_names_an_element(client):
    make_statement(slug="open", accepts_signatures=True)
    for response in (
        client.get("/statements/open/"),
        client.post("/statements/open/sign/", {"name": "", "email": "x"}),
        client.get("/statements/open/embed/"),
    ):
        page = DescribedBy()
        page.feed(response.content.decode())
        assert page.described_by, "the email field has a help text"
        assert set(page.described_by) <= page.ids, page.described_by


def test_home_advertises_only_statements_whose_signing_is_open(client, settings):
    """The same rule as the statement page: a paused, closed or too old statement is
    not listed as open for signatures."""
    from datetime import timedelta

    from django.utils import timezone

    settings.SIGNATURE_MAX_AGE_DAYS = 365
    now = timezone.now()
    open_ = make_statement(slug="open-one", title="Open one", accepts_signatures=True)
    for slug, fields in {
        "paused-one": {"signing_paused": True},
        "closed-one": {"signing_closes_at": now - timedelta(minutes=1)},
        "too-old-one": {"publish_at": now - timedelta(days=366)},
    }.items():
        make_statement(slug=slug, title=slug, accepts_signatures=True, **fields)
    response = client.get("/")
    listed = [statement for statement, _ in response.context["open_for_signing"]]
    assert listed == [open_]
    assert all(s.is_open_for_signing() == (s == open_) for s in Statement.objects.all())
