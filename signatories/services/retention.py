"""Retention: personal data of signers is dropped once it is no longer needed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from signatories.models import (
    RecipientDay,
    Signature,
    SigningAttempt,
    UsedFormToken,
)
from signatories.services.signing import FORM_TOKEN_MAX_AGE


def apply_retention(*, now=None) -> dict[str, int]:
    """Drop personal data that is no longer needed; counts are kept.

    Network hashes and attempts after 30 days; unconfirmed signatures after their
    links expired; everything personal of a statement's signatures
    SIGNATURE_RETENTION_DAYS after its signing closed or, when it has no closing
    time, SIGNATURE_MAX_AGE_DAYS after its publication.
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
        stale = Signature.objects.filter(
            status=Signature.Status.PENDING, created_at__lt=now - timedelta(days=14)
        )
        done["unconfirmed"] = stale.delete()[0]
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
