from celery import shared_task

from ima_site import outbox


@shared_task(ignore_result=True)
def relay_outbox() -> int:
    """Beat, every few seconds: hand due outbox rows to workers (ids only)."""
    ids = outbox.due_message_ids()
    for message_id in ids:
        send_outbox_message.delay(message_id)
    return len(ids)


@shared_task(ignore_result=True, acks_late=True)
def send_outbox_message(message_id: int) -> str:
    """Send one row; a second delivery of the task finds it claimed and does nothing."""
    return outbox.send_message(message_id)


@shared_task(ignore_result=True)
def prune_outbox() -> int:
    """Beat, nightly: delete finished outbox rows past their keeping time."""
    return outbox.prune()
