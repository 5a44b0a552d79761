"""Organizers' review of signatures: hold, release, reject, erase, link members.

Each call is one transaction with an audit entry per statement touched.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from ima_site.crypto import decrypt
from ima_site.models import record_audit_entry
from signatories.models import Organization, Signature
from signatories.services import recipients
from signatories.services.counts import count_event
from signatories.services.signing import cancel_pending_emails, queue_confirmation
from statements.models import Statement


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


def _review(ids, by, action: str, change, *, before=None) -> int:
    with transaction.atomic():
        # Rows locked in one order (two reviews of the same rows wait, never
        # deadlock), then `before` may take further locks for the whole batch.
        signatures = list(
            Signature.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        )
        if before is not None:
            before(signatures)
        for signature in signatures:
            counted_before = signature.is_counted
            change(signature)
            signature.save()
            if counted_before != signature.is_counted:
                count_event(signature, +1 if signature.is_counted else -1)
        _audit_per_statement(by, action, signatures)
    return len(signatures)


def hold_signatures(*, ids: list[int], by, reason: str = "organizer") -> int:
    """Take signatures out of the count and the list until reviewed."""

    def hold(signature):
        signature.is_held = True
        signature.hold_reason = reason[:120]

    return _review(ids, by, "hold", hold)


def release_signatures(*, ids: list[int], by) -> int:
    """Count and list held signatures (those confirmed by their signers).

    A held signature got no email when it was made: a pending one gets its
    confirmation email now (once), and no reminder after it, the email being new.
    """

    def lock_addresses(signatures):
        recipients.lock_recipients(
            addresses=[
                address
                for signature in signatures
                if signature.is_held and signature.status == Signature.Status.PENDING
                if (address := decrypt(signature.email_encrypted))
            ]
        )

    def release(signature):
        was_held = signature.is_held
        signature.is_held = False
        signature.hold_reason = ""
        if was_held and queue_confirmation(signature):
            signature.reminder_sent_at = timezone.now()

    return _review(ids, by, "release", release, before=lock_addresses)


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
                count_event(signature, -1)
            cancel_pending_emails(signature)
        _audit_per_statement(by, "erase", signatures)
        Signature.objects.filter(pk__in=[s.pk for s in signatures]).delete()
    return len(signatures)
