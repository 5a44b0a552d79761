from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

from ima_site.models import OutboxMessage
from signatories import links, services
from signatories.canonical import canonical_email
from signatories.models import Signature, SignatureCount
from signatories.services.counts import count_event
from tests.signatories.conftest import form_data, link_from, send_outbox

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_minimum_fill_time(settings):
    settings.SIGNING_MIN_SECONDS = 0


def sign(client, statement, **overrides):
    return client.post(
        f"/statements/{statement.slug}/sign/", form_data(client, statement, **overrides)
    )


def path(url: str) -> str:
    return urlsplit(url).path


def test_signing_writes_a_pending_signature_and_an_email(client, open_statement):
    response = sign(client, open_statement)
    assert response.status_code == 303
    assert response["Location"] == "/statements/sign-me/signed/"
    signature = Signature.objects.get()
    assert signature.status == "pending" and not signature.is_held
    [email] = send_outbox()
    assert email.to == ["ana@example.org"]
    assert "sign-me" in email.body and "/s/confirm/" in email.body
    assert email.alternatives[0][1] == "text/html"


def test_the_confirm_link_shows_a_button_and_only_a_post_confirms(
    client, open_statement
):
    sign(client, open_statement)
    [email] = send_outbox()
    confirm = path(link_from(email, "confirm"))
    assert client.get(confirm).status_code == 200
    assert client.head(confirm).status_code == 200
    assert Signature.objects.get().status == "pending"
    page = client.post(confirm)
    assert "your signature is confirmed" in page.content.decode()
    signature = Signature.objects.get()
    assert signature.status == "confirmed"
    assert signature.email_encrypted is None  # no consent: the email is gone
    # The link worked once.
    assert client.post(confirm).status_code == 404
    assert client.get(confirm).status_code == 404


def test_tampered_and_expired_links_do_nothing(client, open_statement, monkeypatch):
    sign(client, open_statement)
    [email] = send_outbox()
    confirm = path(link_from(email, "confirm"))
    tampered = confirm.replace(confirm.split("/")[3][:10], "eyJzIjoyLC")
    assert client.post(tampered).status_code == 404
    monkeypatch.setitem(links.LIFETIMES, "confirm", timedelta(seconds=-1))
    assert client.post(confirm).status_code == 404
    assert Signature.objects.get().status == "pending"


def test_this_wasnt_me_deletes_the_signature_and_its_email(client, open_statement):
    sign(client, open_statement)
    [email] = send_outbox()
    client.post(path(link_from(email, "cancel")))
    assert not Signature.objects.exists()
    assert client.post(path(link_from(email, "confirm"))).status_code == 404


def test_withdrawing_takes_the_signature_out_of_the_count(client, open_statement):
    sign(client, open_statement)
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1
    client.post(path(link_from(email, "withdraw")))
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    withdrawn = Signature.objects.get()
    assert withdrawn.status == "withdrawn"
    assert (withdrawn.name, withdrawn.email_encrypted) == ("", None)


def test_new_repeat_and_held_signers_get_the_same_answer(
    client, open_statement, settings
):
    first = sign(client, open_statement)
    repeat = sign(client, open_statement, name="Someone else")
    held = sign(client, open_statement, email="bot@example.net", website="http://spam")
    for response in (repeat, held):
        assert response.status_code == first.status_code
        assert response["Location"] == first["Location"]
        assert response.content == first.content
    assert Signature.objects.count() == 2
    assert Signature.objects.get(is_held=True).hold_reason == "honeypot"
    signed_pages = {client.get(r["Location"]).content for r in (first, repeat, held)}
    assert len(signed_pages) == 1
    kinds = sorted(OutboxMessage.objects.values_list("kind", flat=True))
    # The one that signed before is told again to confirm (still pending).
    assert kinds == ["signature.confirm", "signature.confirm", "signature.confirm"]


def test_a_confirmed_signer_signing_again_gets_already_signed_a_few_times(
    client, open_statement
):
    sign(client, open_statement)
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    for _ in range(6):
        sign(client, open_statement, email="  ANA@Example.org ")
    notices = send_outbox()
    assert len(notices) == services.MAX_DUPLICATE_NOTICES
    assert all("already signed" in n.body for n in notices)
    assert Signature.objects.count() == 1


def test_signing_too_fast_is_held_silently(client, open_statement, settings):
    settings.SIGNING_MIN_SECONDS = 60
    response = sign(client, open_statement)
    assert response.status_code == 303
    assert Signature.objects.get().hold_reason == "too-fast"


def test_a_post_without_the_form_token_is_held(client, open_statement):
    response = sign(client, open_statement, started="forged")
    assert response.status_code == 303
    assert Signature.objects.get().hold_reason == "no-form-token"


def test_over_the_network_limit_signatures_are_held_not_refused(
    client, open_statement, settings
):
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 3}
    for i in range(5):
        assert (
            sign(client, open_statement, email=f"p{i}@example.org").status_code == 303
        )
    held = Signature.objects.filter(is_held=True)
    assert held.count() == 2
    assert set(held.values_list("hold_reason", flat=True)) == {"network-burst"}


