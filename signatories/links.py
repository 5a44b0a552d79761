"""The links in signers' emails: signed, expiring, and good for one use.

A token names the signature, the action and a nonce stored on the signature; using
the link rotates the nonce, so the same link never works twice.
"""

import secrets
from datetime import timedelta

from django.core import signing
from django.urls import reverse

from signatories.models import Signature

LIFETIMES = {
    "confirm": timedelta(days=7),
    "cancel": timedelta(days=7),
    "withdraw": timedelta(days=365),
}


def new_nonce() -> str:
    return secrets.token_urlsafe(16)


def make_token(signature: Signature, action: str) -> str:
    nonce = signature.withdraw_nonce if action == "withdraw" else signature.link_nonce
    return signing.dumps(
        {"s": signature.pk, "n": nonce}, salt=f"signature-{action}", compress=True
    )


def link_path(signature: Signature, action: str) -> str:
    return reverse(f"signatories:{action}", args=[make_token(signature, action)])


def read_token(token: str, action: str) -> Signature | None:
    """The signature the token is for, if it is genuine, fresh and unused."""
    try:
        data = signing.loads(
            token,
            salt=f"signature-{action}",
            max_age=LIFETIMES[action].total_seconds(),
        )
    except signing.BadSignature:
        return None
    signature = Signature.objects.filter(pk=data.get("s")).first()
    if signature is None:
        return None
    nonce = signature.withdraw_nonce if action == "withdraw" else signature.link_nonce
    if not nonce or not secrets.compare_digest(nonce, str(data.get("n", ""))):
        return None
    return signature
