"""Where one bulk worker's batch spends its time: cProfile on send_batch.

    .venv/bin/python bench/alert_batch_profile.py [--rows 300] [--top 40]
        [--sort tottime]   (PROFILE_CALLERS=name also prints who calls `name`)

Uses its own database (ima_bench_alert_profile, or --database) on DATABASE_URL's
server (or the embedded one), an aiosmtpd sink in a process of its own (so that
the profile shows the worker only), and no Celery:
the rows are written by start_alert and sent by one send_batch call in this
process, which is what a bulk worker runs for each of its batches.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import time

from alerts import prepare
from production_env import BASE_DIR, bench_env, localdev, log


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--database", default="ima_bench_alert_profile")
    parser.add_argument("--sort", default="cumulative")
    options = parser.parse_args()

    port = localdev.free_port(25260)
    sink = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink",
         "-l", f"127.0.0.1:{port}"],
    )  # fmt: skip
    localdev.wait_for_port(port, "the SMTP sink")
    env = bench_env(
        options.database,
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        ALERT_BATCH_SIZE=str(options.rows),
    )
    prepare(env, options.database)
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ima_site.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    import logging

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    from campaigns import sending
    from tests.campaigns.conftest import make_alert

    # Rows only: nobody listens on the bulk queue here.
    sending.start_senders = lambda alert_id: None
    alert = make_alert(contacts=options.rows * 2)
    sending.start_alert(alert=alert, by=None)
    # A first batch warms the caches a long-running worker has warm.
    sending.send_batch(alert_id=alert.pk)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    sent = sending.send_batch(alert_id=alert.pk)
    profile.disable()
    seconds = time.perf_counter() - started
    sink.terminate()
    sink.wait(timeout=10)
    log(
        f"send_batch: {sent} rows in {seconds:.2f} s under the profiler "
        f"({sent / seconds:.0f} rows/s)"
    )
    stats = pstats.Stats(profile).sort_stats(options.sort)
    stats.print_stats(options.top)
    if os.environ.get("PROFILE_CALLERS"):
        stats.print_callers(os.environ["PROFILE_CALLERS"])


if __name__ == "__main__":
    main()
