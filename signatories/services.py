"""Signing, confirming, withdrawing and reviewing signatures; keeping counts.

Every function owns its transaction. A change that moves a signature in or out of
the count writes a CountEvent in the same transaction; every email is an outbox row
written in the same transaction. Nothing here touches Redis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from ima_site.crypto import encrypt, keyed_hash, network_prefix
from ima_site.models import OutboxMessage, record_audit_entry
from ima_site.outbox import queue_email
from signatories.canonical import LARGE_PROVIDERS, canonical_email, email_domain
from signatories.links import new_nonce
from signatories.models import (
    CountCheck,
    CountEvent,
    Organization,
    Signature,
    SignatureCount,
    SigningAttempt,
    SigningSwitch,
)
from statements.models import Statement

# At most this many "you have already signed" emails per signature.
MAX_DUPLICATE_NOTICES = 3
COUNT_LOCK = 74_210_001  # pg advisory lock key of the count batch


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


def link_to_registry(*, ids: list[int], by) -> int:
    """Organizers: link organization signatures to the member registry by name and
    country. Anyone can type a member's name, so the badge waits for this review."""
    linked = []
    with transaction.atomic():
        for signature in Signature.objects.select_for_update().filter(
            pk__in=ids, kind=Signature.Kind.ORGANIZATION
        ):
            organization = Organization.objects.filter(
                name__iexact=signature.organization.strip(), country=signature.country
            ).first()
            if organization:
                signature.member_organization = organization
                signature.save(update_fields=["member_organization"])
                linked.append(signature)
        _audit_per_statement(by, "link_registry", linked)
    return len(linked)


def _count_event(signature: Signature, delta: int) -> None:
    CountEvent.objects.create(
        statement_id=signature.statement_id,
        country=signature.country,
        kind=signature.kind,
        delta=delta,
    )


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
            _count_event(signature, +1)
        _cancel_pending_emails(signature, kinds=["signature.reminder"])
        return True


