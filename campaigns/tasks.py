"""Alert fan-out on the "bulk" queue (see CELERY_TASK_ROUTES) and beat's release."""

import logging
import time

from celery import shared_task
from django.conf import settings

from ima_site.logs import log_result

from . import sending

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
