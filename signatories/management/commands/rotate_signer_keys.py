from django.core.management.base import BaseCommand
from django.db import transaction

from ima_site.crypto import rotate
from ima_site.models import OutboxMessage
from signatories.models import Contact, Signature


class Command(BaseCommand):
    help = (
        "Re-encrypt stored emails under the first key of SIGNER_DATA_KEYS. Run it "
        "after putting a new key first; then the old key can be removed."
    )

    def handle(self, *args, **options):
        total = 0
        for model, field in [
            (Signature, "email_encrypted"),
            (Contact, "email_encrypted"),
            (Contact, "pending_email_encrypted"),
            (OutboxMessage, "recipient"),
        ]:
            rows = model.objects.filter(**{f"{field}__isnull": False}).values_list(
                "pk", field
            )
            for pk, token in rows.iterator(chunk_size=1000):
                # Only if unchanged: a value erased meanwhile must stay erased.
                with transaction.atomic():
                    total += model.objects.filter(pk=pk, **{field: token}).update(
                        **{field: rotate(token)}
                    )
        self.stdout.write(self.style.SUCCESS(f"{total} values re-encrypted."))
