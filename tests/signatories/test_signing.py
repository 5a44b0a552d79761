import base64
import binascii
import contextlib
import re
import string
import zlib
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import signing

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


def shows_only_a_button(client, url: str) -> None:
    """A mail scanner fetching the link (GET or HEAD) gets the page and changes
    nothing; the page holds a form that POSTs back to the same link."""
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(r'<form method="post" action=""[^>]*>', page.content.decode())
    assert client.head(url).status_code == 200


def state_of_everything() -> list:
    return [
        list(Signature.objects.order_by("pk").values()),
        sorted(OutboxMessage.objects.values_list("pk", "status")),
        services.apply_count_events(),
    ]


def test_the_confirm_link_shows_a_button_and_only_a_post_confirms(
    client, open_statement
):
    sign(client, open_statement)
    [email] = send_outbox()
    confirm = path(link_from(email, "confirm"))
    before = state_of_everything()
    shows_only_a_button(client, confirm)
    assert state_of_everything() == before
    assert Signature.objects.get().status == "pending"
    page = client.post(confirm)
    assert "your signature is confirmed" in page.content.decode()
    signature = Signature.objects.get()
    assert signature.status == "confirmed"
    assert signature.email_encrypted is None  # no consent: the email is gone
    # The link worked once.
    assert client.post(confirm).status_code == 404
    assert client.get(confirm).status_code == 404


def test_a_scanner_fetching_this_wasnt_me_deletes_nothing(client, open_statement):
    sign(client, open_statement)
    [email] = send_outbox()
    cancel = path(link_from(email, "cancel"))
    before = state_of_everything()
    shows_only_a_button(client, cancel)
    assert state_of_everything() == before
    assert Signature.objects.get().status == "pending"
    client.post(cancel)
    assert not Signature.objects.exists()  # the POST does delete: the test can tell


def test_a_scanner_fetching_the_withdraw_link_erases_nothing(client, open_statement):
    sign(client, open_statement)
    [email] = send_outbox()
    client.post(path(link_from(email, "confirm")))
    services.apply_count_events()
    withdraw = path(link_from(email, "withdraw"))
    before = state_of_everything()
    shows_only_a_button(client, withdraw)
    assert state_of_everything() == before
    signature = Signature.objects.get()
    assert (signature.status, signature.name) == ("confirmed", "Ana Reyes")
    client.post(withdraw)
    assert Signature.objects.get().status == "withdrawn"


BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


def tampered(token: str, at: int) -> str:
    """The token with one character changed so that its bytes change too: the
    top bit of the character's six flips (the last character of unpadded base64
    may carry unused low bits, and changing only those changes nothing)."""
    replacement = BASE64URL[(BASE64URL.index(token[at]) + 32) % 64]
    changed = token[:at] + replacement + token[at + 1 :]
    assert changed != token
    return changed


