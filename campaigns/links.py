"""Personal links in alert emails: pledge and report, correct details, unsubscribe.

A token is encrypted, not only signed (a readable contact id would tell anyone
holding a link how many contacts the registry has), under a key of its own per
purpose, so an unsubscribe link cannot be replayed as a pledge link. It names the
contact, the action (for a pledge) and the contact's link nonce: rotating the
nonce revokes every link mailed to that contact so far.

Links are not used up: a pledge is changed and reported on several times, and
stopping emails twice changes nothing. The one exception confirms a new email
address: it also names the change it confirms, so a later request, or the change
being made, leaves it without effect.
"""

import base64
import binascii
import functools
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac

from campaigns.models import Action
from signatories.models import Contact
from signatories.services.contacts import PENDING_EMAIL_LIFETIME

PURPOSES = (
    "pledge",
    "concern",
    "details",
    "unsubscribe",
    "unsubscribe_one_click",
    "confirm_email",
)
# The view each purpose's link opens.
URL_NAMES = {
    "pledge": "campaigns:contact_pledge",
    "concern": "campaigns:contact_concern",
    "details": "campaigns:contact_details",
    "unsubscribe": "campaigns:contact_unsubscribe",
    "unsubscribe_one_click": "campaigns:contact_unsubscribe_one_click",
    "confirm_email": "campaigns:contact_confirm_email",
}
# How long a link works after it was made. A pledge link is also bounded by its
# action: reports come in during the weeks after it (REPORT_WEEKS), not later.
LIFETIMES = {
    "pledge": timedelta(days=400),
    "concern": timedelta(days=400),
    "details": timedelta(days=365),
    "unsubscribe": timedelta(days=365),
    "unsubscribe_one_click": timedelta(days=365),
    # Mailed to an address someone just typed: short, so that a link found in an
    # old mailbox cannot move the alerts months later.
    "confirm_email": PENDING_EMAIL_LIFETIME,
}
REPORT_WEEKS = 8
# Links that name an action: pledging on it, writing its letter of concern.
ACTION_PURPOSES = {"pledge", "concern"}


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


def pending_change(contact: Contact) -> str:
    """What a confirmation link binds of the contact's pending email change ("" if
    there is none): the new address's keyed hash, when it was asked, and the
    current address's hash. A second request, or an organizer changing the
    address meanwhile, gives another value, and the earlier link stops working."""
    asked = contact.pending_email_requested_at
    if not contact.pending_email_hash or asked is None:
        return ""
    text = "|".join(
        (contact.pending_email_hash, asked.astimezone(UTC).isoformat(),
         contact.email_hash)
    )  # fmt: skip
    # A digest keeps the link short; the token is encrypted, so nobody reads it.
    digest = hashlib.sha256(text.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def make_token(contact: Contact, purpose: str, action: Action | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"Unknown link purpose {purpose!r}.")
    if (purpose in ACTION_PURPOSES) != (action is not None):
        raise ValueError(
            "Pledge and letter links name an action; the other links do not."
        )
    if purpose == "confirm_email":
        bound = pending_change(contact)
        if not bound:
            raise ValueError("The contact has no email change to confirm.")
    else:
        bound = str(action.pk) if action is not None else ""
    payload = f"{contact.pk}:{bound}:{nonce_of(contact)}".encode()
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
        contact_id, bound, nonce = payload.decode().split(":", 2)
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
    if purpose == "confirm_email":
        current = pending_change(contact)
        if not current or not secrets.compare_digest(current, bound):
            return None
        return contact, None
    if purpose not in ACTION_PURPOSES:
        return (contact, None) if bound == "" else None
    if not (bound.isascii() and bound.isdigit()):
        return None
    action = Action.objects.select_related("campaign").filter(pk=int(bound)).first()
    if action is None:
        return None
    if (now or timezone.now()) > pledge_open_until(action):
        return None
    return contact, action
