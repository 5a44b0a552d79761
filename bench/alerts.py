"""Alert delivery against a local SMTP sink, as in production.

    .venv/bin/python bench/alerts.py [--contacts 10000] [--raw 2000]

Uses its own database (ima_bench_alerts) on the embedded PostgreSQL (or
DATABASE_URL's server) and Redis (or REDIS_URL's), and prints:

  (a) raw smtplib over one reused connection into an aiosmtpd sink in this
      process, sending the same rendered alert (with its .ics) again and again
  (b) an alert to --contacts contacts through Redis, the bulk worker (2
      processes, as `make run` starts it) and its batches, into the same sink:
      emails/s, the ratio to (a), duplicates and missing
  (c) the latency of a signer's confirmation email queued during (b), sent by
      the default worker

Bounded: the traffic goes to 127.0.0.1 only; the workers stop at the end.
"""

from __future__ import annotations

import argparse
import email.policy
import os
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter

from production_env import BASE_DIR, bench_env, localdev, log

DATABASE = "ima_bench_alerts"


class CountingInbox:
    """Counts deliveries per recipient and nothing else: the sink must cost both
    runs the same and as little as possible."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        now = time.monotonic()
        with self.lock:
            for recipient in envelope.rcpt_tos:
                self.counts[recipient] += 1
                self.arrived.setdefault(recipient, now)
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())


def sql(url: str, statement: str) -> None:
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def prepare(env: dict[str, str]) -> None:
    server = env["DATABASE_URL"].rsplit("/", 1)[0]
    sql(f"{server}/postgres", f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    sql(f"{server}/postgres", f"CREATE DATABASE {DATABASE}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR, env=env, check=True,
    )  # fmt: skip


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--raw", type=int, default=2_000)
    options = parser.parse_args()

    from aiosmtpd.controller import Controller

    inbox = CountingInbox()
    port = localdev.free_port(25250)
    sink = Controller(inbox, hostname="127.0.0.1", port=port)
    sink.start()
    env = bench_env(
        DATABASE,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        ALERT_BATCH_SIZE="100",
        ALERT_RELEASE_SECONDS="2",
        # The confirmation below is queued like any signer's.
        SIGNING_MIN_SECONDS="0",
    )
    prepare(env)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ima_site.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    from django.contrib.auth.models import Group, Permission

    from campaigns import sending
    from campaigns.emails import render_delivery_email
    from campaigns.recipients import alert_recipients
    from ima_site.roles import ensure_roles
    from signatories import services
    from tests.campaigns.conftest import contact_email, make_alert
    from tests.factories import make_statement

    ensure_roles(Group, Permission)
    log(f"Setting up {options.contacts} contacts…")
    alert = make_alert(contacts=options.contacts)
    statement = make_statement(slug="bench-confirmation", accepts_signatures=True)

    # (a) The same rendered message, over one reused connection.
    first = alert_recipients(alert)[0]
    delivery = sending.preview_delivery(alert, first)
    message = render_delivery_email(delivery)
    # As Django's SMTP backend serialises it.
    raw_bytes = message.message(policy=email.policy.SMTP).as_bytes()
    log(f"One rendered alert: {len(raw_bytes)} bytes with its .ics")
    smtp = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for n in range(options.raw):
        smtp.sendmail("noreply@localhost", [f"raw{n}@bench.example.org"], raw_bytes)
    raw_seconds = time.perf_counter() - started
    smtp.quit()
    raw_rate = options.raw / raw_seconds
    log(f"(a) raw smtplib, one connection: {raw_rate:.0f} emails/s")

    # (b) The alert through Redis and the workers.
    workers = {
        name: subprocess.Popen(
            localdev.worker_command(name), cwd=BASE_DIR, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        for name in ("bulk", "default")
    }  # fmt: skip
    workers["beat"] = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "ima_site", "beat", "--loglevel",
         "WARNING", "--schedule", str(BASE_DIR / "var" / "bench-alerts-beat")],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        from ima_site.celery import app

        assert wait_until(lambda: len(app.control.ping(timeout=0.5) or []) >= 2, 60), (
            "the workers did not start"
        )
        before = inbox.total()
        started = time.perf_counter()
        sending.start_alert(alert=alert, by=None)
        expected = options.contacts
        wait_until(lambda: inbox.total() - before >= expected // 10, 300)
        signed = time.monotonic()
        services.sign_statement(
            statement=statement,
            data=services.SignerData(
                name="Ana", email="signer@bench.example.org", country="PH"
            ),
            client_ip="192.0.2.1",
        )
        wait_until(lambda: "signer@bench.example.org" in inbox.arrived, 60)
        confirmation = inbox.arrived.get("signer@bench.example.org")
        during = inbox.total() - before
        wait_until(lambda: sending.alert_progress(alert)["status"] == "sent", 600)
        alert_seconds = time.perf_counter() - started
    finally:
        for process in workers.values():
            process.terminate()
        for process in workers.values():
            process.wait(timeout=30)
        sink.stop()
    counts = inbox.counts
    addresses = [contact_email(n) for n in range(options.contacts)]
    missing = sum(1 for a in addresses if counts[a] == 0)
    duplicates = sum(max(counts[a] - 1, 0) for a in addresses)
    alert_rate = options.contacts / alert_seconds
    log(
        f"(b) alert to {options.contacts} contacts: {alert_seconds:.1f} s, "
        f"{alert_rate:.0f} emails/s, {alert_rate / raw_rate:.0%} of raw; "
        f"{duplicates} duplicates, {missing} missing"
    )
    if confirmation is None:
        log("(c) confirmation: NOT SENT within 60 s")
    else:
        log(
            f"(c) confirmation queued after {during} alerts: sent "
            f"{confirmation - signed:.1f} s later"
        )


if __name__ == "__main__":
    main()
