import logging

from celery import shared_task

from ima_site import outbox
from ima_site.logs import log_result

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Beat, every few seconds: hand due outbox rows to workers (ids only)."""
    ids = outbox.due_message_ids()
    for message_id in ids:
        send_outbox_message.delay(message_id)
    # Each email's own task logs it being sent; the hand-over is bookkeeping.
    log.debug("Handed %d emails to the workers", len(ids))
    return len(ids)


@shared_task(ignore_result=True, acks_late=True)
def send_outbox_message(message_id: int) -> str:
    """Send one row; a second delivery of the task finds it claimed and does nothing."""
    return outbox.send_message(message_id)


@shared_task(ignore_result=True)
def prune_outbox() -> int:
    """Beat, nightly: delete finished outbox rows past their keeping time."""
    deleted = outbox.prune()
    log_result(log, "Deleted %d finished outbox rows", deleted)
    return deleted


@shared_task(ignore_result=True)
def clear_expired_sessions() -> int:
    """Beat, nightly: delete expired sessions; safe to repeat."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    # Django leaves expired sessions in the table until someone clears them, and an
    # organizer's may hold a paper file with signers' names between its two steps.
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    log_result(log, "Deleted %d expired sessions", deleted)
    return deleted
