"""The signature list, the review buttons of a signature's page, and the pages that
ask before erasing or touching many rows."""

import pytest
from django.contrib.auth.models import Permission

from ima_site.models import AuditEntry
from signatories import services
from signatories.models import Signature
from signatories.services.counts import count_event
from tests.factories import make_statement, make_user
from tests.signatories.test_organizers import confirmation_answer

pytestmark = pytest.mark.django_db

LIST = "/admin/signatories/signature/"


@pytest.fixture
def reviewer(db):
    """A publisher: the role that reviews signatures."""
    return make_user("reviewer", groups=["Publishers"])


@pytest.fixture
def looker(db):
    """An organizer who publishes and may see signatures, but not review them."""
    user = make_user("looker", groups=["Editors"])
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["publish_statement", "view_signature"])
    )
    return user


def signed(statement, count=1, **fields):
    made = []
    for number in range(count):
        signature = Signature.objects.create(
            statement=statement,
            **{"name": f"Signer {number}", "country": "PH", "status": "confirmed",
               **fields},
        )  # fmt: skip
        count_event(signature, +1)
        made.append(signature)
    return made


def page(signature) -> str:
    return f"{LIST}{signature.pk}/change/"


def review(signature) -> str:
    return f"{LIST}{signature.pk}/review/"


def test_the_list_shows_the_columns_that_matter_first(client, reviewer, open_statement):
    signed(open_statement, name="Ana Reyes", display="initials")
    signed(open_statement, name="Budi", is_held=True, hold_reason="network-burst")
    signed(open_statement, kind="organization", name="Contact", organization="Migrante")
    client.force_login(reviewer)
    body = client.get(LIST).content.decode()
    start = body.index("<thead>")
    headers = body[start : body.index("</thead>", start)]
    order = [
        headers.index(label)
        for label in ("Signer", "Country", "Status", "Statement", "Signed")
    ]
    assert order == sorted(order)
    for moved in ("Hold reason", "Source", "Signs as"):
        assert moved not in headers
    assert "Ana Reyes <span" in body and "shown as A.R." in body
    assert "held</strong>" in body and "network-burst" in body
    assert "Migrante" in body and '<abbr title="Philippines">PH</abbr>' in body


def test_the_list_escapes_what_signers_typed(client, reviewer, open_statement):
    signed(open_statement, name="<script>alert(1)</script>", display="initials")
    signed(open_statement, name="X", is_held=True, hold_reason="<b>why</b>")
    client.force_login(reviewer)
    body = client.get(LIST).content.decode()
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body
    assert "<b>why</b>" not in body


def test_the_list_takes_the_same_queries_for_ten_rows_or_a_hundred(
    client, reviewer, open_statement, django_assert_max_num_queries
):
    signed(open_statement, 10)
    client.force_login(reviewer)
    client.get(LIST)
    with django_assert_max_num_queries(30) as few:
        client.get(LIST)
    signed(open_statement, 90)
    with django_assert_max_num_queries(len(few)):
        client.get(LIST)


def test_a_reviewer_holds_and_releases_with_the_signature_pages_buttons(
    client, reviewer, open_statement
):
    [signature] = signed(open_statement)
    client.force_login(reviewer)
    body = client.get(page(signature)).content.decode()
    assert f'action="{review(signature)}"' in body
    assert 'value="hold"' in body and 'value="release"' not in body
    assert 'value="reject"' in body and 'value="erase"' in body

    response = client.post(review(signature), {"action": "hold"}, follow=True)
    assert response.redirect_chain[-1][0] == page(signature)
    assert "1 signature held." in response.content.decode()
    signature.refresh_from_db()
    assert signature.is_held and signature.hold_reason == "organizer"
    body = response.content.decode()
    assert 'value="release"' in body and 'value="hold"' not in body

    client.post(review(signature), {"action": "release"})
    signature.refresh_from_db()
    assert not signature.is_held
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1
    entries = AuditEntry.objects.filter(object_id=str(open_statement.pk))
    assert [(e.action, e.actor, e.details) for e in entries.order_by("id")] == [
        ("signatures.hold", reviewer, {"signatures": [signature.pk]}),
        ("signatures.release", reviewer, {"signatures": [signature.pk]}),
    ]


def test_rejecting_from_the_signature_page_removes_the_name(
    client, reviewer, open_statement
):
    [signature] = signed(open_statement)
    client.force_login(reviewer)
    assert client.post(review(signature), {"action": "reject"}).status_code == 302
    signature.refresh_from_db()
    assert signature.status == "rejected" and signature.name == ""
    assert AuditEntry.objects.filter(action="signatures.reject").exists()


