"""The site's background processes as `make run` starts them (the bulk worker, the
default worker and beat), on a private Redis, with mail to a real SMTP sink: for
the tests that kill workers and restart Redis mid-send."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

from django.conf import settings
from django.db import connection

from ima_site import localdev
from ima_site.celery import app
from tests.campaigns.conftest import ScriptedInbox
from tests.signatories.test_redis_outage import PrivateRedis
from tests.smtp_sink import SmtpSink

# Pool processes per worker: each holds at most one email between the SMTP
# server's answer and its mark, so a kill can repeat at most this many.
POOL = 2


class Site:
    """The workers and beat as processes, on a private Redis, mail to the sink."""

    def __init__(self, tmp_path, smtp_url: str, redis: PrivateRedis, env: dict):
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
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            **env,
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
            command = localdev.worker_command(name, concurrency=POOL)
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


@contextlib.contextmanager
def running_site(tmp_path, env: dict) -> Iterator[tuple[Site, SmtpSink]]:
    """Yields (site, sink); this process publishes to the private Redis too.
    `env` adds to the processes' environment (short stale times, for instance)."""
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
        site = Site(tmp_path, server.url, redis, env)
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