def test_tampered_and_expired_links_do_nothing(client, open_statement, monkeypatch):
    sign(client, open_statement)
    [email] = send_outbox()
    confirm = path(link_from(email, "confirm"))
    token = confirm.split("/")[3]
    # A change anywhere (start, middle, end) breaks the token.
    for at in (0, len(token) // 2, len(token) - 1):
        assert client.post(f"/s/confirm/{tampered(token, at)}/").status_code == 404
    # A genuine token of another action is no confirm token, even the cancel link's,
    # made with the same nonce.
    for action in ("cancel", "withdraw"):
        other = path(link_from(email, action)).split("/")[3]
        assert client.post(f"/s/confirm/{other}/").status_code == 404, action
    monkeypatch.setitem(links.LIFETIMES, "confirm", timedelta(seconds=-1))
    assert client.post(confirm).status_code == 404
    assert Signature.objects.get().status == "pending"
    monkeypatch.undo()
    assert client.post(confirm).status_code == 200  # the untampered link works
    assert Signature.objects.get().status == "confirmed"


def readable_parts(token: str) -> list[bytes]:
    """Everything someone holding a link can read from it without a key."""
    parts = [token.encode()]
    for piece in re.split(r"[:.]", token):
        try:
            decoded = base64.urlsafe_b64decode(piece + "=" * (-len(piece) % 4))
        except (binascii.Error, ValueError):
            continue
        parts.append(decoded)
        with contextlib.suppress(zlib.error):
            parts.append(zlib.decompress(decoded))
    return parts


def test_links_carry_no_readable_signature_id(open_statement):
    # An id no random bytes will spell out by chance.
    signature = Signature.objects.create(
        pk=73_105_919, statement=open_statement, name="Ana", country="PH",
        link_nonce=links.new_nonce(), withdraw_nonce=links.new_nonce(),
    )  # fmt: skip
    for action in ("confirm", "cancel", "withdraw"):
        token = links.make_token(signature, action)
        for part in readable_parts(token):
            assert b"73105919" not in part, (action, part)
            assert signature.link_nonce.encode() not in part
            assert signature.withdraw_nonce.encode() not in part
        assert links.read_token(token, action) == signature
    # The check above finds an id when there is one to find (the old format).
    old = signing.dumps({"s": signature.pk, "n": "x"}, salt="s", compress=True)
    assert any(b"73105919" in part for part in readable_parts(old))


def old_format_token(signature, action: str) -> str:
    """A link as mailed before the tokens were encrypted."""
    nonce = signature.withdraw_nonce if action == "withdraw" else signature.link_nonce
    return signing.dumps(
        {"s": signature.pk, "n": nonce}, salt=f"signature-{action}", compress=True
    )


def test_links_mailed_in_the_old_format_work_until_they_expire(
    client, open_statement, monkeypatch
):
    sign(client, open_statement)
    signature = Signature.objects.get()
    confirm = f"/s/confirm/{old_format_token(signature, 'confirm')}/"
    withdraw = f"/s/withdraw/{old_format_token(signature, 'withdraw')}/"
    shows_only_a_button(client, confirm)
    monkeypatch.setitem(links.LIFETIMES, "confirm", timedelta(seconds=-1))
    assert client.post(confirm).status_code == 404  # expired
    monkeypatch.undo()
    assert client.post(confirm).status_code == 200
    assert Signature.objects.get().status == "confirmed"
    assert client.post(confirm).status_code == 404  # used up
    assert client.post(withdraw).status_code == 200
    assert Signature.objects.get().status == "withdrawn"


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


def answer(client, response) -> tuple:
    """All a signer (or someone probing an address) sees: the reply to the POST and
    the page it leads to, headers included (less the date)."""

    def seen(r):
        headers = sorted((k, v) for k, v in r.items() if k.lower() != "date")
        cookies = sorted((k, c.value) for k, c in r.cookies.items())
        return r.status_code, headers, cookies, r.content

    return seen(response), seen(client.get(response["Location"]))


def test_new_repeat_confirmed_and_held_signers_get_the_same_answer(
    client, open_statement, settings
):
    new = answer(client, sign(client, open_statement, email="new@example.org"))
    sign(client, open_statement, email="pending@example.org")
    sign(client, open_statement, email="confirmed@example.org")
    [*_, email] = send_outbox()
    assert client.post(path(link_from(email, "confirm"))).status_code == 200
    assert Signature.objects.filter(status="confirmed").count() == 1
    others = {
        "pending repeat": sign(client, open_statement, email="pending@example.org"),
        "confirmed repeat": sign(
            client, open_statement, email="CONFIRMED@example.org", name="Other"
        ),
        "honeypot": sign(
            client, open_statement, email="bot@example.net", website="http://spam"
        ),
        "forged form token": sign(
            client, open_statement, email="forged@example.net", started="forged"
        ),
    }
    settings.SIGNING_LIMITS = {**settings.SIGNING_LIMITS, "network_minute": 0}
    others["over a limit"] = sign(client, open_statement, email="many@example.org")
    for case, response in others.items():
        assert answer(client, response) == new, case
    # Each case took the path it names (else the comparison proves nothing).
    assert Signature.objects.filter(email_hash__isnull=False).count() == 6
    held = Signature.objects.filter(is_held=True).values_list("hold_reason", flat=True)
    assert sorted(held) == ["honeypot", "network-burst", "no-form-token"]
    assert Signature.objects.get(status="confirmed").name == "Ana Reyes"


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
    sign(client, open_statement)
    [email] = send_outbox()
    services.hold_signatures(ids=[Signature.objects.get().pk], by=publisher)
    client.post(path(link_from(email, "confirm")))
    assert Signature.objects.get().status == "confirmed"
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 0
    services.release_signatures(ids=[Signature.objects.get().pk], by=publisher)
    services.apply_count_events()
    assert services.statement_counts(open_statement)["total"] == 1


def test_bad_input_names_the_field_and_writes_nothing(client, open_statement):
    for overrides, field, message in [
        ({"name": "Visit http://spam.example"}, "name",
         "Your name cannot contain a web address."),
        ({"name": "Ana\x07Reyes"}, "name",
         "Your name contains characters that are not allowed."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"country": "XX"}, "country", "XX is not one of the available choices."),
        ({"kind": "organization", "organization": ""}, "organization",
         "Give the organization&#x27;s name."),
        ({"name": "x" * 121}, "name", "at most 120 characters"),
    ]:  # fmt: skip
        response = sign(client, open_statement, **overrides)
        assert response.status_code == 400, overrides
        # The error is on that field and no other, and the page says it.
        errors = response.context["sign_form"].errors
        assert list(errors) == [field], (overrides, errors)
        assert message in response.content.decode(), message
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


