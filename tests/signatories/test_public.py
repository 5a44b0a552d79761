import re

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
    # In the order they signed: the first hundred, then the rest.
    assert "?signatories=2" in first
    assert "Signer 99<" in first and "Signer 100<" not in first
    second = client.get(url + "?signatories=2").content.decode()
    assert "?signatories=1" in second and "?signatories=3" not in second
    assert "Signer 100<" in second and "Signer 149<" in second
    assert "Signer 99<" not in second
    assert client.get(url + "?signatories=nonsense").status_code == 200


def shown_names(client, statement) -> list[str]:
    body = client.get(statement.get_absolute_url()).content.decode()
    return re.findall(r"(H\.H\.|Henry Adams|Alpha Org|Beta Org)", body)


def test_the_list_order_does_not_depend_on_a_hidden_name(client, db):
    from tests.factories import make_statement

    # Sorted by name, "Hannah Hu" comes before "Henry Adams" and "Hugo Hz" after:
    # the place of "H.H." would tell which. The organizations' contact names are
    # hidden too, and sorted the other way round in the second statement.
    orders = []
    for slug, hidden, contacts in [
        ("first", "Hannah Hu", ("Zed", "Abe")),
        ("second", "Hugo Hz", ("Abe", "Zed")),
    ]:
        statement = make_statement(slug=slug, accepts_signatures=True)
        confirmed(statement, 1, name="Henry Adams")
        confirmed(statement, 1, name=hidden, display="initials")
        for contact, organization in zip(
            contacts, ("Alpha Org", "Beta Org"), strict=True
        ):
            confirmed(
                statement, 1, name=contact, kind="organization",
                organization=organization,
            )  # fmt: skip
        orders.append(shown_names(client, statement))
    assert orders[0] == orders[1]
    assert orders[0] == ["Alpha Org", "Beta Org", "Henry Adams", "H.H."]


def test_the_list_is_read_in_order_from_its_index(open_statement):
    from django.db import transaction

    from signatories.views import LIST_PAGE_SIZE, listed_signatures

    confirmed(open_statement, 3)
    with transaction.atomic(), connection.cursor() as cursor:
        # The table is tiny here: forbid the whole-table read so the planner shows
        # whether the index can give the rows in the list's order.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = listed_signatures(open_statement)[: LIST_PAGE_SIZE + 1].explain()
    assert "signatories_signature_listed" in plan, plan
    assert "Sort" not in plan, plan


def public_answers(client, statement) -> dict[str, str]:
    """What the page, the embed page, the count API and the map say per country."""
    from django_countries import countries

    page = client.get(statement.get_absolute_url()).content.decode()
    embed = client.get(f"/statements/{statement.slug}/embed/").content.decode()
    api = client.get(f"/api/v1/statements/{statement.slug}/count/").json()
    svg = client.get(f"/statements/{statement.slug}/map.svg").content.decode()
    answers = {}
    for row in api["countries"]:
        name = countries.name(row["code"])
        shown = "not shown" if row["count"] is None else str(row["count"])
        for where, text in [("page", page), ("embed", embed), ("map", svg)]:
            assert f"{name}: {shown}<" in text, (where, name, shown)
        answers[row["code"]] = shown
    return answers


def counts_of(statement, **by_country):
    from signatories.models import SignatureCount

    for code, count in by_country.items():
        SignatureCount.objects.create(
            statement=statement, country=code, kind="person", count=count
        )


def test_one_small_country_hides_the_smallest_other_one_everywhere(
    client, open_statement
):
    from django.core.cache import cache

    cache.delete(f"statement-count:{open_statement.slug}")
    counts_of(open_statement, PH=3, MY=12, ID=40, TH=12)
    answers = public_answers(client, open_statement)
    # Malaysia and Thailand tie: the first by code is hidden, always the same one.
    assert answers == {"PH": "not shown", "MY": "not shown", "ID": "40", "TH": "12"}
    total = client.get(f"/api/v1/statements/{open_statement.slug}/count/").json()
    # The total less the shown counts is 15: neither 3 nor 12 can be told.
    assert total["total"] - 40 - 12 == 15
    page = client.get(open_statement.get_absolute_url()).content.decode()
    assert "not shown either" in page  # the rule is explained where it applies


def test_two_small_countries_hide_nothing_else(client, open_statement):
    from django.core.cache import cache

    cache.delete(f"statement-count:{open_statement.slug}")
    counts_of(open_statement, PH=3, TH=2, MY=12)
    assert public_answers(client, open_statement) == {
        "PH": "not shown", "TH": "not shown", "MY": "12",
    }  # fmt: skip


def test_a_lone_small_country_is_not_named(client, open_statement):
    from django.core.cache import cache

    cache.delete(f"statement-count:{open_statement.slug}")
    counts_of(open_statement, PH=3)
    assert public_answers(client, open_statement) == {}
    svg = client.get(f"/statements/{open_statement.slug}/map.svg").content.decode()
    # Named like every country without signatures, shaded like them too.
    assert "<title>Philippines</title>" in svg and "<title>Kenya</title>" in svg
    page = client.get(open_statement.get_absolute_url()).content.decode()
    assert "Philippines:" not in page


def test_no_small_count_can_be_worked_out_from_the_total():
    import random

    from signatories.services.counts import SMALL_COUNT, hidden_countries

    codes = ["PH", "MY", "ID", "TH", "VN", "HK", "KR", "JP"]
    rng = random.Random(6)
    for _ in range(2000):
        chosen = rng.sample(codes, rng.randint(1, len(codes)))
        by_country = {code: rng.choice([1, 2, 4, 5, 6, 30]) for code in chosen}
        hidden = hidden_countries(by_country)
        small = {code for code, count in by_country.items() if count < SMALL_COUNT}
        assert small <= hidden
        # One hidden country among others would be the total less the rest.
        assert len(hidden) != 1 or len(by_country) == 1, by_country
