"""A signer's "keep me informed": taken back from a link in their emails."""

from __future__ import annotations

from django.db import transaction

from signatories.models import Signature


def stop_signer_emails(*, signature: Signature) -> bool:
    """Turn the signer's consent off and erase the address kept for it; safe to
    repeat (False when there was nothing to stop).

    A pending signature keeps its address until it is confirmed (the confirmation
    email needs it); confirming then drops it, consent being off.
    """
    with transaction.atomic():
        signature = Signature.objects.select_for_update().get(pk=signature.pk)
        changed = signature.consent
        signature.consent = False
        fields = ["consent"]
        if (
            signature.status != Signature.Status.PENDING
            and signature.email_encrypted is not None
        ):
            signature.email_encrypted = None
            fields.append("email_encrypted")
            changed = True
        signature.save(update_fields=fields)
    return changed