def test_a_flood_on_one_statement_holds_its_new_signatures(
    client, open_statement, settings
):
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "statement_minute": 2}
    for i in range(3):
        sign(client, open_statement, email=f"s{i}@example.org")
    assert not Signature.objects.filter(is_held=True).exists()
    # The batch notices the rate; from then on new signatures are held.
    services.refresh_statement_rates()
    assert sign(client, open_statement, email="late@example.org").status_code == 303
    late = Signature.objects.latest("id")
    assert (late.is_held, late.hold_reason) == (True, "statement-burst")
    assert Signature.objects.filter(is_held=True).count() == 1


def test_held_signatures_are_not_counted_until_released(
    client, open_statement, publisher
):
    sign(client, open_statement, website="filled")
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    services.release_signatures(ids=[Signature.objects.get().pk], by=publisher)
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1


def test_bad_input_names_the_field_and_writes_nothing(client, open_statement):
    for overrides, field in [
        ({"name": "Visit http://spam.example"}, "web address"),
        ({"name": "Ana\x07Reyes"}, "not allowed"),
        ({"email": "not-an-email"}, "email"),
        ({"country": "XX"}, "XX"),
        ({"kind": "organization", "organization": ""}, "organization"),
        ({"name": "x" * 121}, "at most 120"),
    ]:
        response = sign(client, open_statement, **overrides)
        assert response.status_code == 400, overrides
        assert field.lower() in response.content.decode().lower(), field
    assert not Signature.objects.exists()
    assert not OutboxMessage.objects.exists()


def test_formula_at_the_start_of_a_name_is_neutralized(client, open_statement):
    sign(client, open_statement, name="=HYPERLINK(1)", organization="@SUM(1)")
    signature = Signature.objects.get()
    assert signature.name == "HYPERLINK(1)"
    assert signature.organization == "SUM(1)"


def test_a_closed_or_paused_statement_takes_no_signature(client, open_statement):
    from signatories.models import SigningSwitch

    data = form_data(client, open_statement)
    url = f"/statements/{open_statement.slug}/sign/"
    open_statement.signing_paused = True
    open_statement.save()
    assert client.post(url, data).status_code == 409
    assert (
        "Signing is closed"
        in client.get(open_statement.get_absolute_url()).content.decode()
    )
    open_statement.signing_paused = False
    open_statement.save()
    switch = SigningSwitch.objects.create(paused=True)
    assert client.post(url, data).status_code == 409
    switch.delete()
    assert client.post(url, data).status_code == 303


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (" Ana.Reyes+petition@GoogleMail.com ", "anareyes@gmail.com"),
        ("ana.reyes@gmail.com", "anareyes@gmail.com"),
        ("ana+x@outlook.com", "ana@outlook.com"),
        ("ana.reyes+x@example.org", "ana.reyes+x@example.org"),
    ],
)
def test_canonical_email(typed, canonical):
    assert canonical_email(typed) == canonical


def test_no_email_in_plain_text_in_the_database(client, open_statement):
    sign(client, open_statement, email="canary.7731@example.org", consent="on")
    with connection.cursor() as cursor:
        for table in ["signatories_signature", "ima_site_outboxmessage",
                      "signatories_signingattempt", "ima_site_auditentry"]:  # fmt: skip
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
            dump = repr(cursor.fetchall())
            assert "canary" not in dump, table
            assert "canary" not in dump.encode().hex(), table
    assert "127.0.0.1" not in repr(Signature.objects.values_list("network_hash"))


def test_the_count_is_served_from_the_cache_without_queries(
    client, open_statement, django_assert_num_queries
):
    from django.core.cache import cache

    cache.delete(f"statement-count:{open_statement.slug}")
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=7
    )
    first = client.get(f"/api/v1/statements/{open_statement.slug}/count/")
    assert first.json()["total"] == 7
    assert "max-age=5" in first["Cache-Control"]
    with django_assert_num_queries(0):
        again = client.get(f"/api/v1/statements/{open_statement.slug}/count/")
    assert again.json() == first.json()
    assert again.json()["countries"] == [{"code": "PH", "count": 7}]


def test_small_country_counts_show_as_less_than_five(client, open_statement):
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=3
    )
    SignatureCount.objects.create(
        statement=open_statement, country="MY", kind="person", count=12
    )
    body = client.get(open_statement.get_absolute_url()).content.decode()
    assert "Philippines: &lt;5" in body
    assert "Malaysia: 12" in body