def test_erasing_from_the_signature_page_asks_once_and_says_it_is_for_good(
    client, reviewer, open_statement
):
    [signature] = signed(open_statement)
    client.force_login(reviewer)
    asked = client.post(review(signature), {"action": "erase"})
    body = asked.content.decode()
    assert asked.status_code == 200
    assert "This touches 1 signature." in body and "cannot be undone" in body
    assert f'action="{review(signature)}"' in body
    assert Signature.objects.filter(pk=signature.pk).exists()
    assert not AuditEntry.objects.filter(action="signatures.erase").exists()

    response = client.post(review(signature), confirmation_answer(asked))
    assert response.status_code == 302 and response["Location"] == LIST
    assert not Signature.objects.filter(pk=signature.pk).exists()
    assert AuditEntry.objects.filter(action="signatures.erase").count() == 1


def test_the_buttons_are_posts_with_csrf(reviewer, open_statement):
    from django.test import Client

    [signature] = signed(open_statement)
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.get(review(signature)).status_code == 405
    assert client.post(review(signature), {"action": "hold"}).status_code == 403
    signature.refresh_from_db()
    assert not signature.is_held


def test_an_unknown_button_is_named_and_does_nothing(client, reviewer, open_statement):
    [signature] = signed(open_statement)
    client.force_login(reviewer)
    response = client.post(review(signature), {"action": "link_registry"})
    assert response.status_code == 400
    assert b"Unknown review action" in response.content
    for missing in ("999999", "not-a-number"):
        response = client.post(f"{LIST}{missing}/review/", {"action": "hold"})
        assert response.status_code == 404


def test_without_the_review_permission_there_are_no_buttons_and_posts_are_refused(
    client, editor, looker, open_statement
):
    [signature] = signed(open_statement)
    client.force_login(looker)
    body = client.get(page(signature)).content.decode()
    assert "Signer 0" in body and "/review/" not in body
    for action in ("hold", "release", "reject", "erase"):
        assert client.post(review(signature), {"action": action}).status_code == 403
    client.force_login(editor)
    assert client.get(page(signature)).status_code == 403
    assert client.post(review(signature), {"action": "erase"}).status_code == 403
    signature.refresh_from_db()
    assert not signature.is_held and signature.status == "confirmed"
    assert not AuditEntry.objects.filter(action__startswith="signatures.").exists()


def test_a_bulk_action_on_five_rows_runs_at_once(client, reviewer, open_statement):
    rows = signed(open_statement, 5)
    client.force_login(reviewer)
    post = {"action": "hold", "_selected_action": [s.pk for s in rows]}
    assert client.post(LIST, post).status_code == 302
    assert Signature.objects.filter(is_held=True).count() == 5


def test_a_bulk_action_on_six_rows_asks_first_and_says_six(
    client, reviewer, open_statement
):
    rows = signed(open_statement, 6)
    client.force_login(reviewer)
    post = {"action": "hold", "_selected_action": [s.pk for s in rows]}
    asked = client.post(LIST, post)
    body = asked.content.decode()
    assert asked.status_code == 200
    assert "This touches 6 signatures." in body and "Hold 6 signatures" in body
    assert "cannot be undone" not in body
    assert not Signature.objects.filter(is_held=True).exists()

    assert client.post(LIST, confirmation_answer(asked)).status_code == 302
    assert Signature.objects.filter(is_held=True).count() == 6
    [entry] = AuditEntry.objects.filter(action="signatures.hold")
    assert entry.details == {"signatures": sorted(s.pk for s in rows)}


def test_without_the_answer_nothing_is_erased(client, reviewer, open_statement):
    rows = signed(open_statement, 2)
    client.force_login(reviewer)
    ids = [s.pk for s in rows]
    for post in (
        {"action": "erase", "_selected_action": ids},
        {"action": "erase", "_selected_action": ids, "post": "yes"},
        {"action": "erase", "_selected_action": ids, "post": "yes",
         "confirmation": "0" * 64},
    ):  # fmt: skip
        response = client.post(LIST, post)
        assert response.status_code == 200
        assert "This touches 2 signatures." in response.content.decode()
    assert Signature.objects.count() == 2


