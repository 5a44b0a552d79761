import logging

from celery import shared_task

from ima_site.logs import log_result
from statements import services

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def publish_due_statements() -> int:
    """Beat, every 30 s: publish what is due, through the workflow's transition
    table with the site as actor. Idempotent: only scheduled rows flip."""
    published = services.publish_due_statements()
    log_result(log, "Published %d scheduled statement(s)", published)
    return published