def test_client_address_comes_from_trusted_proxies_only(rf, settings):
    from ima_site.clients import client_ip

    request = rf.get(
        "/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.9", REMOTE_ADDR="10.0.0.1"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "10.0.0.9"
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "6.6.6.6"


def test_repair_leaves_events_not_yet_applied_to_the_batch(open_statement):
    confirmed = Signature.objects.create(
        statement=open_statement, name="A", country="PH", status="confirmed"
    )
    count_event(confirmed, +1)  # confirmed, not yet folded in
    assert services.reconcile_counts() == []
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1


def test_retention_keeps_what_is_still_needed(open_statement):
    from django.utils import timezone

    young = Signature.objects.create(
        statement=open_statement, name="Young", country="PH"
    )
    done = Signature.objects.create(
        statement=open_statement, name="Done", country="PH", status="confirmed"
    )
    Signature.objects.filter(pk=done.pk).update(
        created_at=timezone.now() - timedelta(days=100)
    )
    services.apply_retention()
    assert Signature.objects.get(pk=young.pk).name == "Young"
    assert Signature.objects.get(pk=done.pk).name == "Done"  # statement still open


def test_count_drift_is_repaired_and_recorded(open_statement):
    Signature.objects.create(
        statement=open_statement, name="A", country="PH", status="confirmed"
    )
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=5
    )
    [check] = services.reconcile_counts()
    assert (check.expected, check.found) == (1, 5)
    assert SignatureCount.objects.get().count == 1
    assert services.reconcile_counts() == []


def test_retention_removes_personal_data_and_keeps_counts(open_statement):
    from django.utils import timezone

    signature = Signature.objects.create(
        statement=open_statement, name="Ana", role="nurse", city="Manila",
        country="PH", status="confirmed", network_hash="x",
    )  # fmt: skip
    SignatureCount.objects.create(
        statement=open_statement, country="PH", kind="person", count=1
    )
    open_statement.signing_closes_at = timezone.now() - timedelta(days=400)
    open_statement.save()
    Signature.objects.filter(pk=signature.pk).update(
        created_at=timezone.now() - timedelta(days=40)
    )
    services.apply_retention()
    signature.refresh_from_db()
    assert (signature.name, signature.role, signature.city) == ("", "", "")
    assert signature.network_hash is None
    assert services.statement_counts(open_statement)["total"] == 1
    assert settings.SIGNATURE_RETENTION_DAYS < 400


def test_keys_rotate_without_losing_an_email(open_statement, settings):
    from django.core.management import call_command

    from ima_site.crypto import decrypt, new_fernet_key

    services.sign_statement(
        statement=open_statement,
        data=services.SignerData(name="A", email="rotate@example.org", country="PH"),
        client_ip=None,
    )
    old_keys = list(settings.SIGNER_DATA_KEYS)
    settings.SIGNER_DATA_KEYS = [new_fernet_key(), *old_keys]
    call_command("rotate_signer_keys", stdout=__import__("io").StringIO())
    settings.SIGNER_DATA_KEYS = settings.SIGNER_DATA_KEYS[:1]  # the old key is gone
    assert decrypt(Signature.objects.get().email_encrypted) == "rotate@example.org"


def test_the_member_badge_waits_for_an_organizer(open_statement, publisher):
    from signatories.models import Organization

    member = Organization.objects.create(
        name="Migrante International", country="PH", is_member=True, verified=True
    )
    services.sign_statement(
        statement=open_statement,
        data=services.SignerData(
            name="Contact", email="m@example.org", country="PH", kind="organization",
            organization="migrante international",
        ),
        client_ip=None,
    )  # fmt: skip
    # Anyone can type a member's name: nothing is linked until an organizer looks.
    assert Signature.objects.get().member_organization is None
    services.link_to_registry(ids=[Signature.objects.get().pk], by=publisher)
    assert Signature.objects.get().member_organization == member


def test_signing_again_after_withdrawing_is_a_fresh_signature(client, open_statement):
    from django.utils import timezone

    sign(client, open_statement)
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    client.post(path(link_from(email, "withdraw")))
    Signature.objects.update(created_at=timezone.now() - timedelta(days=20))
    sign(client, open_statement, name="Ana R.")
    signature = Signature.objects.get()
    assert signature.status == "pending" and signature.name == "Ana R."
    assert signature.created_at > timezone.now() - timedelta(minutes=1)
    assert signature.reminder_sent_at is None and signature.duplicate_notices == 0
    services.apply_retention()
    assert Signature.objects.filter(pk=signature.pk).exists()


def test_ipv4_addresses_from_a_dual_stack_socket_are_their_own_network():
    from ima_site.crypto import network_prefix

    assert network_prefix("::ffff:203.0.113.7") == "203.0.113.0/24"
    assert network_prefix("::ffff:198.51.100.7") != network_prefix("::ffff:203.0.113.7")


def test_names_that_look_like_addresses_or_formulas_only_are_refused(
    client, open_statement
):
    for name in ["bit.ly/x", "evil。com", "Visit evil.ph"]:
        assert sign(client, open_statement, name=name).status_code == 400, name
    assert sign(client, open_statement, name="=").status_code == 400
    assert not Signature.objects.exists()


def test_script_in_a_name_is_escaped_in_the_html_email(client, open_statement):
    sign(client, open_statement, name="Ana <script>alert(1)</script>")
    # The form refuses nothing here: the name has no URL or control character.
    [email] = send_outbox()
    html = email.alternatives[0][0]
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
