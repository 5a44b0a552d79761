"""Alert fan-out on the "bulk" queue (see CELERY_TASK_ROUTES) and beat's release."""

import logging
import time

from celery import shared_task
from django.conf import settings

from ima_site.logs import log_result

from . import concern_sending, letter_retention, letter_sending, sending

log = logging.getLogger(__name__)

# A sender gives its worker process back after this long, so that alerts sent at
# the same time share the bulk worker; it queues itself again to go on.
SENDER_SECONDS = 60


@shared_task(ignore_result=True, acks_late=True)
def send_alert_deliveries(alert_id: int) -> int:
    """Send the alert's due rows, batch after batch, until none is left.

    Idempotent: rows are claimed before sending, so any number of these tasks (a
    task delivered twice, beat queueing more) share the work without overlap.
    """
    deadline = time.monotonic() + SENDER_SECONDS
    claimed = 0
    while True:
        count = sending.send_batch(alert_id=alert_id)
        claimed += count
        if count == 0:
            sending.finish_if_done(alert_id=alert_id)
            return claimed
        if time.monotonic() > deadline:
            send_alert_deliveries.delay(alert_id)
            return claimed


@shared_task(ignore_result=True)
def release_alert_deliveries() -> int:
    """Beat, every ALERT_RELEASE_SECONDS: queue senders for alerts with rows due
    (schedules, retries, rows taken back from dead workers, tasks lost with Redis)."""
    due = sending.release_due_deliveries()
    for alert_id in due:
        for _n in range(settings.ALERT_SENDERS):
            send_alert_deliveries.delay(alert_id)
    log_result(log, "Released the deliveries of %d alerts", len(due))
    return len(due)


@shared_task(ignore_result=True, acks_late=True)
def deliver_letter(letter_id: int) -> int:
    """Compile the letter once and send it to every target that has not had it.

    Idempotent: the compilation is made once and kept, delivery rows are one per
    target and claimed before sending; a task delivered again (its worker died)
    sends only what is still due.
    """
    return letter_sending.deliver_now(letter_id=letter_id)


@shared_task(ignore_result=True)
def send_letter_test(letter_id: int, to: str) -> None:
    """Send one test copy of the letter to `to` (the organizer who asked).

    Not acks_late: a test lost with its worker is asked for again, never sent
    twice by a redelivery.
    """
    letter_sending.send_test_letter(letter_id=letter_id, to=to)


@shared_task(ignore_result=True)
def release_letter_deliveries() -> int:
    """Beat: start letters at their deadline, take back rows dead workers left,
    and queue the bulk worker on letters with work due."""
    due = letter_sending.release_due_letters()
    for letter_id in due:
        deliver_letter.delay(letter_id)
    concerns = concern_sending.release_due_concerns()
    for concern_id in concerns:
        send_letter_of_concern.delay(concern_id)
    released = len(due) + len(concerns)
    log_result(log, "Released %d letters and letters of concern", released)
    return released


@shared_task(ignore_result=True, acks_late=True)
def send_letter_of_concern(concern_id: int) -> bool:
    """Send an approved letter of concern to its mission, the member in copy.

    Idempotent: the row is claimed before sending and left alone once sent,
    being sent or failed; a redelivered task finds nothing to do.
    """
    return concern_sending.send_concern(concern_id)


@shared_task(ignore_result=True)
def erase_expired_letter_files() -> int:
    """Beat: delete the compiled letters whose signers' names retention erased.

    Idempotent: an erased compilation keeps its row (the public record of the
    delivery) and is not touched again.
    """
    erased = letter_retention.erase_expired_letter_files()
    log_result(log, "Erased %d compiled letters", erased)
    return erased
