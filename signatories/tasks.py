import logging

from celery import shared_task

from ima_site.logs import log_result
from signatories import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def apply_count_events() -> int:
    """Beat, every 3 s: fold count events into the counts and refresh signing rates.

    Idempotent: events are deleted as they are applied, under an advisory lock.
    """
    services.refresh_statement_rates()
    applied = services.apply_count_events()
    log_result(log, "Counted %d signature change(s)", applied)
    return applied


@shared_task(ignore_result=True)
def send_reminders() -> int:
    """Beat, hourly: one reminder per unconfirmed signature (marked when queued)."""
    queued = services.send_reminders()
    log_result(log, "Queued %d reminder(s) to confirm a signature", queued)
    return queued


@shared_task(ignore_result=True)
def reconcile_counts() -> int:
    """Beat, nightly: repair count drift; idempotent, it sets counts to the truth."""
    repaired = len(services.reconcile_counts())
    if repaired:
        log.warning("Repaired the counts of %d statement(s) that drifted", repaired)
    else:
        log.debug("The counts of every statement are right")
    return repaired


@shared_task(ignore_result=True)
def apply_retention() -> dict:
    """Beat, nightly: erase personal data past its time; repeating erases nothing."""
    erased = services.apply_retention()
    log.log(
        logging.INFO if any(erased.values()) else logging.DEBUG,
        "Erased personal data past its time: %s",
        erased,
    )
    return erased
