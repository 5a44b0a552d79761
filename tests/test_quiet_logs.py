"""Logs are for people: routine periodic runs stay out of the info log."""

import logging
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from ima_site import tasks as site_tasks
from ima_site.logs import RoutineTasks
from signatories import tasks as signature_tasks
from statements import tasks as statement_tasks
from statements.models import Statement
from tests.factories import make_statement

pytestmark = pytest.mark.django_db


def test_periodic_jobs_with_nothing_to_do_log_nothing_at_info(caplog):
    caplog.set_level(logging.DEBUG)

    site_tasks.relay_outbox()
    site_tasks.prune_outbox()
    statement_tasks.publish_due_statements()
    signature_tasks.apply_count_events()
    signature_tasks.send_reminders()
    signature_tasks.reconcile_counts()
    signature_tasks.apply_retention()

    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_a_job_that_did_something_says_so_at_info(caplog):
    make_statement(
        slug="due",
        status="scheduled",
        publish_at=timezone.now() - timedelta(seconds=1),
    )
    caplog.set_level(logging.INFO)

    statement_tasks.publish_due_statements()

    assert "Published 1 scheduled statement(s)" in caplog.messages
    assert Statement.objects.get(slug="due").status == "published"


def celery_record(logger: str, message: str, args) -> logging.LogRecord:
    return logging.LogRecord(logger, logging.INFO, __file__, 1, message, args, None)


def routine_filter() -> RoutineTasks:
    tasks = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    return RoutineTasks(tasks)


def test_celerys_lines_about_periodic_jobs_are_dropped_at_info():
    quiet = routine_filter()
    received = celery_record(
        "celery.worker.strategy",
        "Task %(name)s[%(id)s] received",
        ({"name": "ima_site.tasks.relay_outbox", "id": "1"},),
    )
    sending = celery_record(
        "celery.beat",
        "Scheduler: Sending due task %s (%s)",
        ("relay-outbox", "ima_site.tasks.relay_outbox"),
    )
    assert not quiet.filter(received)
    assert not quiet.filter(sending)


def test_an_email_sent_and_errors_stay_in_the_log():
    quiet = routine_filter()
    sent = celery_record(
        "celery.app.trace",
        "Task %(name)s[%(id)s] succeeded in %(runtime)ss: %(return_value)s",
        (
            {
                "name": "ima_site.tasks.send_outbox_message",
                "id": "2",
                "runtime": 0.1,
                "return_value": "'sent'",
            },
        ),
    )
    failed = celery_record(
        "celery.app.trace", "Task %(name)s[%(id)s] raised", ({"name": "x", "id": 3},)
    )
    failed.levelno = logging.ERROR
    assert quiet.filter(sent)
    assert quiet.filter(failed)


def test_the_settings_put_the_filter_on_celerys_loggers():
    for name in ("celery.beat", "celery.worker.strategy", "celery.app.trace"):
        assert "routine_tasks" in settings.LOGGING["loggers"][name]["filters"]


def test_the_favicon_is_served_and_cached(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=604800" in response["Cache-Control"]
    assert response.content[:4] == b"\x00\x00\x01\x00"


def test_the_favicon_and_robots_answer_a_head_request(client):
    assert client.head("/favicon.ico").status_code == 200
    assert client.head("/robots.txt").status_code == 200
    assert client.post("/favicon.ico").status_code == 405