def test_keys_rotate_for_member_contacts_too(settings):
    from django.core.management import call_command
    from django.utils import timezone

    from ima_site.crypto import decrypt, encrypt, new_fernet_key
    from signatories.models import Contact, Organization
    from signatories.services.contacts import save_contact

    organization = Organization.objects.create(name="Migrante", country="PH")
    contact, _ = save_contact(
        organization=organization,
        name="Contact",
        email="contact@example.org",
        language="en",
    )
    Contact.objects.filter(pk=contact.pk).update(
        pending_email_hash="x" * 64,
        pending_email_encrypted=encrypt("new@example.org"),
        pending_email_requested_at=timezone.now(),
    )
    old_keys = list(settings.SIGNER_DATA_KEYS)
    settings.SIGNER_DATA_KEYS = [new_fernet_key(), *old_keys]
    call_command("rotate_signer_keys", stdout=__import__("io").StringIO())
    settings.SIGNER_DATA_KEYS = settings.SIGNER_DATA_KEYS[:1]  # the old key is gone
    contact.refresh_from_db()
    assert decrypt(contact.email_encrypted) == "contact@example.org"
    assert decrypt(contact.pending_email_encrypted) == "new@example.org"


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


def test_script_in_a_name_never_reaches_the_html_email(client, open_statement):
    sign(client, open_statement, name="Ana <script>alert(1)</script>")
    # The form refuses nothing here: the name has no URL or control character.
    [email] = send_outbox()
    html = email.alternatives[0][0]
    assert "<script>" not in html and "alert(1)" not in html


def confirm_page_of(client, statement, **overrides) -> tuple[str, str]:
    """Sign with those details; the confirm link's path and the page it shows."""
    sign(client, statement, **overrides)
    [email] = send_outbox()
    confirm = path(link_from(email, "confirm"))
    return confirm, client.get(confirm).content.decode()


