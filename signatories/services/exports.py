"""Exports of signatories: one service for the admin and the API, audited."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from ima_site.models import record_audit_entry
from signatories.exports import stream_csv
from signatories.models import Signature
from statements.models import Statement

EXPORT_EMAILS = "signatories.export_signer_emails"

# Whose address an export with emails carries: signers who asked to be kept
# informed and whose signature counts (confirmed by the owner of the address, not
# held). Anyone else's address, kept while it is needed to confirm, never goes out.
EMAIL_MAY_GO_OUT = Q(
    status=Signature.Status.CONFIRMED,
    is_held=False,
    consent=True,
    email_encrypted__isnull=False,
)


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
    emails: bool = False,
) -> SignatoryExport:
    """A statement's signatories as CSV lines, streamed; the audit entry is written
    before the first line, so an export is on record even if the download breaks.

    With emails=True (only for holders of signatories.export_signer_emails, else
    PermissionDenied) an email column carries the addresses of consenting, counted
    signers, and the audit entry says how many went out.
    """
    if emails and not by.has_perm(EXPORT_EMAILS):
        raise PermissionDenied("Exporting signers' emails needs its own permission.")
    signatures = Signature.objects.filter(statement=statement)
    if only_counted:
        signatures = signatures.counted()
    details: dict[str, object] = {
        "via": via,
        "only_counted": only_counted,
        "excel": excel,
    }
    if emails:
        details["addresses"] = signatures.filter(EMAIL_MAY_GO_OUT).count()
    record_audit_entry(
        actor=by, action="signatures.export", obj=statement, details=details
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return SignatoryExport(
        filename=f"signatories-{statement.slug}-{'with-emails-' if emails else ''}"
        f"{stamp}.csv",
        lines=stream_csv(
            signatures, excel=excel, emails=EMAIL_MAY_GO_OUT if emails else None
        ),
    )
