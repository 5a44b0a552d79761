"""Signing, confirming, cancelling and withdrawing; the limits that hold suspects.

Every function owns its transaction; every email is an outbox row written in the
same transaction as the change. Nothing here touches Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ima_site.crypto import decrypt, encrypt, keyed_hash, network_prefix
from ima_site.models import OutboxMessage
from ima_site.outbox import queue_email
from signatories.canonical import LARGE_PROVIDERS, canonical_email, email_domain
from signatories.links import new_nonce
from signatories.models import Signature, SigningAttempt, SigningSwitch
from signatories.services.counts import count_event
from statements.models import Statement

# At most this many "you have already signed" emails per signature.
MAX_DUPLICATE_NOTICES = 3


@dataclass
class SignerData:
    name: str
    email: str
    country: str
    kind: str = Signature.Kind.PERSON
    organization: str = ""
    role: str = ""
    city: str = ""
    display: str = Signature.Display.FULL
    language: str = "en"
    consent: bool = False
    source: str = Signature.Source.WEB


def signing_paused_everywhere() -> bool:
    return SigningSwitch.objects.filter(paused=True).exists()


def signing_is_open(statement: Statement) -> bool:
    """The one rule: the statement takes signatures now and nobody paused them all."""
    return statement.is_open_for_signing() and not signing_paused_everywhere()


LIMITS_SQL = """
SELECT
  (SELECT COUNT(*) FROM (SELECT 1 FROM signatories_signingattempt
     WHERE network_hash = %(network)s AND at >= now() - interval '1 minute'
     LIMIT %(network_minute)s + 1) AS a),
  (SELECT COUNT(*) FROM (SELECT 1 FROM signatories_signingattempt
     WHERE network_hash = %(network)s AND at >= now() - interval '1 day'
     LIMIT %(network_day)s + 1) AS b),
  (SELECT COUNT(*) FROM (SELECT 1 FROM signatories_signingattempt
     WHERE email_domain_hash = %(domain)s AND at >= now() - interval '1 minute'
     LIMIT %(domain_minute)s + 1) AS c),
  (SELECT COUNT(*) FROM (SELECT 1 FROM signatories_signingattempt
     WHERE email_domain_hash = %(domain)s AND at >= now() - interval '1 hour'
     LIMIT %(domain_hour)s + 1) AS d),
  -- Rates the batch has not refreshed for a minute (beat stopped) are ignored.
  (SELECT last_minute FROM signatories_statementrate
     WHERE statement_id = %(statement)s AND updated_at > now() - interval '1 minute'),
  (SELECT last_hour FROM signatories_statementrate
     WHERE statement_id = %(statement)s AND updated_at > now() - interval '1 minute')
