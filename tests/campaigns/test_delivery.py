"""Alert delivery as in production: a Redis of the test's own, the bulk worker, the
default worker and beat as processes (as `make run` starts them), and a real SMTP
server. Workers are killed and Redis restarted mid fan-out."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection

from campaigns import sending
from campaigns.models import Alert, AlertDelivery
from ima_site import localdev
from ima_site.celery import app
from signatories import services
from tests.campaigns.conftest import ScriptedInbox, contact_email, make_alert
from tests.factories import make_statement
from tests.signatories.test_redis_outage import PrivateRedis, wait_for
from tests.smtp_sink import SmtpSink

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 1000


class Site:
    """The site's background processes on a private Redis, mail to a sink."""

    def __init__(self, tmp_path, smtp_url: str, redis: PrivateRedis):
        database = connection.settings_dict
        self.tmp_path = tmp_path
        self.redis = redis
        self.env = {
            **os.environ,
            "REDIS_URL": redis.url,
            "EMAIL_URL": smtp_url,
            "DATABASE_URL": (
                f"postgres://{database['USER']}:{database['PASSWORD']}"
                f"@{database['HOST']}:{database['PORT']}/{database['NAME']}"
            ),
            # Seconds where production has minutes, so a dead worker's rows come
            # back within the test.
            "ALERT_STALE_SECONDS": "3",
            "ALERT_RELEASE_SECONDS": "1",
            "ALERT_RETRY_SECONDS": "1",
            "ALERT_BATCH_SIZE": "10",
        }
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> None:
        if name == "beat":
            command = [
                sys.executable, "-m", "celery", "-A", "ima_site", "beat",
                "--loglevel", "WARNING",
                "--schedule", str(self.tmp_path / "beat-schedule"),
            ]  # fmt: skip
        else:
            command = localdev.worker_command(name)
            command[command.index("INFO")] = "WARNING"
        # A session of its own: a kill reaches the worker's pool processes too.
        self.processes[name] = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=self.env, start_new_session=True
        )

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.processes):
            process = self.processes.pop(name)
            # The main process alone: it stops its pool processes itself.
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def site(tmp_path):
    """Yields (site, sink); this process publishes to the private Redis too."""
    redis = PrivateRedis(tmp_path)
    redis.start()
    previous = app.conf.broker_url
    app.conf.broker_url = redis.url
    # The app keeps its broker connections: forget them so the new URL is used.
    app._pool = None
    app.amqp._producer_pool = None
    server = SmtpSink()
    server.inbox = server.controller.handler = ScriptedInbox()
    with server:
        site = Site(tmp_path, server.url, redis)
        for name in ("bulk", "default", "beat"):
            site.start(name)
        try:
            yield site, server
        finally:
            site.stop_all()
            redis.stop()
            app.conf.broker_url = previous
            app._pool = None
            app.amqp._producer_pool = None


def finished(alert: Alert) -> bool:
    return Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT


def report(sink, count: int) -> tuple[int, int]:
    """(missing, duplicates) among contacts 0..count-1, as the sink counted them."""
    counts = sink.inbox.count_by_recipient()
    missing = sum(1 for n in range(count) if counts[contact_email(n)] == 0)
    duplicates = sum(max(counts[contact_email(n)] - 1, 0) for n in range(count))
    return missing, duplicates


def test_an_alert_to_1000_contacts_reaches_each_exactly_once(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    started = time.monotonic()
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: finished(alert), 120), sending.alert_progress(alert)
    seconds = time.monotonic() - started
    assert report(sink, CONTACTS) == (0, 0)
    print(f"\n{CONTACTS} alerts in {seconds:.1f} s, 0 missing, 0 duplicates")
    # Sending again is refused, and nothing the workers do meanwhile adds any.
    with pytest.raises(sending.AlertError):
        sending.start_alert(alert=alert, by=sender)
    sending.start_senders(alert.pk)
    time.sleep(3)
    assert len(sink.inbox.messages) == CONTACTS
    assert AlertDelivery.objects.filter(status="sent").count() == CONTACTS


def test_a_confirmation_is_not_held_up_by_a_fan_out(site, sender):
    processes, sink = site
    statement = make_statement(slug="urgent", accepts_signatures=True)
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: len(sink.inbox.messages) >= 50, 60)
    signed = time.monotonic()
    services.sign_statement(
        statement=statement,
        data=services.SignerData(name="Ana", email="ana@example.org", country="PH"),
        client_ip="192.0.2.1",
    )

    def confirmation_sent():
        return sink.inbox.count_by_recipient()["ana@example.org"] == 1

    assert wait_for(confirmation_sent, 10), "no confirmation within 10 s"
    latency = time.monotonic() - signed
    progress = sending.alert_progress(alert)
    print(
        f"\nconfirmation after {latency:.1f} s, with {progress['queued']} alerts queued"
    )
    assert wait_for(lambda: finished(alert), 120)
    assert report(sink, CONTACTS) == (0, 0)


def test_killing_the_bulk_worker_loses_nobody(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    kills = 0
    for threshold in (150, 400, 650):
        assert wait_for(lambda t=threshold: len(sink.inbox.messages) >= t, 120)
        processes.kill("bulk")
        kills += 1
        processes.start("bulk")
    assert wait_for(lambda: finished(alert), 180), sending.alert_progress(alert)
    missing, duplicates = report(sink, CONTACTS)
    print(f"\n{kills} kills: {missing} missing, {duplicates} duplicates")
    assert missing == 0
    assert duplicates <= kills
    assert AlertDelivery.objects.filter(status="sent").count() == CONTACTS


def test_the_send_finishes_by_itself_after_redis_restarts(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: len(sink.inbox.messages) >= 200, 120)
    processes.redis.stop()
    time.sleep(2)
    processes.redis.start()
    assert wait_for(lambda: finished(alert), 180), sending.alert_progress(alert)
    assert report(sink, CONTACTS) == (0, 0)
