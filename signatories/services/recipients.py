"""The daily cap on emails to addresses that never confirmed a signature here.

Anyone can type any address into a signing form. So that the site cannot be used to
flood an inbox, an address that has not confirmed a signature receives at most
DAILY_EMAILS_TO_NEW_ADDRESSES emails a day, whatever the statements; more wait for
the next day with room (never dropped). Addresses are counted by a keyed hash only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection
from django.utils import timezone

from ima_site.crypto import keyed_hash
from signatories.canonical import canonical_email
from signatories.models import KnownRecipient

DAILY_EMAILS_TO_NEW_ADDRESSES = 3
# Namespace of the two-key advisory lock per address (signing.LOCK_NETWORK and
# LOCK_DOMAIN are its neighbours).
LOCK_RECIPIENT = 74_210_103


def lock_key(hex_hash: str) -> int:
    """A signed 32-bit key for pg_advisory_xact_lock(namespace, key) from a hash."""
    return int(hex_hash[:8], 16) - 2**31


def recipient_hash(address: str) -> str:
    """One key per inbox: also without the +tag, which nearly every server ignores.

    Merging too much only caps more; merging too little would let `victim+1@`,
    `victim+2@`… each get their own allowance.
    """
    local, _, domain = canonical_email(address).rpartition("@")
    return keyed_hash("recipient", f"{local.split('+', 1)[0]}@{domain}")


def lock_recipients(*, addresses: Iterable[str]) -> None:
    """Take the advisory locks of many addresses at once, in one order for all.

    For a transaction that queues emails to several addresses (a release, the
    reminder batch): taken one by one in row order, two such transactions holding
    the same addresses in opposite orders would deadlock. reserve_email() then
    takes them again, which costs nothing (a session may hold a lock twice).
    """
    keys = sorted({lock_key(recipient_hash(address)) for address in addresses})
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_RECIPIENT, key]
            )


def remember_recipient(*, address: str) -> None:
    """The address confirmed a signature: from now on its emails are not capped."""
    KnownRecipient.objects.bulk_create(
        [KnownRecipient(address_hash=recipient_hash(address))], ignore_conflicts=True
    )


DAY_SQL = """
SELECT EXISTS (SELECT 1 FROM signatories_knownrecipient WHERE address_hash = %(h)s),
       last.day, last.emails
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT day, emails FROM signatories_recipientday
    WHERE address_hash = %(h)s AND day >= %(today)s
    ORDER BY day DESC LIMIT 1
) AS last ON true
"""

COUNT_SQL = """
INSERT INTO signatories_recipientday (address_hash, day, emails)
VALUES (%(h)s, %(day)s, %(emails)s)
ON CONFLICT (address_hash, day)
DO UPDATE SET emails = signatories_recipientday.emails + EXCLUDED.emails
"""


def reserve_email(*, address: str, counts: bool = True) -> datetime | None:
    """When an email to this address may go: None for now, else the day it waits for.

    Call inside the transaction that queues the email. Parallel calls for one
    address are serialized by an advisory lock held to the end of the transaction,
    so two signings can never both take the last place of a day. The work is the
    same for known and new addresses, and for emails that will not be sent
    (counts=False counts nothing): signing must not be timed to learn which.
    """
    address_hash = recipient_hash(address)
    today = timezone.now().date()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, %s)",
            [LOCK_RECIPIENT, lock_key(address_hash)],
        )
        cursor.execute(DAY_SQL, {"h": address_hash, "today": today})
        known, last_day, emails = cursor.fetchone()
        day = _first_day_with_room(today, last_day, emails, known=known)
        cursor.execute(
            COUNT_SQL, {"h": address_hash, "day": day, "emails": 1 if counts else 0}
        )
    if day == today:
        return None
    return datetime.combine(day, time.min, tzinfo=UTC)


def _first_day_with_room(
    today: date, last_day: date | None, emails: int | None, *, known: bool
) -> date:
    # Days from today up to the last one used are full (each was started only when
    # the one before was), so the first day with room is the last one or the next.
    if known or last_day is None:
        return today
    if emails is not None and emails >= DAILY_EMAILS_TO_NEW_ADDRESSES:
        return last_day + timedelta(days=1)
    return last_day
