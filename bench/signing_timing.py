"""Does the answer's timing tell an "already signed" address from a new one?

    .venv/bin/python bench/signing_timing.py [--pairs 400] [--port 8124]

With DATABASE_URL (and REDIS_URL) set it uses those servers, otherwise the embedded
ones, in a database of its own (ima_timing, dropped and made again). It starts
gunicorn with one worker and production settings, makes a statement and a signer
who confirmed, then sends interleaved pairs of real signing POSTs: one with a new
address, one with the confirmed signer's address, in alternating order. Each POST
carries a fresh form token (fetched before, not timed). It prints the median of
the per-pair differences (already signed minus new); the target is under 1 ms.
"""

from __future__ import annotations

import argparse
import http.client
import re
import secrets
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

from production_env import BASE_DIR, bench_env, localdev, log

DATABASE = "ima_timing"
SLUG = "timing"
KNOWN = "known.signer@example.org"

SETUP = f"""
from datetime import date
from django.utils import timezone
from signatories import services
from signatories.models import Signature
from statements.models import Statement, StatementVersion
statement = Statement.objects.create(
    slug="{SLUG}", status="published", accepts_signatures=True,
    publish_at=timezone.now(), issued_on=date(2026, 1, 1))
StatementVersion.objects.create(
    statement=statement, language="en", is_original=True, title="Timing", body="x")
services.sign_statement(
    statement=statement, client_ip=None,
    data=services.SignerData(name="Known Signer", email="{KNOWN}", country="PH"))
services.confirm_signature(signature=Signature.objects.get())
"""


def prepare(env: dict[str, str]) -> None:
    import psycopg2

    connection = psycopg2.connect(env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        cursor.execute(f"CREATE DATABASE {DATABASE}")
    connection.close()
    for args in (["migrate", "--noinput", "--verbosity", "0"],
                 ["collectstatic", "--noinput", "--verbosity", "0"],
                 ["shell", "-c", SETUP]):  # fmt: skip
        subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip


def request(port: int, method: str, path: str, body: str | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if body else {}
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    content = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, content, elapsed


def fresh_token(port: int) -> str:
    status, page, _ = request(port, "GET", f"/statements/{SLUG}/")
    assert status == 200, status
    return re.search(rb'name="started" value="([^"]+)"', page).group(1).decode()


def sign(port: int, email: str) -> float:
    body = urlencode({
        "kind": "person", "name": "Timing Signer", "email": email, "country": "PH",
        "display": "full", "language": "en", "website": "",
        "started": fresh_token(port),
    })  # fmt: skip
    status, _, elapsed = request(port, "POST", f"/statements/{SLUG}/sign/", body)
    assert status == 303, status
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--port", type=int, default=8124)
    args = parser.parse_args()
    env = bench_env(DATABASE)
    log(f"Preparing database {DATABASE} …")
    prepare(env)
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ima_site.wsgi",
         "--bind", f"127.0.0.1:{args.port}", "--workers", "1",
         "--log-level", "warning"],
        cwd=BASE_DIR, env=env,
    )  # fmt: skip
    try:
        localdev.wait_for_port(args.port, "gunicorn")
        run = secrets.token_hex(3)
        new_times, known_times, differences = [], [], []
        for pair in range(args.warmup + args.pairs):
            new_address = f"new-{run}-{pair}@example.org"
            if pair % 2:  # alternate which goes first
                known = sign(args.port, KNOWN)
                new = sign(args.port, new_address)
            else:
                new = sign(args.port, new_address)
                known = sign(args.port, KNOWN)
            if pair >= args.warmup:
                new_times.append(new)
                known_times.append(known)
                differences.append(known - new)
    finally:
        server.terminate()
        server.wait(timeout=30)
    ms = 1000
    log(f"pairs: {len(differences)} (after {args.warmup} warm-up pairs)")
    log(f"new signer:     median {statistics.median(new_times) * ms:6.2f} ms")
    log(f"already signed: median {statistics.median(known_times) * ms:6.2f} ms")
    quartiles = statistics.quantiles(differences, n=4)
    log(
        f"median difference (already signed - new): "
        f"{statistics.median(differences) * ms:+.3f} ms "
        f"(quartiles {quartiles[0] * ms:+.3f} / {quartiles[2] * ms:+.3f} ms; "
        f"target under 1 ms)"
    )


if __name__ == "__main__":
    main()
