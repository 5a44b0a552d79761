from celery import shared_task

from statements import services


@shared_task(ignore_result=True)
def publish_due_statements() -> int:
    """Beat, every 30 s: publish what is due, through the workflow's transition
    table with the site as actor. Idempotent: only scheduled rows flip."""
    return services.publish_due_statements()
