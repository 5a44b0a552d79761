"""The signatories' services, by concern: signing, review, counts, retention.

Callers use `from signatories import services` and `services.sign_statement(...)`.
"""

from signatories.services.consent import stop_signer_emails
from signatories.services.counts import (
    apply_count_events,
    reconcile_counts,
    statement_counts,
)
from signatories.services.exports import SignatoryExport, export_signatures
from signatories.services.retention import apply_retention
from signatories.services.review import (
    erase_signatures,
    hold_signatures,
    link_to_registry,
    reject_signatures,
    release_signatures,
)
from signatories.services.signing import (
    MAX_DUPLICATE_NOTICES,
    SignerData,
    cancel_signature,
    confirm_signature,
    limits_exceeded,
    refresh_statement_rates,
    send_reminders,
    sign_statement,
    signing_is_open,
    signing_paused_everywhere,
    withdraw_signature,
)

__all__ = [
    "MAX_DUPLICATE_NOTICES",
    "SignatoryExport",
    "SignerData",
    "apply_count_events",
    "apply_retention",
    "cancel_signature",
    "confirm_signature",
    "erase_signatures",
    "export_signatures",
    "hold_signatures",
    "limits_exceeded",
    "link_to_registry",
    "reconcile_counts",
    "refresh_statement_rates",
    "reject_signatures",
    "release_signatures",
    "send_reminders",
    "sign_statement",
    "signing_is_open",
    "signing_paused_everywhere",
    "statement_counts",
    "stop_signer_emails",
    "withdraw_signature",
]
