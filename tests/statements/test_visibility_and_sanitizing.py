from html.parser import HTMLParser

import pytest

from statements.models import Link, MediaContact, StatementVersion
from tests.factories import make_statement

pytestmark = pytest.mark.django_db

PUBLIC_URLS = [
    "/",
    "/statements/",
    "/statements/?q=Malaysia",
    "/es/statements/",
    "/feeds/statements.rss",
    "/feeds/statements.atom",
    "/feeds/country/MY.rss",
    "/feeds/country/MY.atom",
    "/feeds/topic/crackdown.rss",
    "/feeds/topic/crackdown.atom",
    "/sitemap.xml",
    "/api/v1/statements/",
    "/api/v1/statements/?search=Malaysia",
]


@pytest.mark.parametrize("status", ["draft", "in_review", "scheduled", "withdrawn"])
def test_unpublished_statement_is_invisible_everywhere(client, published, status):
    from datetime import timedelta

    from django.utils import timezone

    hidden = make_statement(
        slug=f"hidden-{status}",
        status=status,
        title="Secret draft about Malaysia",
        publish_at=timezone.now() + timedelta(days=1)
        if status == "scheduled"
        else None,
    )
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "Secret draft" not in body, url
        assert hidden.slug not in body, url
    assert client.get(hidden.get_absolute_url()).status_code in (404, 410)
    assert client.get(f"/api/v1/statements/{hidden.slug}/").status_code == 404
    assert client.get(f"/statements/{hidden.slug}/?lang=en").status_code in (404, 410)


SCRIPT = "<script>alert(1)</script>"
HANDLER = '<img src=x onerror="alert(2)">'


@pytest.fixture
def hostile(db):
    """A statement where an organizer's account typed script into every field."""
    statement = make_statement(
        slug="hostile",
        title=f"Title {SCRIPT}",
        body=(
            f"Hello {SCRIPT}\n\n{HANDLER}\n\n"
            '[click](javascript:alert(3))\n\n<a href="javascript:alert(4)">x</a>\n\n'
            '<p style="color:red" onclick="alert(5)">styled</p>\n\n'
            "<iframe src=https://evil.example></iframe>"
        ),
        dateline=f"City {SCRIPT}",
        signed_by='Name "><svg onload=alert(6)>',
        signed_by_role=SCRIPT,
        addressees=SCRIPT,
        slogans=[f"Slogan {SCRIPT}", '"><img src=x onerror=alert(7)>'],
        topics=["crackdown"],
        issuer=f"Issuer {SCRIPT}",
    )
    from statements.models import Topic

    hostile_topic = Topic.objects.create(slug="hostile-topic", name=f"Topic {SCRIPT}")
    statement.topics.add(hostile_topic)
    version = statement.versions.get()
    version.subtitle = SCRIPT
    version.summary = f"Summary {HANDLER}"
    version.save()
    StatementVersion.objects.create(
        statement=statement, language="es", title=f"Título {SCRIPT}", body=SCRIPT
    )
    Link.objects.create(
        statement=statement,
        title=f"Link {SCRIPT}",
        url='https://example.org/a?b="><script>',
        source=f"Source {HANDLER}",
    )
    MediaContact.objects.create(
        statement=statement, name=SCRIPT, role=HANDLER, team=SCRIPT, phone=SCRIPT,
        organization=f"Org {HANDLER}", email="press@example.org",
    )  # fmt: skip
    return statement


class ActiveMarkup(HTMLParser):
    """Collects what a browser would run: scripts, handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag == "script" and not dict(attrs).get("src", "").startswith("/static/"):
            self.found.append(tag)
        if tag in ("iframe", "object", "embed", "svg", "style", "base"):
            self.found.append(tag)
        # The site's own images (the signatures map) come from a path on this site.
        if tag == "img" and not dict(attrs).get("src", "").startswith("/statements/"):
            self.found.append(tag)
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc"):
                self.found.append(f"{tag} {name}")
            # The site's own empty icon is the one data: address allowed.
            schemes = ("javascript:", "vbscript:")
            if tag != "link":
                schemes += ("data:",)
            url = (value or "").strip().lower()
            if name in ("href", "src", "action", "formaction") and url.startswith(
                schemes
            ):
                self.found.append(f"{tag} {name}={value}")


def active_markup(body: str) -> list[str]:
    parser = ActiveMarkup()
    parser.feed(body)
    return parser.found


@pytest.mark.parametrize(
    "url",
    [
        "/statements/hostile/",
        "/es/statements/hostile/",
        "/statements/hostile/?lang=es",
        "/",
        "/statements/",
        "/statements/?q=Title",
        "/statements/?topic=hostile-topic",
    ],
)
def test_script_typed_by_an_organizer_never_runs_on_a_page(client, hostile, url):
    response = client.get(url)
    assert response.status_code == 200
    assert active_markup(response.content.decode()) == []


@pytest.mark.parametrize(
    "url",
    [
        "/feeds/statements.rss",
        "/feeds/statements.atom",
        "/feeds/topic/crackdown.rss",
        "/feeds/topic/hostile-topic.rss",
        "/feeds/topic/hostile-topic.atom",
    ],
)
def test_feeds_carry_no_script_once_a_reader_unescapes_them(client, hostile, url):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(client.get(url).content)
    # Many readers render every text of a feed as HTML, titles included: once the
    # XML is parsed, no text may hold markup that runs.
    texts = [element.text or "" for element in root.iter()]
    assert any("Title" in text for text in texts)
    for text in texts:
        assert active_markup(text) == [], text


def test_a_topic_used_only_by_drafts_has_no_feed(client, published):
    from statements.models import Topic

    make_statement(slug="draft-only", status="draft", topics=["secret-plan"])
    assert Topic.objects.filter(slug="secret-plan").exists()
    assert client.get("/feeds/topic/secret-plan.rss").status_code == 404
    assert client.get("/feeds/topic/crackdown.rss").status_code == 200


def test_api_returns_sanitized_html_and_plain_fields(client, hostile):
    data = client.get("/api/v1/statements/hostile/").json()
    for version in data["versions"]:
        assert active_markup(version["body_html"]) == []
    # Plain fields are data, returned as typed; the JSON is not HTML.
    assert data["title"] == f"Title {SCRIPT}"


def test_links_only_accept_web_addresses():
    from django.core.exceptions import ValidationError

    statement = make_statement(slug="links")
    link = Link(statement=statement, title="x", url="javascript:alert(1)")
    with pytest.raises(ValidationError):
        link.full_clean()
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(statement=statement, title="x", url="javascript:alert(1)")
