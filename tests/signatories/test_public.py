import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from signatories import services
from signatories.models import Organization, Signature
from signatories.services.counts import count_event
from tests.signatories.conftest import form_data, link_from, send_outbox
from tests.statements.test_visibility_and_sanitizing import active_markup

pytestmark = pytest.mark.django_db


def confirmed(statement, n, **fields):
    for i in range(n):
        signature = Signature.objects.create(
            statement=statement,
            name=fields.get("name", f"Signer {i}"),
            country=fields.get("country", "PH"),
            kind=fields.get("kind", "person"),
            organization=fields.get("organization", ""),
            display=fields.get("display", "full"),
            status="confirmed",
            member_organization=fields.get("member_organization"),
        )
        count_event(signature, +1)
    services.apply_count_events()


def test_statement_page_queries_do_not_grow_with_signatures(client, open_statement):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(open_statement.get_absolute_url()).status_code == 200
        return len(captured)

    confirmed(open_statement, 1)
    few = queries()
    confirmed(open_statement, 150, country="MY")
    assert queries() == few


def test_people_are_listed_as_they_chose_and_members_get_a_badge(
    client, open_statement
):
    member = Organization.objects.create(
        name="Migrante", country="PH", is_member=True, verified=True
    )
    confirmed(
        open_statement,
        1,
        name="Ana Maria Reyes",
        display="initials",
        organization="Tiny Group",
    )
    confirmed(open_statement, 1, name="Hidden Person", display="count_only")
    confirmed(
        open_statement, 1, name="Contact", kind="organization",
        organization="Migrante International", member_organization=member,
    )  # fmt: skip
    body = client.get(open_statement.get_absolute_url()).content.decode()
    assert "A.M.R." in body and "Ana Maria Reyes" not in body
    assert "A.M.R.</li>" in body  # no organization beside initials
    assert "Hidden Person" not in body
    assert "Migrante International" in body and "IMA member" in body
    assert '<strong class="count-total">3</strong>' in body


def test_script_in_a_signers_name_never_runs(client, open_statement):
    confirmed(
        open_statement, 1, name='<script>alert(1)</script>', kind="organization",
        organization='<img src=x onerror=alert(2)>',
    )  # fmt: skip
    body = client.get(open_statement.get_absolute_url()).content.decode()
    assert active_markup(body) == []
    assert "&lt;img src=x" in body


def test_no_canary_email_anywhere_public_after_signing(
    client, open_statement, settings
):
    settings.SIGNING_MIN_SECONDS = 0
    canary = "canary.4471@example.org"
    client.post(
        f"/statements/{open_statement.slug}/sign/",
        form_data(client, open_statement, email=canary, consent="on", name="Canary"),
    )
    [email] = send_outbox()
    client.post(link_from(email, "confirm").split("8000", 1)[-1])
    services.apply_count_events()
    for url in [
        "/", "/statements/", f"/statements/{open_statement.slug}/",
        f"/statements/{open_statement.slug}/embed/", "/feeds/statements.rss",
        "/feeds/statements.atom", "/sitemap.xml", "/api/v1/statements/",
        f"/api/v1/statements/{open_statement.slug}/",
        f"/api/v1/statements/{open_statement.slug}/count/", "/api/schema/",
    ]:  # fmt: skip
        body = client.get(url).content.decode()
        assert "canary.4471" not in body, url
    assert (
        "Canary" in client.get(f"/statements/{open_statement.slug}/").content.decode()
    )


def test_embed_page_may_be_framed_and_nothing_else_may(client, open_statement):
    embed = client.get(f"/statements/{open_statement.slug}/embed/")
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed
    page = client.get(open_statement.get_absolute_url())
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Frame-Options"] == "DENY"
    # What follows a submit inside the frame may be framed too.
    bad = client.post(
        f"/statements/{open_statement.slug}/sign/", {"embedded": "1", "name": ""}
    )
    assert (
        bad.status_code == 400 and "frame-ancestors *" in bad["Content-Security-Policy"]
    )
    done = client.get(f"/statements/{open_statement.slug}/signed/?embedded=1")
    assert "frame-ancestors *" in done["Content-Security-Policy"]
    assert "X-Frame-Options" not in done


def test_a_statement_page_with_the_signing_form_stays_under_50_kb(
    client, open_statement
):
    from pathlib import Path

    from django.contrib.staticfiles import finders

    from tests.statements.test_pages import Assets

    confirmed(open_statement, 100, country="MY")
    html = client.get(open_statement.get_absolute_url()).content.decode()
    parser = Assets()
    parser.feed(html)
    total = len(html.encode()) + sum(
        Path(finders.find(url.removeprefix("/static/"))).stat().st_size
        for url in parser.urls
        if url.startswith("/static/")
    )
    assert total <= 50_000, total
    assert all(url.startswith("/") for url in parser.urls)


def test_signatory_list_pages_without_counting_the_whole_list(client, open_statement):
    confirmed(open_statement, 150)
    url = open_statement.get_absolute_url()
    with CaptureQueriesContext(connection) as captured:
        first = client.get(url).content.decode()
    listing = [q["sql"] for q in captured if "signatories_signature" in q["sql"]]
    assert not any("COUNT(" in sql.upper() for sql in listing)
    assert "?signatories=2" in first and "Signer 99<" not in first
    second = client.get(url + "?signatories=2").content.decode()
    assert "?signatories=1" in second and "?signatories=3" not in second
    assert "Signer 99<" in second
    assert client.get(url + "?signatories=nonsense").status_code == 200