"""


def limits_exceeded(
    *, statement: Statement, network_hash: str | None, domain_hash: str | None
) -> str:
    """The first limit this attempt goes over, or "" (counted in PostgreSQL).

    One query: each count stops at its limit, so a busy network costs no more than
    a quiet one, and the per-statement rates come from the row the batch keeps.
    Keep the limits in the thousands: a count reads up to limit + 1 index entries.
    """
    limits = settings.SIGNING_LIMITS
    with connection.cursor() as cursor:
        cursor.execute(
            LIMITS_SQL,
            {"network": network_hash, "domain": domain_hash,
             "statement": statement.pk, **limits},
        )  # fmt: skip
        (
            network_minute,
            network_day,
            domain_minute,
            domain_hour,
            rate_minute,
            rate_hour,
        ) = cursor.fetchone()
    for name, value, limit in [
        ("network-burst", network_minute, limits["network_minute"]),
        ("network-day", network_day, limits["network_day"]),
        ("domain-burst", domain_minute, limits["domain_minute"]),
        ("domain-hour", domain_hour, limits["domain_hour"]),
        ("statement-burst", rate_minute or 0, limits["statement_minute"]),
        ("statement-hour", rate_hour or 0, limits["statement_hour"]),
    ]:
        if value > limit:
            return name
    return ""


def refresh_statement_rates() -> int:
    """Count each statement's signing attempts of the last minute and hour."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            WITH rates AS (
                SELECT statement_id,
                       COUNT(*) FILTER (WHERE at >= now() - interval '1 minute') AS m,
                       COUNT(*) AS h
                FROM signatories_signingattempt
                WHERE at >= now() - interval '1 hour'
                GROUP BY statement_id
            ), gone AS (
                DELETE FROM signatories_statementrate
                WHERE statement_id NOT IN (SELECT statement_id FROM rates)
            )
            INSERT INTO signatories_statementrate
                (statement_id, last_minute, last_hour, updated_at)
            SELECT statement_id, m, h, now() FROM rates
            ON CONFLICT (statement_id) DO UPDATE
            SET last_minute = EXCLUDED.last_minute, last_hour = EXCLUDED.last_hour,
                updated_at = EXCLUDED.updated_at
            """
        )
        return cursor.rowcount


def sign_statement(
    *,
    statement: Statement,
    data: SignerData,
    client_ip: str | None,
    suspicion: str = "",
) -> None:
    """Record a signature, or recognize a repeat, and queue the matching email.

    The caller learns nothing: a new signer, a repeat and a held signature all
    return None. Fifty parallel calls with one email make one row (unique key).
    """
    canonical = canonical_email(data.email)
    email_hash = keyed_hash("email", canonical)
    domain_hash = keyed_hash("domain", email_domain(canonical))
    network_hash = (
        keyed_hash("network", network_prefix(client_ip)) if client_ip else None
    )
    with transaction.atomic():
        SigningAttempt.objects.create(
            statement=statement,
            network_hash=network_hash or "",
            email_domain_hash=domain_hash,
        )
        hold_reason = suspicion or limits_exceeded(
            statement=statement,
            network_hash=network_hash,
            # Half the world signs from a few big providers: no limit for those.
            domain_hash=None
            if email_domain(canonical) in LARGE_PROVIDERS
            else domain_hash,
        )
        signature = Signature(
            statement=statement,
            kind=data.kind,
            name=data.name,
            organization=data.organization,
            role=data.role,
            country=data.country,
            city=data.city,
            display=data.display,
            language=data.language,
            consent=data.consent,
            source=data.source,
            email_hash=email_hash,
            email_encrypted=encrypt(data.email.strip()),
            network_hash=network_hash,
            is_held=bool(hold_reason),
            hold_reason=hold_reason,
            link_nonce=new_nonce(),
            withdraw_nonce=new_nonce(),
        )
        try:
            with transaction.atomic():
                signature.save()
        except IntegrityError:
            _repeat(statement, email_hash, data, hold_reason)
            return
        queue_email(
            kind="signature.confirm",
            object_id=signature.pk,
            to=data.email.strip(),
            language=data.language,
        )


def _repeat(
    statement: Statement, email_hash: str, data: SignerData, hold_reason: str
) -> None:
    existing = (
        Signature.objects.select_for_update()
        .filter(statement=statement, email_hash=email_hash)
        .first()
    )
    if existing is None:
        # Deleted ("this wasn't me", retention) between our insert and this read:
        # the address is free again, so this is a new signature after all.
        sign_statement(
            statement=statement, data=data, client_ip=None, suspicion=hold_reason
        )
        return
    if existing.status == Signature.Status.WITHDRAWN:
        # Signing again after withdrawing: a fresh signature in every respect.
        for name in ("kind", "name", "organization", "role", "country", "city",
                     "display", "language", "consent", "source"):  # fmt: skip
            setattr(existing, name, getattr(data, name))
        existing.status = Signature.Status.PENDING
        existing.email_encrypted = encrypt(data.email.strip())
        existing.link_nonce = new_nonce()
        existing.withdraw_nonce = new_nonce()
        existing.confirmed_at = existing.reminder_sent_at = None
        existing.created_at = timezone.now()
        existing.duplicate_notices = 0
        existing.is_held = bool(hold_reason)
        existing.hold_reason = hold_reason
        existing.member_organization = None
        existing.save()
        kind = "signature.confirm"
        over_cap = False
    else:
        over_cap = existing.duplicate_notices >= MAX_DUPLICATE_NOTICES
        if not over_cap:
            existing.duplicate_notices += 1
            existing.save(update_fields=["duplicate_notices"])
        kind = (
            "signature.confirm"
            if existing.status == Signature.Status.PENDING
            else "signature.duplicate"
        )
    message = queue_email(
        kind=kind, object_id=existing.pk, to=data.email.strip(), language=data.language
    )
    if over_cap:
        # The same writes as any other signing (nothing to time), but nothing sent.
        OutboxMessage.objects.filter(pk=message.pk).update(
            status=OutboxMessage.Status.CANCELLED, recipient=None
        )


def confirm_signature(*, signature: Signature) -> bool:
    """Confirm a pending signature once; the link's nonce is used up."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status != Signature.Status.PENDING:
            return False
        signature.status = Signature.Status.CONFIRMED
        signature.confirmed_at = timezone.now()
        signature.link_nonce = ""
        if not signature.consent:
            # No longer needed: dedup works on the hash; withdrawing needs no email.
            signature.email_encrypted = None
        signature.save()
        if signature.is_counted:
            count_event(signature, +1)
        cancel_pending_emails(signature, kinds=["signature.reminder"])
        return True


def cancel_signature(*, signature: Signature) -> None:
    """ "This wasn't me": delete a pending signature and everything about it."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status != Signature.Status.PENDING:
            return
        cancel_pending_emails(signature)
        signature.delete()


def withdraw_signature(*, signature: Signature) -> None:
    """The signer takes their name back: out of the list and the count, and their
    personal data erased (only the keyed email hash stays, to know a re-signing)."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status == Signature.Status.WITHDRAWN:
            return
        if signature.is_counted:
            count_event(signature, -1)
        cancel_pending_emails(signature)
        signature.status = Signature.Status.WITHDRAWN
        signature.withdraw_nonce = ""
        signature.link_nonce = ""
        signature.email_encrypted = None
        signature.network_hash = None
        signature.name = signature.role = signature.city = ""
        if signature.kind == Signature.Kind.PERSON:
            signature.organization = ""
        signature.save()


def cancel_pending_emails(signature: Signature, kinds: list[str] | None = None) -> None:
    emails = OutboxMessage.objects.filter(
        object_id=signature.pk,
        kind__startswith="signature.",
        status=OutboxMessage.Status.QUEUED,
    )
    if kinds:
        emails = emails.filter(kind__in=kinds)
    emails.update(status=OutboxMessage.Status.CANCELLED, recipient=None)


def send_reminders(*, older_than: timedelta = timedelta(days=2)) -> int:
    """One reminder for signatures still unconfirmed after two days."""
    count = 0
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        due = Signature.objects.select_for_update(skip_locked=True).filter(
            status=Signature.Status.PENDING,
            reminder_sent_at__isnull=True,
            created_at__lte=cutoff,
            email_encrypted__isnull=False,
        )[:1000]
        for signature in due:
            to = decrypt(signature.email_encrypted)
            if to:
                queue_email(
                    kind="signature.reminder",
                    object_id=signature.pk,
                    to=to,
                    language=signature.language,
                )
            signature.reminder_sent_at = timezone.now()
            signature.save(update_fields=["reminder_sent_at"])
            count += 1
    return count
