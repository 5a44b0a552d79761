"""Signing, confirming, cancelling and withdrawing; the limits that hold suspects.

Every function owns its transaction; every email is an outbox row written in the
same transaction as the change. Nothing here touches Redis.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ima_site.crypto import decrypt, encrypt, keyed_hash
from ima_site.crypto import network_hash as network_key
from ima_site.models import OutboxMessage
from ima_site.outbox import queue_email
from signatories.canonical import (
    LARGE_PROVIDERS,
    canonical_email,
    email_domain,
    mailer_address,
)
from signatories.links import new_nonce
from signatories.models import Signature, SigningAttempt, SigningSwitch
from signatories.services import recipients
from signatories.services.counts import count_event
from statements.models import Statement

# At most this many "you have already signed" emails per signature.
MAX_DUPLICATE_NOTICES = 3
# Namespaces of the two-key advisory locks that make the network and domain limits
# exact (beside recipients.LOCK_RECIPIENT; the count batch's one-key lock lives in
# a key space of its own).
LOCK_NETWORK = 74_210_101
LOCK_DOMAIN = 74_210_102
# Seconds a signing form's token is accepted. Retention keeps used tokens longer,
# so a token cannot be used again once its row is gone.
FORM_TOKEN_MAX_AGE = 2 * 86400
# Holds that mark a bot: the honeypot, and a form token missing, foreign, reused or
# too old. Such a row never gets an email, so it must not stand in the way of the
# address's owner: a later signing that is no bot's replaces it.
BOT_HOLDS = (
    "honeypot",
    "no-form-token",
    "foreign-form-token",
    "reused-form-token",
    "expired-form-token",
)


@dataclass
class SignerData:
    # Personal fields stay out of repr(): a traceback or a log line that prints the
    # object must not carry a signer's name or address.
    name: str = field(repr=False)
    email: str = field(repr=False)
    country: str
    kind: str = Signature.Kind.PERSON
    organization: str = field(default="", repr=False)
    role: str = field(default="", repr=False)
    city: str = field(default="", repr=False)
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


# Columns a signature keeps when the same email signs the statement again: the row's
# identity. Everything else is taken from the new signing if the old one was
# withdrawn, or is a pending row held as a bot's and the new signing is no bot's
# (a fresh signature in every respect), and kept otherwise.
_KEPT_ON_REPEAT = {"id", "statement_id", "email_hash", "duplicate_notices"}


def _upsert_signature(signature: Signature) -> tuple[int, str, bool, int, bool]:
    """Insert the signature, or meet the row this email already has on the statement.

    One statement for a new signer, a repeat, a re-signing after withdrawing and
    a signing that replaces a bot's held row, so they cost the same and the
    answer's timing tells nothing (a failed INSERT and a second look cost more).
    The unique key makes parallel calls meet one row.
    Returns the row's id, status, whether it is held, the notices sent, and whether
    it is fresh (new, or replaced: its nonce is then ours).
    """
    fields = [f for f in Signature._meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = [quote(str(f.column)) for f in fields]
    bots = ", ".join(f"'{reason}'" for reason in BOT_HOLDS)
    replaced = (
        f"(s.status = '{Signature.Status.WITHDRAWN}'"
        f" OR (s.status = '{Signature.Status.PENDING}' AND s.is_held"
        f" AND s.hold_reason IN ({bots}) AND EXCLUDED.hold_reason NOT IN ({bots})))"
    )
    renewed = ", ".join(
        f"{column} = CASE WHEN {replaced} THEN EXCLUDED.{column} ELSE s.{column} END"
        for f, column in zip(fields, columns, strict=True)
        if f.column not in _KEPT_ON_REPEAT
    )
    sql = f"""
        INSERT INTO {quote(Signature._meta.db_table)} AS s
            ({", ".join(columns)})
        VALUES ({", ".join(["%s"] * len(fields))})
        ON CONFLICT (statement_id, email_hash) WHERE email_hash IS NOT NULL
        DO UPDATE SET {renewed},
            duplicate_notices = CASE WHEN {replaced} THEN 0
                ELSE LEAST(s.duplicate_notices + 1, {MAX_DUPLICATE_NOTICES + 1:d}) END
        RETURNING s.id, s.status, s.is_held, s.duplicate_notices, s.link_nonce
    """  # noqa: S608 - names and constants from the code; values are parameters
    values = [
        f.get_db_prep_save(f.pre_save(signature, add=True), connection) for f in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        pk, status, is_held, notices, link_nonce = cursor.fetchone()
    return pk, status, is_held, notices, link_nonce == signature.link_nonce


def _lock_limit_buckets(network_hash: str | None, domain_hash: str | None) -> None:
    """Count one network's (and email domain's) attempts one signing at a time.

    Held to the end of the transaction: the next signing from the same network
    waits, then counts (READ COMMITTED) every attempt committed before it got the
    lock, so parallel posts cannot all slip under a limit. Always network first,
    then domain: one order, no deadlock.
    """
    with connection.cursor() as cursor:
        for namespace, bucket in (
            (LOCK_NETWORK, network_hash),
            (LOCK_DOMAIN, domain_hash),
        ):
            if bucket:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [namespace, recipients.lock_key(bucket)],
                )


def _use_form_token(nonce: str) -> bool:
    """Mark a form token as used; False if it was used before (unique key)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO signatories_usedformtoken (nonce_hash, used_at)"
            " VALUES (%s, now()) ON CONFLICT (nonce_hash) DO NOTHING",
            [keyed_hash("form-token", nonce)],
        )
        return cursor.rowcount == 1


