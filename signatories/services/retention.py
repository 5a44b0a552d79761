"""Retention: personal data of signers is dropped once it is no longer needed."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from signatories.models import Signature, SigningAttempt


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