def cancel_signature(*, signature: Signature) -> None:
    """ "This wasn't me": delete a pending signature and everything about it."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status != Signature.Status.PENDING:
            return
        _cancel_pending_emails(signature)
        signature.delete()


def withdraw_signature(*, signature: Signature) -> None:
    """The signer takes their name back: out of the list and the count, and their
    personal data erased (only the keyed email hash stays, to know a re-signing)."""
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        if signature.status == Signature.Status.WITHDRAWN:
            return
        if signature.is_counted:
            _count_event(signature, -1)
        _cancel_pending_emails(signature)
        signature.status = Signature.Status.WITHDRAWN
        signature.withdraw_nonce = ""
        signature.link_nonce = ""
        signature.email_encrypted = None
        signature.network_hash = None
        signature.name = signature.role = signature.city = ""
        if signature.kind == Signature.Kind.PERSON:
            signature.organization = ""
        signature.save()


def _cancel_pending_emails(
    signature: Signature, kinds: list[str] | None = None
) -> None:
    emails = OutboxMessage.objects.filter(
        object_id=signature.pk,
        kind__startswith="signature.",
        status=OutboxMessage.Status.QUEUED,
    )
    if kinds:
        emails = emails.filter(kind__in=kinds)
    emails.update(status=OutboxMessage.Status.CANCELLED, recipient=None)


# --- Organizers --------------------------------------------------------------------


def _audit_per_statement(by, action: str, signatures: list[Signature]) -> None:
    by_statement: dict[int, list[int]] = {}
    for signature in signatures:
        by_statement.setdefault(signature.statement_id, []).append(signature.pk)
    for statement in Statement.objects.filter(pk__in=by_statement):
        record_audit_entry(
            actor=by,
            action=f"signatures.{action}",
            obj=statement,
            details={"signatures": sorted(by_statement[statement.pk])},
        )


def _review(ids, by, action: str, change) -> int:
    with transaction.atomic():
        signatures = list(Signature.objects.select_for_update().filter(pk__in=ids))
        for signature in signatures:
            counted_before = signature.is_counted
            change(signature)
            signature.save()
            if counted_before != signature.is_counted:
                _count_event(signature, +1 if signature.is_counted else -1)
        _audit_per_statement(by, action, signatures)
    return len(signatures)


def hold_signatures(*, ids: list[int], by, reason: str = "organizer") -> int:
    """Take signatures out of the count and the list until reviewed."""

    def hold(signature):
        signature.is_held = True
        signature.hold_reason = reason[:120]

    return _review(ids, by, "hold", hold)


def release_signatures(*, ids: list[int], by) -> int:
    """Count and list held signatures (those confirmed by their signers)."""

    def release(signature):
        signature.is_held = False
        signature.hold_reason = ""

    return _review(ids, by, "release", release)


def reject_signatures(*, ids: list[int], by) -> int:
    """Mark signatures as not genuine: never counted, personal data removed."""

    def reject(signature):
        signature.status = Signature.Status.REJECTED
        signature.email_encrypted = signature.network_hash = None
        signature.name = signature.role = signature.city = ""
        signature.link_nonce = signature.withdraw_nonce = ""

    return _review(ids, by, "reject", reject)


def erase_signatures(*, ids: list[int], by) -> int:
    """Delete signatures and all their personal data (a signer's request, say)."""
    with transaction.atomic():
        signatures = list(Signature.objects.select_for_update().filter(pk__in=ids))
        for signature in signatures:
            if signature.is_counted:
                _count_event(signature, -1)
            _cancel_pending_emails(signature)
        _audit_per_statement(by, "erase", signatures)
        Signature.objects.filter(pk__in=[s.pk for s in signatures]).delete()
    return len(signatures)


# --- Counts ------------------------------------------------------------------------


def apply_count_events() -> int:
    """Fold the count events written since the last run into SignatureCount.

    Runs every few seconds under an advisory lock, so two runs never overlap. The
    events are deleted in the transaction that adds them: each is applied once.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COUNT_LOCK])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            """
            WITH taken AS (DELETE FROM signatories_countevent RETURNING *)
            SELECT statement_id, country, kind, SUM(delta), COUNT(*)
            FROM taken GROUP BY statement_id, country, kind
            """
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        cursor.executemany(
            """
            INSERT INTO signatories_signaturecount (statement_id, country, kind, count)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (statement_id, country, kind)
            DO UPDATE SET count = signatories_signaturecount.count + EXCLUDED.count
            """,
            [row[:4] for row in rows],
        )
        return sum(row[4] for row in rows)


RECONCILE_SQL = """
WITH counted AS (
    SELECT statement_id, country, kind, COUNT(*) AS n
    FROM signatories_signature
    WHERE status = 'confirmed' AND NOT is_held
    GROUP BY statement_id, country, kind
), pending AS (
    SELECT statement_id, country, kind, SUM(delta) AS d
    FROM signatories_countevent
    GROUP BY statement_id, country, kind
)
SELECT statement_id, country, kind,
       COALESCE(counted.n, 0) - COALESCE(pending.d, 0) AS expected
FROM counted FULL JOIN pending USING (statement_id, country, kind)
"""


def reconcile_counts() -> list[CountCheck]:
    """Nightly: compare the batched counts with a real count, fix and record drift.

    Under the batch's lock, one statement reads the signatures and the events not
    yet applied in a single snapshot: a stored count should be the real count less
    those events, which the next batch adds.
    """
    checks = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COUNT_LOCK])
        cursor.execute(RECONCILE_SQL)
        expected = {(row[0], row[1], row[2]): row[3] for row in cursor.fetchall()}
        stored = {
            (c.statement_id, c.country, c.kind): c.count
            for c in SignatureCount.objects.all()
        }
        for statement_id in sorted({key[0] for key in expected | stored}):
            keys = [
                key for key in expected.keys() | stored.keys() if key[0] == statement_id
            ]
            wrong = [key for key in keys if expected.get(key, 0) != stored.get(key, 0)]
            if not wrong:
                continue
            for key in wrong:
                SignatureCount.objects.update_or_create(
                    statement_id=key[0], country=key[1], kind=key[2],
                    defaults={"count": expected.get(key, 0)},
                )  # fmt: skip
            checks.append(
                CountCheck.objects.create(
                    statement_id=statement_id,
                    expected=sum(expected.get(key, 0) for key in keys),
                    found=sum(stored.get(key, 0) for key in keys),
                )
            )
    return checks


def statement_counts(statement: Statement) -> dict:
    """What the public sees of the count, from the batched table."""
    rows = list(
        SignatureCount.objects.filter(statement=statement, count__gt=0).values(
            "country", "kind", "count"
        )
    )
    offline = statement.offline_counts.aggregate(total=Sum("count"))["total"] or 0
    by_country: dict[str, int] = {}
    for row in rows:
        by_country[row["country"]] = by_country.get(row["country"], 0) + row["count"]
    return {
        "total": sum(by_country.values()) + offline,
        "organizations": sum(r["count"] for r in rows if r["kind"] == "organization"),
        "offline": offline,
        "goal": statement.signature_goal,
        "by_country": by_country,
    }


# --- Housekeeping -------------------------------------------------------------------


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
        from ima_site.crypto import decrypt

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


def apply_retention(*, now=None) -> dict[str, int]:
    """Drop personal data that is no longer needed; counts are kept.

    Network hashes and attempts after 30 days; unconfirmed signatures after their
    links expired; everything personal of a closed statement's signatures after
    SIGNATURE_RETENTION_DAYS.
    """
    now = now or timezone.now()
    month_ago = now - timedelta(days=30)
    done = {}
    with transaction.atomic():
        done["attempts"] = SigningAttempt.objects.filter(at__lt=month_ago).delete()[0]
        done["network_hashes"] = Signature.objects.filter(
            created_at__lt=month_ago, network_hash__isnull=False
        ).update(network_hash=None)
        stale = Signature.objects.filter(
            status=Signature.Status.PENDING, created_at__lt=now - timedelta(days=14)
        )
        done["unconfirmed"] = stale.delete()[0]
        closed_before = now - timedelta(days=settings.SIGNATURE_RETENTION_DAYS)
        done["closed_statements"] = (
            Signature.objects.filter(
                statement__signing_closes_at__lt=closed_before,
            )
            .exclude(name="", email_encrypted__isnull=True, city="", role="")
            .update(name="", role="", city="", email_encrypted=None, network_hash=None)
        )
    return done