def sign_statement(
    *,
    statement: Statement,
    data: SignerData,
    client_ip: str | None,
    suspicion: str = "",
    form_nonce: str | None = None,
) -> None:
    """Record a signature, or recognize a repeat, and queue the matching email.

    The caller learns nothing: a new signer, a repeat and a held signature all
    return None, after the same queries. Fifty parallel calls with one email make
    one row (unique key). A held signature gets no email: a bot's never (a later
    signing that is no bot's replaces its row), one held by a limit or a fast fill
    once an organizer releases it. form_nonce is the signing form's token, good
    once.
    """
    # The address the mail will really go to, and every hash made from it: two
    # spellings of one inbox must count as one.
    to = mailer_address(data.email)
    canonical = canonical_email(to)
    email_hash = keyed_hash("email", canonical)
    domain_hash = keyed_hash("domain", email_domain(canonical))
    # Half the world signs from a few big providers: no limit (and no lock) for those.
    limited_domain = None if email_domain(canonical) in LARGE_PROVIDERS else domain_hash
    network_hash = network_key(client_ip)
    with transaction.atomic():
        _lock_limit_buckets(network_hash, limited_domain)
        # Used up even when the post is held for another reason; a reused token
        # marks a bot, which outranks a fast fill.
        token_reused = form_nonce is not None and not _use_form_token(form_nonce)
        if token_reused and suspicion in ("", "too-fast"):
            suspicion = "reused-form-token"
        SigningAttempt.objects.create(
            statement=statement,
            network_hash=network_hash or "",
            email_domain_hash=domain_hash,
        )
        hold_reason = suspicion or limits_exceeded(
            statement=statement, network_hash=network_hash, domain_hash=limited_domain
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
            email_encrypted=encrypt(to),
            network_hash=network_hash,
            is_held=bool(hold_reason),
            hold_reason=hold_reason,
            link_nonce=new_nonce(),
            withdraw_nonce=new_nonce(),
        )
        pk, status, is_held, notices, fresh = _upsert_signature(signature)
        if fresh or status == Signature.Status.PENDING:
            kind = "signature.confirm"
        else:
            kind = "signature.duplicate"
        # Nothing for a held attempt, nor for a row still held (held by a limit, its
        # email goes when an organizer releases it, whoever signs again meanwhile;
        # a bot's row was replaced above unless this attempt is a bot's too).
        send = (
            not hold_reason
            and not is_held
            and status in (Signature.Status.PENDING, Signature.Status.CONFIRMED)
            and (fresh or notices <= MAX_DUPLICATE_NOTICES)
        )
        # Written even when nothing is sent (then already cancelled): the same
        # work for every answer.
        _queue_signer_email(
            kind=kind, signature_id=pk, to=to, language=data.language, send=send
        )


def _queue_signer_email(
    *, kind: str, signature_id: int, to: str, language: str, send: bool = True
) -> None:
    """Queue an email to a signer, within the daily cap of addresses not yet known."""
    send_at = recipients.reserve_email(address=to, counts=send)
    queue_email(
        kind=kind,
        object_id=signature_id,
        to=to,
        language=language,
        send_at=send_at,
        send=send,
    )


def queue_confirmation(signature: Signature) -> bool:
    """Queue the confirmation email of a pending signature that never had one sent
    (held at signing, then released); False when there is nothing to send."""
    to = decrypt(signature.email_encrypted)
    if signature.status != Signature.Status.PENDING or not to:
        return False
    already = OutboxMessage.objects.filter(
        kind="signature.confirm",
        object_id=signature.pk,
        status__in=[
            OutboxMessage.Status.QUEUED,
            OutboxMessage.Status.SENDING,
            OutboxMessage.Status.SENT,
        ],
    )
    if already.exists():
        return False
    _queue_signer_email(
        kind="signature.confirm",
        signature_id=signature.pk,
        to=to,
        language=signature.language,
    )
    return True


def confirm_signature(*, signature: Signature, display: str | None = None) -> bool:
    """Confirm a pending signature once; the link's nonce is used up.

    display, when given, is how the owner of the email chose, on the confirm page,
    to be shown (whoever first signed with that email chose the stored one)."""
    if display is not None and display not in Signature.Display.values:
        raise ValueError(f"Unknown display: {display!r}")
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status != Signature.Status.PENDING:
            return False
        if display is not None:
            signature.display = display
        signature.status = Signature.Status.CONFIRMED
        signature.confirmed_at = timezone.now()
        signature.link_nonce = ""
        address = decrypt(signature.email_encrypted)
        if address:
            # The inbox answered: emails to it are no longer capped.
            recipients.remember_recipient(address=address)
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
    """One reminder for signatures still unconfirmed after two days.

    Not for held ones: they had no confirmation email to be reminded of.
    """
    count = 0
    cutoff = timezone.now() - older_than
    with transaction.atomic():
        due = list(
            Signature.objects.select_for_update(skip_locked=True)
            .filter(
                status=Signature.Status.PENDING,
                is_held=False,
                reminder_sent_at__isnull=True,
                created_at__lte=cutoff,
                email_encrypted__isnull=False,
            )
            .order_by("pk")[:1000]
        )
        addresses = {
            signature.pk: decrypt(signature.email_encrypted) for signature in due
        }
        # All the addresses' locks first, in one order: a release queuing emails to
        # some of them meanwhile takes them in the same order, so neither waits on
        # the other in a circle.
        recipients.lock_recipients(addresses=[a for a in addresses.values() if a])
        for signature in due:
            to = addresses[signature.pk]
            if to:
                _queue_signer_email(
                    kind="signature.reminder",
                    signature_id=signature.pk,
                    to=to,
                    language=signature.language,
                )
            signature.reminder_sent_at = timezone.now()
            signature.save(update_fields=["reminder_sent_at"])
            count += 1
    return count