def test_the_confirm_page_shows_what_will_be_published_and_never_the_email(
    client, open_statement
):
    confirm, page = confirm_page_of(
        client, open_statement, name="Ana <b>Reyes</b>", organization="Cell & Co",
        role="Overstayer", city="Riyadh", country="SA", display="full",
    )  # fmt: skip
    for shown in ("Ana &lt;b&gt;Reyes&lt;/b&gt;", "Cell &amp; Co", "Overstayer",
                  "Riyadh", "Saudi Arabia", "as a person"):  # fmt: skip
        assert shown in page, shown
    assert "<b>Reyes</b>" not in page
    assert "ana@example.org" not in page and "example.org" not in page
    # Each way of showing the name, with what the public list would then show.
    assert "My full name: <span" in page
    assert "Ana &lt;b&gt;Reyes&lt;/b&gt;, Cell &amp; Co · Overstayer" in page
    # (public_name() takes the first character of each word, "<b>Reyes</b>" too.)
    assert 'My initials only: <span class="listed-as">A.&lt;.</span>' in page
    assert re.search(r"Not listed, only counted: <span[^>]*>no name is shown", page)
    assert re.search(r'value="full" checked', page)
    # And the way out, for a signature someone else made with this address.
    assert "This is not what I entered: delete it" in page


def test_an_organization_signature_shows_that_it_signs_for_an_organization(
    client, open_statement
):
    _confirm, page = confirm_page_of(
        client, open_statement, kind="organization", organization="Migrante Riyadh"
    )
    assert "for an organization" in page and "Migrante Riyadh" in page


@pytest.mark.parametrize("display", ["full", "initials", "count_only"])
def test_what_the_confirm_page_promises_is_what_the_list_shows(
    client, open_statement, display
):
    confirm, page = confirm_page_of(
        client, open_statement, organization="Cell", role="Nurse", display="full"
    )
    option = re.search(
        rf'value="{display}".*?<span class="listed-as">(.*?)</span>', page, re.S
    )[1]
    done = client.post(confirm, {"display": display}).content.decode()
    services.apply_count_events()
    statement_page = client.get(open_statement.get_absolute_url()).content.decode()
    if display == "count_only":
        assert option == "no name is shown"
        assert "Ana" not in statement_page and "A.R." not in statement_page
        assert "not listed by name" in done
    else:
        assert f"<li>{option}</li>" in statement_page
        assert option in done


def test_the_display_chosen_when_confirming_is_saved(client, open_statement):
    confirm, _page = confirm_page_of(client, open_statement, display="full")
    response = client.post(confirm, {"display": "initials"})
    assert response.status_code == 200
    signature = Signature.objects.get()
    assert (signature.status, signature.display) == ("confirmed", "initials")
    assert signature.kind == "person"  # the kind is not for the page to change


def test_a_display_that_is_no_choice_is_refused_by_name(client, open_statement):
    confirm, _page = confirm_page_of(client, open_statement, display="full")
    before = state_of_everything()
    for bad in ("everything", "", "<script>"):
        response = client.post(confirm, {"display": bad})
        assert response.status_code == 400, bad
        page = response.content.decode()
        assert "is not a way to show your signature" in page
        assert "Show my signature as" in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert state_of_everything() == before
    assert client.post(confirm, {"display": "count_only"}).status_code == 200
    assert Signature.objects.get().display == "count_only"


def test_the_confirm_page_deletes_a_signature_that_is_not_what_was_entered(
    client, open_statement
):
    # Someone signs with Ana's address and their own details; Ana signs too.
    sign(client, open_statement, name="Ana Reyes", role="Overstayer")
    send_outbox()
    confirm, page = confirm_page_of(client, open_statement, name="Ana Reyes")
    assert "Overstayer" in page  # Ana sees what the first signer entered
    delete = re.search(r'<form method="post" action="(/s/cancel/[^"]+/)"', page)[1]
    before = state_of_everything()
    shows_only_a_button(client, delete)
    assert state_of_everything() == before
    assert client.post(delete).status_code == 200
    assert not Signature.objects.exists()
    # Once: the delete link, and the confirm link beside it, are used up.
    assert client.post(delete).status_code == 404
    assert client.post(confirm).status_code == 404
    # Ana signs again, with her own details.
    sign(client, open_statement, name="Ana Reyes", role="Nurse")
    assert Signature.objects.get().role == "Nurse"
    [email] = send_outbox()
    assert client.post(path(link_from(email, "confirm"))).status_code == 200