def test_an_edited_confirmation_cannot_widen_the_rows(client, reviewer, open_statement):
    rows = signed(open_statement, 6)
    [other] = signed(open_statement, name="Not selected")
    client.force_login(reviewer)
    asked = client.post(
        LIST, {"action": "erase", "_selected_action": [s.pk for s in rows]}
    )
    answer = confirmation_answer(asked)
    assert str(other.pk) not in answer["rows"][0].split(",")

    widened = {**answer, "rows": [f"{answer['rows'][0]},{other.pk}"]}
    response = client.post(LIST, widened)
    assert response.status_code == 200  # asked again, for the whole list
    assert "This touches 7 signatures." in response.content.decode()
    assert Signature.objects.count() == 7

    # Other rows selected beside the signed ones are left alone.
    client.post(LIST, {**answer, "_selected_action": [str(other.pk)]})
    assert list(Signature.objects.all()) == [other]
    assert AuditEntry.objects.filter(action="signatures.erase").count() == 1


def test_ids_of_another_statement_are_left_out_of_a_filtered_list(
    client, reviewer, open_statement
):
    other_statement = make_statement(slug="other", accepts_signatures=True)
    rows = signed(open_statement, 6)
    [foreign] = signed(other_statement)
    client.force_login(reviewer)
    url = f"{LIST}?statement__id__exact={open_statement.pk}"
    asked = client.post(
        url, {"action": "hold", "_selected_action": [s.pk for s in [*rows, foreign]]}
    )
    body = asked.content.decode()
    assert (
        "This touches 6 signatures." in body and "other" not in body.split("<tbody>")[1]
    )
    answer = confirmation_answer(asked)
    assert str(foreign.pk) not in answer["rows"][0].split(",")
    # Putting it back in the answer does not get it held.
    answer["_selected_action"].append(str(foreign.pk))
    client.post(url, answer)
    assert set(Signature.objects.filter(is_held=True)) == set(rows)
    foreign.refresh_from_db()
    assert not foreign.is_held


def test_a_reviewer_who_lost_the_permission_cannot_answer(
    client, reviewer, open_statement
):
    rows = signed(open_statement, 6)
    client.force_login(reviewer)
    asked = client.post(
        LIST, {"action": "erase", "_selected_action": [s.pk for s in rows]}
    )
    reviewer.groups.clear()
    reviewer.user_permissions.add(Permission.objects.get(codename="view_signature"))
    reviewer = type(reviewer).objects.get(pk=reviewer.pk)  # no cached permissions
    client.force_login(reviewer)
    client.post(LIST, confirmation_answer(asked))
    assert Signature.objects.count() == 6


def test_another_users_answer_does_not_count(client, reviewer, open_statement):
    rows = signed(open_statement, 6)
    client.force_login(reviewer)
    asked = client.post(
        LIST, {"action": "erase", "_selected_action": [s.pk for s in rows]}
    )
    client.force_login(make_user("second-reviewer", groups=["Publishers"]))
    response = client.post(LIST, confirmation_answer(asked))
    assert response.status_code == 200  # asked again, for this user
    assert Signature.objects.count() == 6


def test_holding_every_row_of_a_long_filtered_list_asks_once_and_holds_them(
    client, reviewer, open_statement
):
    """More rows than a form may post fields (Django's 1,000): the answer still
    fits, and it holds the rows the page counted, not the ones that came after."""
    Signature.objects.bulk_create(
        Signature(statement=open_statement, name=f"Burst {n}", country="PH",
                  status="confirmed")
        for n in range(1200)
    )  # fmt: skip
    other_statement = make_statement(slug="other", accepts_signatures=True)
    [elsewhere] = signed(other_statement)
    client.force_login(reviewer)
    url = f"{LIST}?statement__id__exact={open_statement.pk}"
    first_page = Signature.objects.filter(statement=open_statement)[:100]
    asked = client.post(
        url,
        {"action": "hold", "select_across": "1",
         "_selected_action": [s.pk for s in first_page]},
    )  # fmt: skip
    assert "This touches 1200 signatures." in asked.content.decode()
    answer = confirmation_answer(asked)
    assert sum(len(values) for values in answer.values()) < 100
    [late] = signed(open_statement, name="Came after the question")

    response = client.post(url, answer)

    assert response.status_code == 302
    assert Signature.objects.filter(is_held=True).count() == 1200
    late.refresh_from_db()
    elsewhere.refresh_from_db()
    assert not late.is_held and not elsewhere.is_held
    [entry] = AuditEntry.objects.filter(action="signatures.hold")
    assert len(entry.details["signatures"]) == 1200
