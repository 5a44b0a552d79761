"""Protecting signers' personal data: encryption at rest and keyed hashes.

Emails are stored encrypted with Fernet (AES + HMAC) under SIGNER_DATA_KEYS; the
first key encrypts, all of them decrypt, so keys can be rotated. What is only ever
compared (a canonical email, a network prefix) is stored as an HMAC under
SIGNER_HASH_KEY, never in a form that a database dump would give away.
"""

import hashlib
import hmac
import ipaddress

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.SIGNER_DATA_KEYS])


def encrypt(text: str) -> bytes:
    return _fernet().encrypt(text.encode())


def decrypt(token: bytes | memoryview | None) -> str | None:
    if token is None:
        return None
    try:
        return _fernet().decrypt(bytes(token)).decode()
    except InvalidToken:
        return None


def rotate(token: bytes | memoryview) -> bytes:
    """Re-encrypt under the first (current) key."""
    return _fernet().rotate(bytes(token))


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of value, separated by purpose so hashes never match across uses."""
    message = f"{purpose}\x00{value}".encode()
    return hmac.new(settings.SIGNER_HASH_KEY, message, hashlib.sha256).hexdigest()


def network_prefix(address: str) -> str:
    """The /24 of an IPv4 or the /48 of an IPv6 address: people share these."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:a.b.c.d from a dual-stack socket is IPv4
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def network_hash(address: str | None) -> str | None:
    """The keyed hash of an address's network, or None without a usable address
    (none at all, or a forged X-Forwarded-For entry under a wrong proxy count)."""
    if not address:
        return None
    try:
        return keyed_hash("network", network_prefix(address))
    except ValueError:
        return None
