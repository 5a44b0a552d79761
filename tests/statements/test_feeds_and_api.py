import xml.etree.ElementTree as ET

import pytest
from django.conf import settings

from tests.factories import make_statement

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@pytest.fixture
def statements(db):
    make_statement(slug="malaysia", countries=["MY"], topics=["crackdown"])
    make_statement(
        slug="kuwait", countries=["KW"], topics=["kafala"], translations={"ar": "رسالة"}
    )


def test_rss_feed_is_valid_rss_2(client, statements):
    response = client.get("/feeds/statements.rss")
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = ET.fromstring(response.content).find("channel")
    assert channel.findtext("title")
    assert channel.findtext("link").startswith("http")
    items = channel.findall("item")
    assert {item.findtext("link").rsplit("/", 2)[-2] for item in items} == {
        "malaysia",
        "kuwait",
    }
    for item in items:
        assert item.findtext("pubDate") and item.findtext("guid")


def test_atom_feed_is_valid_atom(client, statements):
    response = client.get("/feeds/statements.atom")
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text and feed.find(f"{ATOM}updated").text
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 2
    for entry in entries:
        assert entry.find(f"{ATOM}id").text and entry.find(f"{ATOM}updated").text


def test_country_and_topic_feeds_hold_only_their_statements(client, statements):
    def slugs(url):
        channel = ET.fromstring(client.get(url).content).find("channel")
        return [
            item.findtext("link").rsplit("/", 2)[-2] for item in channel.findall("item")
        ]

    assert slugs("/feeds/country/MY.rss") == ["malaysia"]
    assert slugs("/feeds/country/kw.rss") == ["kuwait"]
    assert slugs("/feeds/topic/kafala.rss") == ["kuwait"]
    assert client.get("/feeds/country/ZZ.rss").status_code == 404
    assert client.get("/feeds/topic/nothing.rss").status_code == 404


def test_sitemap_lists_every_public_version(client, statements):
    response = client.get("/sitemap.xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    locations = {url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")}
    assert any(loc.endswith("/statements/malaysia/") for loc in locations)
    assert any(loc.endswith("/statements/kuwait/?lang=ar") for loc in locations)
    assert any(loc.endswith("/statements/") for loc in locations)


def test_api_lists_published_statements_with_filters_and_search(client, statements):
    data = client.get("/api/v1/statements/").json()
    assert data["count"] == 2
    assert {"slug", "title", "kind", "countries", "languages", "url"} <= set(
        data["results"][0]
    )
    assert [
        s["slug"]
        for s in client.get("/api/v1/statements/?country=KW").json()["results"]
    ] == ["kuwait"]
    assert client.get("/api/v1/statements/?topic=crackdown").json()["count"] == 1
    assert client.get("/api/v1/statements/?language=ar").json()["count"] == 1
    assert client.get("/api/v1/statements/?search=raids").json()["count"] == 2
    assert client.get("/api/v1/statements/?search=nonexistentword").json()["count"] == 0


def test_api_rejects_a_bad_filter_naming_it(client, statements):
    response = client.get("/api/v1/statements/?kind=manifesto")
    assert response.status_code == 400
    assert "kind" in response.json()


def test_api_detail_carries_versions_links_and_contacts(client):
    make_statement(slug="full", translations={"es": "Alto"}, links=1, contacts=1)
    data = client.get("/api/v1/statements/full/").json()
    assert [v["language"] for v in data["versions"]] == ["en", "es"]
    assert data["versions"][0]["body_html"].startswith("<p>")
    assert data["links"][0]["url"] == "https://example.org/0"
    assert data["media_contacts"][0]["email"] == "press0@example.org"
    assert data["url"] == f"{settings.SITE_URL}/statements/full/"


def test_api_is_read_only(client, publisher, statements):
    client.force_login(publisher)
    assert client.post("/api/v1/statements/", {}).status_code in (403, 405)
    assert client.delete("/api/v1/statements/malaysia/").status_code in (403, 405)


def test_drafts_in_the_api_only_for_organizers(client, editor, outsider, draft):
    assert client.get(f"/api/v1/statements/{draft.slug}/").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/api/v1/statements/{draft.slug}/").status_code == 404
    client.force_login(editor)
    assert client.get(f"/api/v1/statements/{draft.slug}/").status_code == 200


def test_openapi_schema_and_offline_docs(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi: 3" in schema.content
    assert b"/api/v1/statements/{slug}/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    # The docs page loads its scripts from this site, never from a CDN.
    assert "cdn" not in docs.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs
