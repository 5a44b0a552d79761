"""The site cannot be used to send spam, and its limits hold under concurrency."""

import contextlib
import http.client
import re
import secrets
import threading
import time as clock
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from ima_site.crypto import keyed_hash
from ima_site.models import OutboxMessage
from signatories import services
from signatories.canonical import canonical_email
from signatories.forms import FORM_TOKEN_SALT, SignForm, new_form_token
from signatories.models import (
    KnownRecipient,
    RecipientDay,
    Signature,
    SigningAttempt,
    UsedFormToken,
)
from signatories.services import SignerData, recipients
from tests.factories import make_statement
from tests.signatories.conftest import form_data, link_from, send_outbox
from tests.test_settings import start

TYPED = {
    "kind": "organization",
    "name": "Qzxname Typedperson",
    "organization": "Qzxorg Typed Union",
    "role": "Qzxrole Typed",
    "city": "Qzxcity Typed",
}


@pytest.fixture(autouse=True)
def no_minimum_fill_time(settings):
    settings.SIGNING_MIN_SECONDS = 0


def sign(client, statement, ip="198.51.100.7", **overrides):
    return client.post(
        f"/statements/{statement.slug}/sign/",
        form_data(client, statement, **overrides),
        REMOTE_ADDR=ip,
    )


def statements(count: int):
    return [make_statement(slug=f"s{i}", accepts_signatures=True) for i in range(count)]


def whole_email(email) -> str:
    return "\n".join([email.subject, email.body, email.alternatives[0][0]])


def due_now() -> int:
    return OutboxMessage.objects.filter(
        status="queued", next_attempt_at__lte=timezone.now()
    ).count()


def tomorrow_midnight() -> datetime:
    return datetime.combine(
        timezone.now().date() + timedelta(days=1), time.min, tzinfo=UTC
    )


# --- 1. Nothing the signer typed goes to an unconfirmed address -------------------


@pytest.mark.django_db
def test_emails_to_an_unconfirmed_address_carry_nothing_the_signer_typed(
    client, open_statement
):
    assert sign(client, open_statement, **TYPED).status_code == 303
    [confirmation] = send_outbox()
    Signature.objects.update(created_at=timezone.now() - timedelta(days=3))
    assert services.send_reminders() == 1
    [reminder] = send_outbox()
    assert "Reminder" in reminder.subject
    for email in (confirmation, reminder):
        text = whole_email(email)
        # In every typed field, in none of the emails. Whole words: three letters
        # alone turn up in a link's random token now and then.
        for typed in ("Qzxname", "Typedperson", "Qzxorg", "Qzxrole", "Qzxcity"):
            assert typed not in text
        # The organizer's text may be there: the statement's title.
        assert "Stop the raids on migrant workers" in text
        assert "/s/confirm/" in email.body


@pytest.mark.django_db
def test_the_already_signed_notice_names_only_what_the_address_confirmed(
    client, open_statement
):
    sign(client, open_statement, name="Ana Reyes")
    [email] = send_outbox()
    client.post(urlsplit(link_from(email, "confirm")).path)
    sign(client, open_statement, name="Qzx Spam Text")
    [notice] = send_outbox()
    assert "already signed" in notice.body
    assert "Ana Reyes" in notice.body
    assert "Qzx Spam" not in whole_email(notice)


# --- 2. At most three emails a day to an address that never confirmed --------------


@pytest.mark.django_db
def test_an_address_gets_at_most_three_emails_a_day_whatever_the_statements(client):
    for statement in statements(10):
        assert sign(client, statement, email="victim@example.org").status_code == 303
    assert len(send_outbox()) == 3
    waiting = OutboxMessage.objects.filter(status="queued")
    assert waiting.count() == 7  # never dropped: they wait for the days after
    assert all(m.recipient is not None for m in waiting)
    # Each later day takes three at most, in order, from midnight.
    first = tomorrow_midnight()
    by_day = sorted(m.next_attempt_at for m in waiting)
    assert by_day == [first] * 3 + [first + timedelta(days=1)] * 3 + [
        first + timedelta(days=2)
    ]
    days = RecipientDay.objects.order_by("day")
    assert [d.emails for d in days] == [3, 3, 3, 1]
    assert [(d.day - days[0].day).days for d in days] == [0, 1, 2, 3]


@pytest.mark.django_db
def test_the_waiting_email_goes_out_the_next_day(client):
    for statement in statements(4):
        sign(client, statement, email="victim@example.org")
    assert len(send_outbox()) == 3
    assert send_outbox() == []
    # The next day has come.
    OutboxMessage.objects.filter(status="queued").update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    [late] = send_outbox()
    assert late.to == ["victim@example.org"]


@pytest.mark.django_db
def test_plus_tags_and_case_do_not_buy_more_emails(client):
    for i, statement in enumerate(statements(5)):
        sign(client, statement, email=f"Victim+{i}@Example.org")
    assert len(send_outbox()) == 3


@pytest.mark.django_db
def test_repeats_on_one_statement_count_against_the_cap(client, open_statement):
    for name in ("One", "Two", "Three", "Four"):
        sign(client, open_statement, email="victim@example.org", name=name)
    assert len(send_outbox()) == 3


@pytest.mark.django_db
def test_an_address_that_confirmed_is_not_capped(client):
    first, *others = statements(6)
    sign(client, first, email="ana@example.org")
    [email] = send_outbox()
    client.post(urlsplit(link_from(email, "confirm")).path)
    assert KnownRecipient.objects.count() == 1
    for statement in others:
        sign(client, statement, email="ana@example.org")
    assert len(send_outbox()) == 5


@pytest.mark.django_db
def test_the_cap_keeps_no_address_in_clear(client, open_statement):
    sign(client, open_statement, email="canary.4471@example.org")
    [email] = send_outbox()
    client.post(urlsplit(link_from(email, "confirm")).path)
    with connection.cursor() as cursor:
        for table in ("signatories_recipientday", "signatories_knownrecipient",
                      "signatories_usedformtoken"):  # fmt: skip
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            rows = cursor.fetchall()
            assert rows, table
            dump = repr(rows).encode()
            assert b"canary" not in dump.lower(), table
            assert b"example.org" not in dump, table


@pytest.mark.django_db(transaction=True)
def test_the_cap_is_exact_when_many_sign_with_one_address_at_once():
    many = statements(12)
    barrier = threading.Barrier(len(many))

    def sign_one(statement):
        try:
            barrier.wait()
            services.sign_statement(
                statement=statement,
                # A big provider and no address: no limit lock serializes these.
                data=SignerData(name="A", email="victim@gmail.com", country="PH"),
                client_ip=None,
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(many)) as pool:
        list(pool.map(sign_one, many))
    days = {}
    for message in OutboxMessage.objects.all():
        days.setdefault(message.next_attempt_at.date(), 0)
        days[message.next_attempt_at.date()] += 1
    assert sorted(days.values()) == [3, 3, 3, 3]
    assert list(RecipientDay.objects.values_list("emails", flat=True)) == [3] * 4


@pytest.mark.django_db
def test_retention_drops_past_day_counts_and_old_form_tokens():
    today = timezone.now().date()
    for age in (0, 1, 2, 3, 10):
        RecipientDay.objects.create(
            address_hash=f"h{age}", day=today - timedelta(days=age), emails=3
        )
    young = UsedFormToken.objects.create(nonce_hash="young")
    old = UsedFormToken.objects.create(nonce_hash="old")
    UsedFormToken.objects.filter(pk=old.pk).update(
        used_at=timezone.now() - timedelta(days=4)
    )
    done = services.apply_retention()
    assert done["email_days"] == 2
    assert done["form_tokens"] == 1
    assert sorted(RecipientDay.objects.values_list("address_hash", flat=True)) == [
        "h0", "h1", "h2",
    ]  # fmt: skip
    assert list(UsedFormToken.objects.all()) == [young]


# --- 3. Bot holds get no email; limit holds get theirs on release ------------------


def held_reason() -> str:
    return Signature.objects.get().hold_reason


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"website": "http://spam.example"}, "honeypot"),
        ({"started": ""}, "no-form-token"),
        ({"started": "forged"}, "no-form-token"),
        # A token of the kind made before tokens named their statement.
        ({"started": signing.dumps(0.0, salt=FORM_TOKEN_SALT)}, "no-form-token"),
    ],
)
def test_a_bot_gets_no_email(client, open_statement, change, reason):
    assert sign(client, open_statement, **change).status_code == 303
    assert held_reason() == reason
    assert send_outbox() == []
    # Not later either: held signatures get no reminder.
    Signature.objects.update(created_at=timezone.now() - timedelta(days=3))
    assert services.send_reminders() == 0
    assert send_outbox() == []


@pytest.mark.django_db
def test_a_form_token_is_good_for_its_own_statement_only(client, open_statement):
    other = make_statement(slug="other", accepts_signatures=True)
    token = form_data(client, other)["started"]
    sign(client, open_statement, started=token)
    assert held_reason() == "foreign-form-token"
    assert send_outbox() == []


@pytest.mark.django_db
def test_a_form_token_is_good_once(client, open_statement):
    data = form_data(client, open_statement)
    url = f"/statements/{open_statement.slug}/sign/"
    first = client.post(url, data)
    again = client.post(url, {**data, "email": "second@example.org"})
    assert first.status_code == again.status_code == 303
    assert first["Location"] == again["Location"]
    reasons = dict(Signature.objects.values_list("email_hash", "hold_reason"))
    assert sorted(reasons.values()) == ["", "reused-form-token"]
    [email] = send_outbox()
    assert email.to == ["ana@example.org"]
    assert UsedFormToken.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_form_token_is_held(client, open_statement, monkeypatch):
    token = new_form_token(open_statement)
    monkeypatch.setattr(
        "signatories.forms.FORM_TOKEN_MAX_AGE", -1
    )  # every token is too old
    sign(client, open_statement, started=token)
    assert held_reason() == "expired-form-token"
    assert send_outbox() == []


@pytest.mark.django_db
def test_a_fast_fill_is_held_and_emailed_once_released(
    client, open_statement, settings, publisher
):
    settings.SIGNING_MIN_SECONDS = 60
    sign(client, open_statement)
    assert held_reason() == "too-fast"
    assert send_outbox() == []
    signature = Signature.objects.get()
    services.release_signatures(ids=[signature.pk], by=publisher)
    [email] = send_outbox()
    assert email.to == ["ana@example.org"]
    client.post(urlsplit(link_from(email, "confirm")).path)
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1
    # Released once: releasing again sends nothing more; and no reminder follows.
    services.release_signatures(ids=[signature.pk], by=publisher)
    Signature.objects.update(created_at=timezone.now() - timedelta(days=3))
    services.send_reminders()
    assert send_outbox() == []


@pytest.mark.django_db
def test_a_signature_held_by_a_limit_is_emailed_once_released(
    client, open_statement, settings, publisher
):
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 1}
    sign(client, open_statement, email="first@example.org")
    sign(client, open_statement, email="second@example.org")
    held = Signature.objects.get(is_held=True)
    assert held.hold_reason == "network-burst"
    assert [e.to for e in send_outbox()] == [["first@example.org"]]
    services.release_signatures(ids=[held.pk], by=publisher)
    assert [e.to for e in send_outbox()] == [["second@example.org"]]


@pytest.mark.django_db
def test_signing_again_while_held_by_a_limit_sends_nothing(
    client, open_statement, settings
):
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 0}
    sign(client, open_statement)
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 100}
    sign(client, open_statement)  # the same address, a clean post this time
    assert Signature.objects.get().hold_reason == "network-burst"
    assert send_outbox() == []  # its email goes when an organizer releases it


@pytest.mark.django_db
def test_the_api_shares_the_honeypot_and_the_limits_but_has_no_fill_time(
    open_statement, settings
):
    settings.SIGNING_MIN_SECONDS = 60
    url = f"/api/v1/statements/{open_statement.slug}/signatures/"
    person = {"name": "Budi", "email": "budi@example.org", "country": "ID"}
    api = APIClient()
    assert api.post(url, person, format="json").status_code == 202
    assert not Signature.objects.get().is_held  # no form, no fill time
    assert len(send_outbox()) == 1
    bot = {**person, "email": "bot@example.net", "website": "x"}
    assert api.post(url, bot, format="json").status_code == 202
    assert Signature.objects.get(is_held=True).hold_reason == "honeypot"
    assert send_outbox() == []
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 2}
    third = {**person, "email": "third@example.org"}
    assert api.post(url, third, format="json").status_code == 202
    assert Signature.objects.filter(hold_reason="network-burst").count() == 1
    assert send_outbox() == []


# --- The same work for "already signed" and new signers ----------------------------


def query_shapes(statement, email: str) -> list[str]:
    """The queries one signing runs, with every value blanked out."""
    with CaptureQueriesContext(connection) as captured:
        services.sign_statement(
            statement=statement,
            data=SignerData(name="Someone", email=email, country="PH"),
            client_ip="203.0.113.5",
            form_nonce=secrets.token_urlsafe(12),
        )
    blank = re.compile(r"('[^']*'|\s*-?\b\d+\b|\"s\d+_x\d+\"|NULL)(::\w+)?")
    return [blank.sub("?", query["sql"]) for query in captured.captured_queries]


@pytest.mark.django_db
def test_new_and_already_signed_signers_run_the_same_queries(open_statement):
    # bench/signing_timing.py measures the time over HTTP; this keeps the work equal.
    services.sign_statement(
        statement=open_statement,
        data=SignerData(name="Known", email="known@example.org", country="PH"),
        client_ip=None,
    )
    services.confirm_signature(signature=Signature.objects.get())
    new = query_shapes(open_statement, "new@example.org")
    assert len(new) > 5
    assert query_shapes(open_statement, "known@example.org") == new  # confirmed
    assert query_shapes(open_statement, "new@example.org") == new  # pending
    for _ in range(3):  # past the notices' cap
        query_shapes(open_statement, "known@example.org")
    assert query_shapes(open_statement, "known@example.org") == new


@pytest.mark.django_db
def test_an_address_over_its_daily_cap_runs_the_same_queries_as_a_known_one(
    open_statement,
):
    """A fourth email in a day to an address that never confirmed waits: that must
    not cost a query more, or the answer's timing would tell who has confirmed."""
    services.sign_statement(
        statement=open_statement,
        data=SignerData(name="Known", email="known@example.org", country="PH"),
        client_ip=None,
    )
    services.confirm_signature(signature=Signature.objects.get())
    others = [
        make_statement(slug=f"cap-{n}", accepts_signatures=True) for n in range(4)
    ]
    known, capped = [], []
    for statement in others:
        known = query_shapes(statement, "known@example.org")
        capped = query_shapes(statement, "target@example.org")
        assert capped == known
    waiting = OutboxMessage.objects.filter(next_attempt_at__gt=timezone.now())
    assert waiting.count() == 1  # the fourth to the new address waits for tomorrow


# --- 4. The web-address check ------------------------------------------------------

ADDRESS_LIKE = [
    "evil\u2024com",  # one dot leader
    "evil\ufe52com",  # small full stop
    "evil\uff0ecom",  # full-width full stop
    "evil。com",
    "evil[.]com",
    "evil(dot)com",
    "evil . com",
    "evil .com",
    "1.2.3.4/x",
    "Visit 203.0.113.9",
    "пример.рф",
    "bücher.de",
    "ｅｖｉｌ．ｃｏｍ",  # full-width letters
    "ｗｗｗ．example",
    "https://x",
    "bit.ly/x",
]
REAL_NAMES = [
    "J. Smith",
    "Mary Dot Smith",
    "Ma. Teresa Cruz",
    "Ma. del Rosario Santos",
    "St. John",
    "Dr. Ali",
    "Sta. Rosa",
    "H.H.",
    "محمد عبد الله",
    "王小明",
    "阿沛·阿旺晋美",
    "สมชาย ใจดี",
    "Nguyễn Thị Minh Khai",
    "O'Brien-Smith Jr.",
    "Gal·la Puig",
]


def form_errors(statement, **fields) -> dict:
    data = {
        "kind": "person", "name": "Ana Reyes", "email": "ana@example.org",
        "country": "PH", "display": "full", "language": "en",
        "started": new_form_token(statement), "website": "",
    }  # fmt: skip
    data.update(fields)
    form = SignForm(data, statement=statement)
    form.is_valid()
    return form.errors


@pytest.mark.django_db
@pytest.mark.parametrize("text", ADDRESS_LIKE)
@pytest.mark.parametrize("field", ["name", "organization", "role", "city"])
def test_text_that_reads_as_a_web_address_is_refused(open_statement, field, text):
    errors = form_errors(open_statement, **{field: text})
    assert "web address" in " ".join(errors.get(field, [])), (field, text)


@pytest.mark.django_db
@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_are_accepted(open_statement, name):
    assert form_errors(open_statement, name=name, city=name) == {}


@pytest.mark.django_db
def test_a_look_alike_address_is_refused_through_the_page(client, open_statement):
    response = sign(client, open_statement, name="Visit evil\u2024com")
    assert response.status_code == 400
    assert "cannot contain a web address" in response.content.decode()
    assert not Signature.objects.exists()


# --- 5. Limits exact under concurrency, against the real server ---------------------


def post_in_parallel(live_server, statement, bodies, headers_for=lambda i: {}):
    """POST every body at once (a barrier), each on its own connection."""
    address = urlsplit(live_server.url)
    barrier = threading.Barrier(len(bodies))

    def post(index):
        barrier.wait()
        # The test server listens with a short queue (10), and shares the GIL with
        # the 60 clients: a connection it could not take in time is reset before
        # any of the request is read (the counts below check that), so try again.
        for attempt in range(20):
            conn = http.client.HTTPConnection(
                address.hostname, address.port, timeout=60
            )
            try:
                conn.request(
                    "POST", f"/statements/{statement.slug}/sign/",
                    body=urlencode(bodies[index]),
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             **headers_for(index)},
                )  # fmt: skip
                response = conn.getresponse()
                response.read()
                return response.status
            except (ConnectionResetError, ConnectionRefusedError):
                clock.sleep(0.05 * (attempt + 1))
            finally:
                conn.close()
        return "no connection"

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, range(len(bodies))))


def body(statement, email: str) -> dict:
    return {
        "kind": "person", "name": "Parallel Signer", "email": email, "country": "PH",
        "display": "full", "language": "en", "website": "",
        "started": new_form_token(statement),
    }  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_sixty_parallel_posts_from_one_network_leave_exactly_the_limit_unheld(
    live_server, settings
):
    settings.SIGNING_LIMITS = {
        **dict.fromkeys(settings.SIGNING_LIMITS, 10**6), "network_minute": 30,
    }  # fmt: skip
    statement = make_statement(slug="flood", accepts_signatures=True)
    bodies = [body(statement, f"p{i}@example.org") for i in range(60)]
    statuses = post_in_parallel(live_server, statement, bodies)
    assert statuses == [303] * 60
    signatures = Signature.objects.filter(statement=statement)
    assert signatures.count() == 60
    # Each post was handled once (a reset connection had not been read).
    assert SigningAttempt.objects.filter(statement=statement).count() == 60
    assert signatures.filter(is_held=False).count() == 30
    assert set(
        signatures.filter(is_held=True).values_list("hold_reason", flat=True)
    ) == {"network-burst"}
    # Within the minute nothing more gets through, one at a time either.
    late = [body(statement, "late@example.org")]
    assert post_in_parallel(live_server, statement, late) == [303]
    assert signatures.filter(is_held=False).count() == 30
    # And the held ones got no email.
    emails = OutboxMessage.objects.filter(object_id__in=signatures.values("id"))
    assert emails.filter(status="queued").count() == 30


@pytest.mark.django_db(transaction=True)
def test_parallel_posts_from_many_networks_hold_the_domain_limit_exactly(
    live_server, settings
):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SIGNING_LIMITS = {
        **dict.fromkeys(settings.SIGNING_LIMITS, 10**6), "domain_minute": 10,
    }  # fmt: skip
    statement = make_statement(slug="domain-flood", accepts_signatures=True)
    bodies = [body(statement, f"p{i}@small-ngo.example") for i in range(30)]
    statuses = post_in_parallel(
        live_server, statement, bodies,
        headers_for=lambda i: {"X-Forwarded-For": f"203.0.{i}.9"},
    )  # fmt: skip
    assert statuses == [303] * 30
    signatures = Signature.objects.filter(statement=statement)
    assert signatures.filter(is_held=False).count() == 10
    assert len(set(signatures.values_list("network_hash", flat=True))) == 30


@pytest.mark.django_db(transaction=True)
def test_one_form_token_posted_many_times_at_once_is_used_once(live_server, settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="replay", accepts_signatures=True)
    token = new_form_token(statement)
    bodies = [{**body(statement, f"r{i}@example.org"), "started": token}
              for i in range(10)]  # fmt: skip
    assert post_in_parallel(live_server, statement, bodies) == [303] * 10
    reasons = sorted(
        Signature.objects.filter(statement=statement).values_list(
            "hold_reason", flat=True
        )
    )
    assert reasons == [""] + ["reused-form-token"] * 9


# --- 6. Behind a proxy, the proxy count must be set ---------------------------------


def test_behind_a_proxy_without_a_proxy_count_the_site_refuses_to_start():
    result = start(DJANGO_BEHIND_PROXY="1", TRUSTED_PROXY_COUNT="0")
    assert result.returncode != 0
    assert "DJANGO_BEHIND_PROXY=1 but TRUSTED_PROXY_COUNT=0" in result.stderr
    unset = start(DJANGO_BEHIND_PROXY="1", TRUSTED_PROXY_COUNT=None)
    assert "TRUSTED_PROXY_COUNT" in unset.stderr and unset.returncode != 0
    assert start(DJANGO_BEHIND_PROXY="1", TRUSTED_PROXY_COUNT="1").returncode == 0
    assert start(DJANGO_BEHIND_PROXY="0", TRUSTED_PROXY_COUNT="0").returncode == 0


def test_recipient_hash_is_one_per_inbox():
    same = {
        recipients.recipient_hash(a)
        for a in ("victim@example.org", " Victim+x@EXAMPLE.org", "victim+y@example.org")
    }
    assert len(same) == 1
    assert recipients.recipient_hash("other@example.org") not in same


def test_pages_with_a_signing_form_are_never_cached_so_each_visitor_gets_a_token(
    client, db
):
    """A shared cache or the back button must not hand one used token to the next
    person: they would be held as a replaying bot and get no email."""
    statement = make_statement(slug="fresh-tokens", accepts_signatures=True)
    plain = make_statement(slug="no-signing")
    for url in [statement.get_absolute_url(), f"/statements/{statement.slug}/embed/"]:
        response = client.get(url)
        assert "no-store" in response["Cache-Control"], url
        assert "private" in response["Cache-Control"], url
    assert "no-store" not in client.get(plain.get_absolute_url()).get(
        "Cache-Control", ""
    )
    tokens = {
        re.search(r'name="started" value="([^"]+)"', client.get(url).content.decode())[
            1
        ]
        for url in [statement.get_absolute_url()] * 2
    }
    assert len(tokens) == 2


def test_the_signed_page_offers_a_fresh_form_to_the_next_person(client, db):
    statement = make_statement(slug="shared-phone", accepts_signatures=True)
    response = client.post(
        f"/statements/{statement.slug}/sign/", form_data(client, statement)
    )
    page = client.get(response["Location"]).content.decode()
    assert f'href="/statements/{statement.slug}/#sign"' in page
    embedded = client.get(f"/statements/{statement.slug}/signed/?embedded=1")
    assert f'href="/statements/{statement.slug}/embed/"' in embedded.content.decode()
    # Following it gives the second person a token of their own: an email for them.
    second = form_data(client, statement, email="second@example.org", name="Bea Cruz")
    client.post(f"/statements/{statement.slug}/sign/", second)
    sent = [email.to for email in send_outbox()]
    assert sent == [["ana@example.org"], ["second@example.org"]]


# --- 7. One inbox, one address: spellings the mailer merges are merged here too -----

# Each of these reaches the inbox of victim@example.org: Django's SMTP backend sends a
# non-ASCII domain in its IDNA form.
SAME_INBOX = [
    "victim@ｅxample.org",  # a full-width letter
    "victim@eｘample.org",
    "victim@ｅｘａｍｐｌｅ.org",
    "VICTIM@EXAMPLE.ｏrg",
]
# Mail software reads these as victim@example.org too; nobody needs them to sign.
REFUSED_SPELLINGS = [
    '"victim"@example.org',
    '"v\\ictim"@example.org',
    "victim@exa\u00admple.org",  # soft hyphen
    "victim@ex\u200bample.org",  # zero-width space
    "victim@exam\u2060ple.org",  # word joiner
    "victim@example\ufeff.org",  # byte order mark
    "victim@exa\u034fmple.org",  # combining grapheme joiner
    "vıctim@example.org",  # dotless i, which the validator's [A-Z] matches
    "victim@[192.0.2.1]",
]


@pytest.mark.django_db
def test_spellings_of_one_inbox_share_its_daily_cap(client):
    addresses = ["victim@example.org", *SAME_INBOX]
    for i, statement in enumerate(statements(len(addresses))):
        response = sign(client, statement, email=addresses[i], ip=f"198.51.{i}.7")
        assert response.status_code == 303
    # The first three, to the address the mail goes to whatever the spelling.
    assert [email.to for email in send_outbox()] == [["victim@example.org"]] * 3
    assert OutboxMessage.objects.filter(status="queued").count() == 2
    assert len(set(Signature.objects.values_list("email_hash", flat=True))) == 1
    assert RecipientDay.objects.count() == 2  # one address, today and tomorrow


@pytest.mark.django_db
def test_a_full_width_spelling_is_the_same_signer(client, open_statement):
    sign(client, open_statement, email="ana@example.org")
    sign(client, open_statement, email="ana@ｅxample.org", name="Ana Again")
    signature = Signature.objects.get()
    assert signature.name == "Ana Reyes"
    assert signature.duplicate_notices == 1


@pytest.mark.django_db
def test_a_full_width_domain_counts_in_the_domain_limit(
    client, open_statement, settings
):
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "domain_minute": 1}
    sign(client, open_statement, email="a@small-ngo.example", ip="198.51.1.7")
    sign(client, open_statement, email="b@ｓmall-ngo.example", ip="198.51.2.7")
    reasons = Signature.objects.order_by("pk").values_list("hold_reason", flat=True)
    assert list(reasons) == ["", "domain-burst"]


@pytest.mark.django_db
@pytest.mark.parametrize("email", REFUSED_SPELLINGS)
def test_an_address_mail_software_would_rewrite_is_refused(
    client, open_statement, email
):
    assert form_errors(open_statement, email=email).get("email")
    response = sign(client, open_statement, email=email)
    assert response.status_code == 400
    assert not Signature.objects.exists()
    assert send_outbox() == []


@pytest.mark.django_db
@pytest.mark.parametrize("email", ['"victim"@example.org', "victim@exa\u00admple.org"])
def test_the_api_refuses_them_too_naming_the_email(open_statement, email):
    url = f"/api/v1/statements/{open_statement.slug}/signatures/"
    person = {"name": "Budi", "email": email, "country": "ID"}
    response = APIClient().post(url, person, format="json")
    assert response.status_code == 400
    assert "email" in response.json()
    assert not Signature.objects.exists()


@pytest.mark.django_db
def test_the_refusals_say_what_to_change(open_statement):
    [quoted] = form_errors(open_statement, email='"ana"@example.org')["email"]
    assert "quotation marks" in quoted
    [hidden] = form_errors(open_statement, email="ana@exa\u00admple.org")["email"]
    assert "invisible characters" in hidden


def test_a_plain_address_keeps_its_hash():
    # Signatures made before this rule must still meet their signers.
    for typed in ("Ana.Reyes+x@Example.ORG", " ana@example.org ", "a@b-c.example"):
        assert canonical_email(typed) == typed.strip().lower()
    assert canonical_email("Ana@Googlemail.com") == "ana@gmail.com"


@pytest.mark.django_db
def test_an_international_domain_is_mailed_and_hashed_in_its_idna_form(
    client, open_statement
):
    sign(client, open_statement, email="ana@bücher.example")
    [email] = send_outbox()
    assert email.to == ["ana@xn--bcher-kva.example"]
    signature = Signature.objects.get()
    assert signature.email_hash == keyed_hash("email", "ana@xn--bcher-kva.example")
    # Typed in its ASCII form, it is the same signer.
    sign(client, open_statement, email="ana@xn--bcher-kva.example", name="Ana Two")
    assert Signature.objects.get().duplicate_notices == 1


# --- 8. A row held as a bot's does not block the address's owner -------------------


def bot_post(client, statement, reason: str):
    """Sign as a bot would, with Ana's address and a typed text of its own."""
    other = make_statement(slug=f"other-{reason}", accepts_signatures=True)
    changes = {
        "honeypot": {"website": "http://spam.example"},
        "no-form-token": {"started": ""},
        "foreign-form-token": {"started": new_form_token(other)},
    }
    if reason == "reused-form-token":
        token = form_data(client, statement)["started"]
        sign(client, statement, started=token, email="first@example.org")
        changes[reason] = {"started": token}
    sign(client, statement, name="Qzx Bot Name", **changes[reason])
    send_outbox()  # the first address's email, if any


@pytest.mark.django_db
@pytest.mark.parametrize(
    "reason",
    ["honeypot", "no-form-token", "foreign-form-token", "reused-form-token"],
)
def test_a_clean_signing_replaces_a_row_held_as_a_bots(client, open_statement, reason):
    bot_post(client, open_statement, reason)
    held = Signature.objects.get(name="Qzx Bot Name")
    assert held.hold_reason == reason
    old_nonces = (held.link_nonce, held.withdraw_nonce)
    sign(client, open_statement, name="Ana Reyes", city="Manila")
    signature = Signature.objects.get(pk=held.pk)
    assert (signature.name, signature.city) == ("Ana Reyes", "Manila")
    assert not signature.is_held and signature.hold_reason == ""
    assert signature.duplicate_notices == 0
    assert signature.link_nonce not in old_nonces
    assert signature.withdraw_nonce not in old_nonces
    [email] = send_outbox()
    assert email.to == ["ana@example.org"]
    client.post(urlsplit(link_from(email, "confirm")).path)
    assert Signature.objects.get(pk=held.pk).status == "confirmed"


@pytest.mark.django_db
def test_a_clean_signing_replaces_a_row_held_for_an_expired_form(
    client, open_statement, monkeypatch
):
    with monkeypatch.context() as patch:
        patch.setattr("signatories.forms.FORM_TOKEN_MAX_AGE", -1)
        sign(client, open_statement, name="Left Open")
    assert held_reason() == "expired-form-token"
    sign(client, open_statement, name="Ana Reyes")
    signature = Signature.objects.get()
    assert (signature.name, signature.is_held) == ("Ana Reyes", False)
    assert [email.to for email in send_outbox()] == [["ana@example.org"]]


@pytest.mark.django_db
def test_a_bot_does_not_replace_a_bots_row(client, open_statement):
    sign(client, open_statement, name="Qzx First", website="x")
    sign(client, open_statement, name="Qzx Second", started="")
    signature = Signature.objects.get()
    assert (signature.name, signature.hold_reason) == ("Qzx First", "honeypot")
    assert send_outbox() == []


@pytest.mark.django_db
def test_a_bot_cannot_replace_a_clean_pending_row(client, open_statement):
    sign(client, open_statement)
    sign(client, open_statement, name="Qzx Bot", website="x")
    signature = Signature.objects.get()
    assert (signature.name, signature.is_held) == ("Ana Reyes", False)
    assert len(send_outbox()) == 1


@pytest.mark.django_db
def test_replacing_a_bots_row_runs_the_same_queries_as_a_new_signing(open_statement):
    services.sign_statement(
        statement=open_statement,
        data=SignerData(name="Bot", email="held@example.org", country="PH"),
        client_ip=None,
        suspicion="honeypot",
    )
    new = query_shapes(open_statement, "new@example.org")
    assert query_shapes(open_statement, "held@example.org") == new
    assert not Signature.objects.get(email_hash=keyed_hash(
        "email", "held@example.org"
    )).is_held  # fmt: skip


# --- 9. Invisible characters and other dots in public text -------------------------

INVISIBLE = ["\u00ad", "\u2060", "\ufeff", "\u180e", "\u034f", "\u200b", "\u061c"]
OTHER_DOTS = [
    "evil\u0589com",  # Armenian full stop
    "evil\u06d4com",  # Arabic full stop, between Latin letters
    "evil\u0701com",  # Syriac supralinear full stop
    "evil\u2e33com",  # raised dot
    "evil\u2e3ccom",  # stenographic full stop
    "evil\ua4f8com",  # Lisu letter tone mya ti
    "evil dot com",
    "Visit evil dot org",
    "evil.\ufe0fcom",  # a variation selector after the dot
]


@pytest.mark.django_db
@pytest.mark.parametrize("char", INVISIBLE)
@pytest.mark.parametrize("field", ["name", "organization", "role", "city"])
def test_invisible_characters_are_refused(open_statement, field, char):
    errors = form_errors(open_statement, **{field: f"evil.{char}com Ana{char}"})
    assert "not allowed" in " ".join(errors.get(field, [])), (field, char)


@pytest.mark.django_db
@pytest.mark.parametrize("text", OTHER_DOTS)
@pytest.mark.parametrize("field", ["name", "organization", "role", "city"])
def test_other_dots_read_as_dots(open_statement, field, text):
    errors = form_errors(open_statement, **{field: text})
    assert "web address" in " ".join(errors.get(field, [])), (field, text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "Gal·la Puig",  # Catalan's middle dot is no dot
        "Paral·lel",
        "کراچی۔لاہور",  # the Arabic full stop between Arabic letters
        "ꓡꓲꓸꓢꓴ",  # Lisu, whose tone letter looks like a dot
        "Dot Cotton",
        "Ana Dotson",
    ],
)
def test_text_with_dot_like_marks_of_its_own_script_passes(open_statement, text):
    assert form_errors(open_statement, name=text, city=text) == {}


# --- 10. Releases and reminders lock their addresses in one order -------------------


@pytest.mark.django_db(transaction=True)
def test_two_releases_of_the_same_addresses_in_opposite_order_do_not_deadlock(
    monkeypatch, publisher
):
    first = make_statement(slug="d1", accepts_signatures=True)
    second = make_statement(slug="d2", accepts_signatures=True)

    def held(statement, email) -> int:
        services.sign_statement(
            statement=statement,
            data=SignerData(name="N", email=email, country="PH"),
            client_ip=None,
            suspicion="too-fast",
        )
        return Signature.objects.get(
            statement=statement, email_hash=keyed_hash("email", email)
        ).pk

    # Rows in opposite order of address: a row-by-row lock order would cross.
    batches = [
        [held(first, "a@example.org"), held(first, "b@example.org")],
        [held(second, "b@example.org"), held(second, "a@example.org")],
    ]
    # Each release pauses at its first email until the other has reached its own
    # (or 2 s passed): the interleaving that deadlocked.
    barrier = threading.Barrier(2, timeout=2)
    real = recipients.reserve_email
    paused = threading.local()

    def reserve_after_the_other(**kwargs):
        result = real(**kwargs)
        if not getattr(paused, "done", False):
            paused.done = True
            # A broken barrier: the other waits for our locks, the order holds.
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()
        return result

    monkeypatch.setattr(recipients, "reserve_email", reserve_after_the_other)
    errors = []

    def release(ids):
        try:
            services.release_signatures(ids=ids, by=publisher)
        except Exception as error:  # noqa: BLE001 - the test reports it
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=release, args=(ids,)) for ids in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert not Signature.objects.filter(is_held=True).exists()
    assert OutboxMessage.objects.filter(status="queued").count() == 4


# --- 11. Retention counts from the confirmation email and leaves no address ---------


@pytest.mark.django_db
def test_an_unconfirmed_signature_goes_14_days_after_its_email_with_its_queued_ones(
    client, open_statement
):
    sign(client, open_statement)
    send_outbox()
    signature = Signature.objects.get()
    long_ago = timezone.now() - timedelta(days=15)
    Signature.objects.update(created_at=long_ago)
    OutboxMessage.objects.update(sent_at=long_ago)
    # A reminder still waiting (the daily cap, say) when the signature goes.
    assert services.send_reminders() == 1
    reminder = OutboxMessage.objects.get(status="queued")
    assert reminder.recipient is not None
    assert services.apply_retention()["unconfirmed"] == 1
    assert not Signature.objects.filter(pk=signature.pk).exists()
    reminder.refresh_from_db()
    assert (reminder.status, reminder.recipient) == ("cancelled", None)
    assert send_outbox() == []


@pytest.mark.django_db
def test_an_unconfirmed_signature_is_kept_while_its_email_waits_or_is_recent(client):
    # The fourth statement's confirmation waits for the next day (the cap).
    for statement in statements(4):
        sign(client, statement, email="victim@example.org")
    sent = OutboxMessage.objects.filter(status="sent")
    assert len(send_outbox()) == 3
    Signature.objects.update(created_at=timezone.now() - timedelta(days=20))
    first, second, third = sent.order_by("pk")
    OutboxMessage.objects.filter(pk=first.pk).update(
        sent_at=timezone.now() - timedelta(days=15)
    )
    OutboxMessage.objects.filter(pk=second.pk).update(
        sent_at=timezone.now() - timedelta(days=13)
    )
    # The third's email was sent just now: all but the first stay.
    assert services.apply_retention()["unconfirmed"] == 1
    kept = set(Signature.objects.values_list("pk", flat=True))
    assert kept == {second.object_id, third.object_id} | set(
        OutboxMessage.objects.filter(status="queued").values_list(
            "object_id", flat=True
        )
    )
    assert len(kept) == 3


@pytest.mark.django_db
def test_a_forged_forwarded_address_under_a_wrong_proxy_count_is_no_500(
    client, settings
):
    """With one proxy more counted than there is, the address read is the client's
    own text: signing goes on, with no network to count it by."""
    settings.TRUSTED_PROXY_COUNT = 2
    statement = make_statement(slug="forged-forwarded", accepts_signatures=True)
    response = client.post(
        f"/statements/{statement.slug}/sign/",
        form_data(client, statement),
        HTTP_X_FORWARDED_FOR="not-an-address, 198.51.100.7",
    )
    assert response.status_code == 303
    assert Signature.objects.get(statement=statement).network_hash is None
    assert client.post(
        "/admin/login/",
        {"username": "nobody", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="not-an-address, 198.51.100.7",
    ).status_code in (200, 429)
