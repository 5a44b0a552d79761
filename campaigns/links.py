"""Personal links in alert emails: pledge and report, correct details, unsubscribe.

A token is encrypted, not only signed (a readable contact id would tell anyone
holding a link how many contacts the registry has), under a key of its own per
purpose, so an unsubscribe link cannot be replayed as a pledge link. It names the
contact, the action (for a pledge) and the contact's link nonce: rotating the
nonce revokes every link mailed to that contact so far.

Links are not used up: a pledge is changed and reported on several times, and
stopping emails twice changes nothing.
"""

import base64
import binascii
import functools
import secrets
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from campaigns.models import Action
from signatories.models import Contact

PURPOSES = ("pledge", "details", "unsubscribe", "unsubscribe_one_click")
# The view each purpose's link opens.
URL_NAMES = {
    "pledge": "campaigns:contact_pledge",
    "details": "campaigns:contact_details",
    "unsubscribe": "campaigns:contact_unsubscribe",
    "unsubscribe_one_click": "campaigns:contact_unsubscribe_one_click",
}
# How long a link works after it was made. A pledge link is also bounded by its
# action: reports come in during the weeks after it (REPORT_WEEKS), not later.
LIFETIMES = {
    "pledge": timedelta(days=400),
    "details": timedelta(days=365),
    "unsubscribe": timedelta(days=365),
    "unsubscribe_one_click": timedelta(days=365),
}
REPORT_WEEKS = 8


def _fernet(purpose: str) -> MultiFernet:
    return _fernet_for(purpose, (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS))


@functools.lru_cache(maxsize=32)
def _fernet_for(purpose: str, secret_keys: tuple[str, ...]) -> MultiFernet:
    # Derived from SECRET_KEY and its fallbacks, so rotating it keeps mailed links
    # working as for Django's own signed values. Made once per set of keys: an
    # alert makes four links per email.
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(
                        f"campaigns.links.{purpose}", "fernet", secret=secret,
                        algorithm="sha256",
                    ).digest()
                )
            )
            for secret in secret_keys
        ]
    )  # fmt: skip


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def nonce_of(contact: Contact) -> str:
    """The contact's link nonce, made on first use.

    Set with a conditional update: two workers rendering emails for one contact at
    once agree on the same nonce instead of each revoking the other's links.
    """
    if not contact.link_nonce:
        Contact.objects.filter(pk=contact.pk, link_nonce="").update(
            link_nonce=new_nonce()
        )
        contact.link_nonce = (
            Contact.objects.filter(pk=contact.pk)
            .values_list("link_nonce", flat=True)
            .get()
        )
    return contact.link_nonce


def rotate_links(contact: Contact) -> None:
    """Revoke every link mailed to the contact so far (a forwarded email, say)."""
    contact.link_nonce = new_nonce()
    Contact.objects.filter(pk=contact.pk).update(link_nonce=contact.link_nonce)


def make_token(contact: Contact, purpose: str, action: Action | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown link purpose {purpose!r}.")
    if (purpose == "pledge") != (action is not None):
        raise ValueError("A pledge link names an action; the other links do not.")
    action_id = action.pk if action is not None else ""
    payload = f"{contact.pk}:{action_id}:{nonce_of(contact)}".encode()
    # Fernet's "=" padding is noise in a link; restored when reading.
    return _fernet(purpose).encrypt(payload).decode().rstrip("=")


def _link_language(contact: Contact) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return contact.language if contact.language in codes else settings.LANGUAGE_CODE


def contact_path(contact: Contact, purpose: str, action: Action | None = None) -> str:
    """The link's path, in the contact's language where the site has it."""
    before, after = _path_around_token(
        purpose,
        _link_language(contact),
        get_script_prefix(),
        get_urlconf() or settings.ROOT_URLCONF,
        settings.LANGUAGE_CODE,
    )
    return before + make_token(contact, purpose, action) + after


# Letters only: reverse() leaves it as it is, as it does a token's characters.
_PROBE = "tokenprobe"


@functools.lru_cache(maxsize=64)
def _path_around_token(
    purpose: str, language: str, script_prefix: str, urlconf: str, default: str
) -> tuple[str, str]:
    # The path around the token depends only on these (the default language
    # decides whether the language is in the path): an alert reverses it once per
    # purpose and language instead of four times per email.
    with translation.override(language):
        path = reverse(URL_NAMES[purpose], urlconf=urlconf, args=[_PROBE])
    before, probe, after = path.partition(_PROBE)
    if not probe or _PROBE in after:
        raise ValueError(f"The {purpose} link's path cannot hold a token: {path}")
    return before, after


def contact_url(contact: Contact, purpose: str, action: Action | None = None) -> str:
    """The absolute link for an email (SITE_URL + path)."""
    return settings.SITE_URL + contact_path(contact, purpose, action)


def pledge_open_until(action: Action) -> datetime:
    """When reporting on an action closes: REPORT_WEEKS after its day, at the end of
    that day anywhere on Earth (UTC-12)."""
    last_day = action.date + timedelta(weeks=REPORT_WEEKS)
    end = datetime.combine(last_day + timedelta(days=1), datetime.min.time())
    return timezone.make_aware(end, timezone.get_fixed_timezone(-12 * 60))


def read_contact_token(
    token: str, purpose: str, *, now: datetime | None = None
) -> tuple[Contact, Action | None] | None:
    """The contact (and action) a token is for, if it is genuine, fresh and not
    revoked; None otherwise, without saying why."""
    if purpose not in PURPOSES:
        return None
    padded = token + "=" * (-len(token) % 4)
    fernet = _fernet(purpose)
    ttl = int(LIFETIMES[purpose].total_seconds())
    try:
        if now is None:
            payload = fernet.decrypt(padded.encode("ascii"), ttl=ttl)
        else:
            payload = fernet.decrypt_at_time(
                padded.encode("ascii"), ttl=ttl, current_time=int(now.timestamp())
            )
        contact_id, action_id, nonce = payload.decode().split(":", 2)
    except (InvalidToken, UnicodeError, ValueError, binascii.Error):
        return None
    if not (contact_id.isascii() and contact_id.isdigit()):
        return None
    contact = (
        Contact.objects.select_related("organization")
        .filter(pk=int(contact_id))
        .first()
    )
    if contact is None or not contact.link_nonce:
        return None
    if not secrets.compare_digest(contact.link_nonce, nonce):
        return None
    if purpose != "pledge":
        return (contact, None) if action_id == "" else None
    if not (action_id.isascii() and action_id.isdigit()):
        return None
    action = Action.objects.select_related("campaign").filter(pk=int(action_id)).first()
    if action is None:
        return None
    if (now or timezone.now()) > pledge_open_until(action):
        return None
    return contact, action
