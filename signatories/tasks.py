from celery import shared_task

from signatories import services


@shared_task(ignore_result=True)
def apply_count_events() -> int:
    """Beat, every 3 s: fold count events into the counts and refresh signing rates.

    Idempotent: events are deleted as they are applied, under an advisory lock.
    """
    services.refresh_statement_rates()
    return services.apply_count_events()


@shared_task(ignore_result=True)
def send_reminders() -> int:
    """Beat, hourly: one reminder per unconfirmed signature (marked when queued)."""
    return services.send_reminders()


@shared_task(ignore_result=True)
def reconcile_counts() -> int:
    """Beat, nightly: repair count drift; idempotent, it sets counts to the truth."""
    return len(services.reconcile_counts())


@shared_task(ignore_result=True)
def apply_retention() -> dict:
    """Beat, nightly: erase personal data past its time; repeating erases nothing."""
    return services.apply_retention()
