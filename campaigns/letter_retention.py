"""Retention of compiled letters: the PDF holds the signers' names, so it goes when
retention erases them (signatories/services/retention.py); the record of the
delivery (targets, dates, the count) stays public."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import LetterCompilation


def names_erased(now: datetime) -> Q:
    """Compilations whose statement's signatures retention has erased, by the same
    rule: SIGNATURE_RETENTION_DAYS after signing closed or, for a statement that
    never closes, SIGNATURE_MAX_AGE_DAYS after its publication (its creation if it
    never went public)."""
    closed_before = now - timedelta(days=settings.SIGNATURE_RETENTION_DAYS)
    published_before = now - timedelta(days=settings.SIGNATURE_MAX_AGE_DAYS)
    return Q(letter__statement__signing_closes_at__lt=closed_before) | Q(
        letter__statement__signing_closes_at__isnull=True
    ) & (
        Q(letter__statement__publish_at__lt=published_before)
        | Q(
            letter__statement__publish_at__isnull=True,
            letter__statement__created_at__lt=published_before,
        )
    )


def erase_expired_letter_files(now: datetime | None = None) -> int:
    """Delete the files of compiled letters whose signers' names retention erases,
    and mark them erased; returns how many. Idempotent: an erased row is skipped,
    and a row another run holds is left to it."""
    now = now or timezone.now()
    erased = 0
    # Test compilations hold the same names: they go by the same rule.
    ids = list(
        LetterCompilation.objects.filter(erased_at__isnull=True)
        .filter(names_erased(now))
        .values_list("pk", flat=True)
    )
    for pk in ids:
        with transaction.atomic():
            compilation = (
                LetterCompilation.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, erased_at__isnull=True)
                .first()
            )
            if compilation is None:
                continue
            name = compilation.pdf.name
            compilation.pdf = ""
            compilation.erased_at = now
            compilation.save(update_fields=["pdf", "erased_at"])
            # The row first: if the file cannot be deleted, the rollback leaves
            # the row to try again tomorrow, never a row pointing at nothing.
            if name:
                compilation.pdf.storage.delete(name)
        erased += 1
    return erased
