"""Exports of signatories: one service for the admin and the API, audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from django.utils import timezone

from ima_site.models import record_audit_entry
from signatories.exports import stream_csv
from signatories.models import Signature
from statements.models import Statement


@dataclass(frozen=True)
class SignatoryExport:
    filename: str
    lines: Iterator[str]


def export_signatures(
    *,
    statement: Statement,
    by,
    via: Literal["admin", "api"],
    only_counted: bool = True,
    excel: bool = False,
) -> SignatoryExport:
    """A statement's signatories as CSV lines, streamed; the audit entry is written
    before the first line, so an export is on record even if the download breaks."""
    signatures = Signature.objects.filter(statement=statement)
    if only_counted:
        signatures = signatures.counted()
    record_audit_entry(
        actor=by,
        action="signatures.export",
        obj=statement,
        details={"via": via, "only_counted": only_counted, "excel": excel},
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return SignatoryExport(
        filename=f"signatories-{statement.slug}-{stamp}.csv",
        lines=stream_csv(signatures, excel=excel),
    )
