"""Retention: personal data of signers is dropped once it is no longer needed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from ima_site.models import OutboxMessage
from signatories.models import (
    Contact,
    RecipientDay,
    Signature,
    SigningAttempt,
    UsedFormToken,
)
from signatories.services.contacts import PENDING_EMAIL_LIFETIME
from signatories.services.signing import FORM_TOKEN_MAX_AGE


def _drop_unconfirmed(cutoff: datetime) -> int:
    """Delete signatures left unconfirmed 14 days after their confirmation email,
    and cancel the emails still queued for them (their addresses with them).

    Counted from the email, not from signing: the daily cap may have held the
    email back for days, and its link must have had its time.
    """
    email_still_counts = OutboxMessage.objects.filter(
        kind="signature.confirm", object_id=OuterRef("pk")
    ).filter(
        Q(status__in=[OutboxMessage.Status.QUEUED, OutboxMessage.Status.SENDING])
        | Q(status=OutboxMessage.Status.SENT, sent_at__gte=cutoff)
    )
    # Locked, so that a signing meeting one of these rows waits for the delete and
    # then makes a new row, rather than queuing an email for a row about to go.
    ids = list(
        Signature.objects.select_for_update()
        .filter(status=Signature.Status.PENDING, created_at__lt=cutoff)
        .exclude(Exists(email_still_counts))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    OutboxMessage.objects.filter(
        kind__startswith="signature.",
        object_id__in=ids,
        status=OutboxMessage.Status.QUEUED,
    ).update(status=OutboxMessage.Status.CANCELLED, recipient=None)
    return Signature.objects.filter(pk__in=ids).delete()[0]


def _erase_consent_emails(now: datetime) -> int:
    """Erase the addresses kept for signers who asked to be kept informed,
    CONSENT_EMAIL_DAYS after their statement's signing ended; names stay, under
    their own rule below.

    "Ended" is Statement.effective_signing_close(), here as a query: the closing
    time, or for a statement that never closes its publication (its creation if it
    never went public) plus SIGNATURE_MAX_AGE_DAYS. The end of the statement's
    campaign should extend this (its news is what the signers asked for), but this
    app may not import campaigns: that needs a hook campaigns fills, still to do.
    """
    cutoff = now - timedelta(days=settings.CONSENT_EMAIL_DAYS)
    open_ended_cutoff = cutoff - timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)
    ended = Q(statement__signing_closes_at__lt=cutoff) | Q(
        statement__signing_closes_at__isnull=True
    ) & (
        Q(statement__publish_at__lt=open_ended_cutoff)
        | Q(
            statement__publish_at__isnull=True,
            statement__created_at__lt=open_ended_cutoff,
        )
    )
    # Every address left on those statements, not only the consenting ones: nothing
    # is left to confirm there either.
    return (
        Signature.objects.filter(email_encrypted__isnull=False)
        .filter(ended)
        .update(email_encrypted=None)
    )


def apply_retention(*, now=None) -> dict[str, int]:
    """Drop personal data that is no longer needed; counts are kept.

    Network hashes and attempts after 30 days; unconfirmed signatures 14 days
    after their confirmation email (its link long expired); everything personal
    of a statement's signatures SIGNATURE_RETENTION_DAYS after its signing closed
    or, when it has no closing time, SIGNATURE_MAX_AGE_DAYS after its publication;
    the addresses of signers who asked to be kept informed CONSENT_EMAIL_DAYS after
    its signing ended.
    """
    now = now or timezone.now()
    month_ago = now - timedelta(days=30)
    done = {}
    with transaction.atomic():
        done["attempts"] = SigningAttempt.objects.filter(at__lt=month_ago).delete()[0]
        # The daily email counts of past days, kept two days to see a day's end
        # through; form tokens once too old to be accepted anyway.
        done["email_days"] = RecipientDay.objects.filter(
            day__lt=(now - timedelta(days=2)).date()
        ).delete()[0]
        done["form_tokens"] = UsedFormToken.objects.filter(
            used_at__lt=now - timedelta(seconds=FORM_TOKEN_MAX_AGE, days=1)
        ).delete()[0]
        done["network_hashes"] = Signature.objects.filter(
            created_at__lt=month_ago, network_hash__isnull=False
        ).update(network_hash=None)
        done["unconfirmed"] = _drop_unconfirmed(now - timedelta(days=14))
        # A contact's new address never confirmed: its link has expired.
        done["pending_contact_emails"] = Contact.objects.filter(
            pending_email_requested_at__lt=now - PENDING_EMAIL_LIFETIME
        ).update(
            pending_email_hash="",
            pending_email_encrypted=None,
            pending_email_requested_at=None,
        )
        done["consent_emails"] = _erase_consent_emails(now)
        personal = Signature.objects.exclude(
            name="", email_encrypted__isnull=True, city="", role=""
        )
        erased = {
            "name": "", "role": "", "city": "", "email_encrypted": None,
            "network_hash": None,
        }  # fmt: skip
        closed_before = now - timedelta(days=settings.SIGNATURE_RETENTION_DAYS)
        done["closed_statements"] = personal.filter(
            statement__signing_closes_at__lt=closed_before
        ).update(**erased)
        # A statement that never closes counts from its publication (its creation if
        # it never went public), up to the maximum age.
        published_before = now - timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)
        done["open_ended_statements"] = (
            personal.filter(statement__signing_closes_at__isnull=True)
            .filter(
                Q(statement__publish_at__lt=published_before)
                | Q(
                    statement__publish_at__isnull=True,
                    statement__created_at__lt=published_before,
                )
            )
            .update(**erased)
        )
    return done
