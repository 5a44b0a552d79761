"""Alert delivery against a local SMTP sink, as in production.

    .venv/bin/python bench/alerts.py [--contacts 10000] [--raw 2000]

Uses its own database (ima_bench_alerts) on the embedded PostgreSQL (or
DATABASE_URL's server) and Redis (or REDIS_URL's), and prints:

  (a) raw smtplib over one reused connection into an aiosmtpd sink in this
      process, sending the same rendered alert (with its .ics), the bytes the
      bulk worker writes, again and again
  (b) an alert to --contacts contacts through Redis, the bulk worker (2
      processes, as `make run` starts it) and its batches, into the same sink:
      emails/s, the ratio to (a), duplicates and missing
  (c) the latency of a signer's confirmation email queued during (b), sent by
      the default worker

Bounded: the traffic goes to 127.0.0.1 only; the workers stop at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from production_env import BASE_DIR, bench_env, localdev, log

DATABASE = "ima_bench_alerts"
# Rows a bulk worker claims at a time.
BATCH_SIZE = 100


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


def prepare(env: dict[str, str], database: str = DATABASE) -> None:
    server = env["DATABASE_URL"].rsplit("/", 1)[0]
    sql(f"{server}/postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    sql(f"{server}/postgres", f"CREATE DATABASE {database}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=BASE_DIR, env=env, check=True,
    )  # fmt: skip


def cpu_seconds() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far) of every process on
    the machine, from /proc (Linux); empty elsewhere."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        # After the name: state, ppid, ..., utime and stime (fields 14 and 15).
        found[int(stat.parent.name)] = (
            int(fields[1]), name, (int(fields[11]) + int(fields[12])) / ticks
        )  # fmt: skip
    return found


def idle_seconds() -> float:
    """Seconds the machine's cores have been idle (summed), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0
    return (int(fields[4]) + int(fields[5])) / os.sysconf("SC_CLK_TCK")


def cpu_shares(
    before: dict, after: dict, seconds: float, roots: dict[str, int]
) -> list[tuple[str, float]]:
    """Cores used during `seconds`, by what used them: this script (the sink and
    the polling), each worker (with its pool processes), PostgreSQL, Redis and
    everything else on the machine."""

    def owner(pid: int) -> str:
        seen = set()
        while pid and pid not in seen:
            seen.add(pid)
            if pid == os.getpid():
                return "this script (SMTP sink, polling)"
            for name, root in roots.items():
                if pid == root:
                    return f"{name} worker"
            pid = after.get(pid, before.get(pid, (0, "", 0)))[0]
        return ""

    used: Counter[str] = Counter()
    for pid, (_parent, name, total) in after.items():
        spent = total - before.get(pid, (0, name, 0.0))[2]
        if spent <= 0:
            continue
        who = owner(pid) or {"postgres": "PostgreSQL", "redis-server": "Redis"}.get(
            name, "other processes"
        )
        used[who] += spent
    return [(who, spent / seconds) for who, spent in used.most_common()]


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
    parser.add_argument("--batch", type=int, default=BATCH_SIZE)
    # As `make run` starts the bulk worker, and as many senders per alert.
    parser.add_argument("--bulk-processes", type=int, default=2)
    options = parser.parse_args()

    from aiosmtpd.controller import Controller

    inbox = CountingInbox()
    port = localdev.free_port(25250)
    sink = Controller(inbox, hostname="127.0.0.1", port=port)
    sink.start()
    env = bench_env(
        DATABASE,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        ALERT_BATCH_SIZE=str(options.batch),
        ALERT_SENDERS=str(options.bulk_processes),
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
    from campaigns.emails import AlertContent, AlertRenderer
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
    rendered = AlertRenderer(AlertContent.of(alert)).render(delivery)
    # As the bulk worker writes it for SMTP.
    raw_bytes = rendered.as_bytes()
    lines = raw_bytes.count(b"\n")
    log(f"One rendered alert: {len(raw_bytes)} bytes, {lines} lines, with its .ics")
    smtp = smtplib.SMTP("127.0.0.1", port)
    raw_cpu = time.process_time()
    started = time.perf_counter()
    for n in range(options.raw):
        smtp.sendmail("noreply@localhost", [f"raw{n}@bench.example.org"], raw_bytes)
    raw_seconds = time.perf_counter() - started
    raw_cpu = time.process_time() - raw_cpu
    smtp.quit()
    raw_rate = options.raw / raw_seconds
    log(
        f"(a) raw smtplib, one connection: {raw_rate:.0f} emails/s "
        f"({raw_cpu / options.raw * 1000:.2f} ms of CPU per email, client and sink)"
    )

    # (b) The alert through Redis and the workers.
    logs = BASE_DIR / "var"
    logs.mkdir(exist_ok=True)

    def start(name: str, command: list[str]) -> subprocess.Popen:
        # A session of its own, so that a worker that does not stop can be
        # stopped with its pool processes; its log under var/.
        with open(logs / f"bench-alerts-{name}.log", "wb") as output:
            return subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    workers = {
        "bulk": start(
            "bulk", localdev.worker_command("bulk", concurrency=options.bulk_processes)
        ),
        "default": start("default", localdev.worker_command("default")),
    }
    workers["beat"] = start(
        "beat",
        [sys.executable, "-m", "celery", "-A", "ima_site", "beat", "--loglevel",
         "WARNING", "--schedule", str(logs / "bench-alerts-beat")],
    )  # fmt: skip
    try:
        from ima_site.celery import app

        assert wait_until(lambda: len(app.control.ping(timeout=0.5) or []) >= 2, 60), (
            "the workers did not start"
        )
        before = inbox.total()
        cpu_before = cpu_seconds()
        idle_before = idle_seconds()
        started = time.perf_counter()
        sending.start_alert(alert=alert, by=None)
        written = time.perf_counter() - started
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
        # The sink's count first (free), then the alert's status (a query): the
        # waiting costs the database next to nothing while the workers send.
        wait_until(lambda: inbox.total() - before >= expected, 600)
        wait_until(lambda: sending.alert_progress(alert)["status"] == "sent", 60)
        alert_seconds = time.perf_counter() - started
        idle = (idle_seconds() - idle_before) / alert_seconds
        shares = cpu_shares(
            cpu_before,
            cpu_seconds(),
            alert_seconds,
            {name: process.pid for name, process in workers.items()},
        )
    finally:
        for process in workers.values():
            process.terminate()
        for name, process in workers.items():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                # Celery writes every thread's stack to its log on SIGUSR1.
                process.send_signal(signal.SIGUSR1)
                time.sleep(2)
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                log(
                    f"The {name} worker did not stop in 30 s: killed (var/bench-alerts-{name}.log)"
                )
        sink.stop()
    counts = inbox.counts
    addresses = [contact_email(n) for n in range(options.contacts)]
    missing = sum(1 for a in addresses if counts[a] == 0)
    duplicates = sum(max(counts[a] - 1, 0) for a in addresses)
    alert_rate = options.contacts / alert_seconds
    log(
        f"(b) alert to {options.contacts} contacts: {alert_seconds:.1f} s "
        f"({written:.1f} s of it writing the delivery rows), "
        f"{alert_rate:.0f} emails/s, {alert_rate / raw_rate:.0%} of raw; "
        f"{duplicates} duplicates, {missing} missing "
        f"(batches of {options.batch}, {options.bulk_processes} bulk processes)"
    )
    log(
        f"    CPU during (b), in cores of {os.cpu_count()}: "
        + ", ".join(f"{who} {cores:.2f}" for who, cores in shares)
        + f"; idle {idle:.2f}"
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
