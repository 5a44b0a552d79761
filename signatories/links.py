"""The links in signers' emails: encrypted, expiring, and good for one use.

A token names the signature and a nonce stored on the signature; using the link
rotates the nonce, so the same link never works twice (but for "stop emails", which
may be repeated without harm). The token is encrypted, not
only signed: a signed token's payload is readable base64, and a row id in it would
tell anyone with a link how many have signed.
"""

import base64
import binascii
import secrets
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import salted_hmac

from signatories.models import Signature

LIFETIMES = {
    "confirm": timedelta(days=7),
    "cancel": timedelta(days=7),
    "withdraw": timedelta(days=365),
    "unsubscribe": timedelta(days=365),
}
# Links that read the withdraw nonce, which lives as long as the signature is on
# the statement. Stopping emails does not use it up: doing it twice changes nothing,
# and the withdraw link in the same email must keep working.
LASTING = ("withdraw", "unsubscribe")


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def _fernet(action: str) -> MultiFernet:
    # One key per action, so a confirm link cannot be replayed as a withdraw link;
    # derived from SECRET_KEY and its fallbacks, so rotating it works as for
    # Django's own signed values.
    secrets_in_use = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(
                        f"signatories.links.{action}", "fernet", secret=secret,
                        algorithm="sha256",
                    ).digest()
                )
            )
            for secret in secrets_in_use
        ]
    )  # fmt: skip


def _nonce_of(signature: Signature, action: str) -> str:
    return signature.withdraw_nonce if action in LASTING else signature.link_nonce


def make_token(signature: Signature, action: str) -> str:
    payload = f"{signature.pk}:{_nonce_of(signature, action)}".encode()
    # Fernet's padding "=" is dropped: it is noise in a link and restored on reading.
    return _fernet(action).encrypt(payload).decode().rstrip("=")


def link_path(signature: Signature, action: str) -> str:
    return reverse(f"signatories:{action}", args=[make_token(signature, action)])


def _read_encrypted(token: str, action: str) -> tuple[str, str] | None:
    padded = token + "=" * (-len(token) % 4)
    try:
        payload = _fernet(action).decrypt(
            padded.encode("ascii"), ttl=int(LIFETIMES[action].total_seconds())
        )
        pk, nonce = payload.decode().split(":", 1)
    except (InvalidToken, UnicodeError, ValueError, binascii.Error):
        return None
    return pk, nonce


def _read_signed(token: str, action: str) -> tuple[str, str] | None:
    """The format mailed before the links were encrypted (a signed, readable id).

    Accepted until the last of those links expires (the longest lifetime, a year
    after the change); then this function can go.
    """
    try:
        data = signing.loads(
            token,
            salt=f"signature-{action}",
            max_age=LIFETIMES[action],
        )
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    return str(data.get("s", "")), str(data.get("n", ""))


def read_token(token: str, action: str) -> Signature | None:
    """The signature the token is for, if it is genuine, fresh and unused."""
    found = _read_encrypted(token, action)
    # A signed token always holds a colon; none was ever mailed for stopping emails.
    if found is None and ":" in token and action != "unsubscribe":
        found = _read_signed(token, action)
    if found is None:
        return None
    pk, nonce = found
    if not (pk.isascii() and pk.isdigit()):
        return None
    signature = Signature.objects.filter(pk=int(pk)).first()
    if signature is None:
        return None
    expected = _nonce_of(signature, action)
    if not expected or not secrets.compare_digest(expected, nonce):
        return None
    return signature
