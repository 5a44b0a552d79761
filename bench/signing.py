"""Signing under load, against gunicorn and PostgreSQL as in production.

    .venv/bin/python bench/signing.py [--seconds 20] [--concurrency 32]

Starts its own database (ima_bench) on the embedded PostgreSQL (or DATABASE_URL's
server) and gunicorn with production settings, then prints:

  (a) raw single-row INSERT rate into the signatures table (one connection)
  (b) a trivial Django view's request rate (/healthz)
  (c) signing POSTs per second end to end on ONE statement, with p50 and p99
  (d) the same spread over 1,000 statements, and the ratio (c)/(d)
  (e) signing p50 with 1,000,000 signatures stored vs with 1,000
  (f) streaming an export of 100,000 signatures: seconds and memory growth
  (g) the cached count endpoint: requests per second (0 queries on a hit)

Bounded: every phase stops after --seconds; the traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

from production_env import BASE_DIR, bench_env, localdev, log


def sql(env, statement: str, *, database: str | None = None):
    import psycopg2

    url = env["DATABASE_URL"]
    if database:
        url = url.rsplit("/", 1)[0] + "/" + database
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
        rows = cursor.fetchall() if cursor.description else None
    connection.close()
    return rows


def prepare_database(env) -> None:
    sql(env, "DROP DATABASE IF EXISTS ima_bench WITH (FORCE)", database="postgres")
    sql(env, "CREATE DATABASE ima_bench", database="postgres")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "shell", "-c", SETUP_STATEMENTS)


SETUP_STATEMENTS = """
from datetime import date
from django.utils import timezone
from statements.models import Statement, StatementVersion
rows = [Statement(slug=f"bench-{i}", status="published", accepts_signatures=True,
                  publish_at=timezone.now(), issued_on=date(2026, 1, 1))
        for i in range(1002)]
Statement.objects.bulk_create(rows)
StatementVersion.objects.bulk_create(
    StatementVersion(statement=s, language="en", is_original=True, title=s.slug, body="x")
    for s in Statement.objects.all())
"""


def manage(env, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


class Gunicorn:
    def __init__(self, env, port: int, workers: int):
        self.env, self.port, self.workers = env, port, workers

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "ima_site.wsgi",
             "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--log-level", "warning"],
            cwd=BASE_DIR, env=self.env,
        )  # fmt: skip
        localdev.wait_for_port(self.port, "gunicorn")
        time.sleep(1)
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)


def load(port, make_request, *, seconds: float, concurrency: int):
    """Send requests from `concurrency` threads for `seconds`; returns latencies."""
    latencies: list[float] = []
    errors = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def worker(number: int):
        sequence = 0
        while time.monotonic() < stop:
            method, path, body, headers, expected = make_request(number, sequence)
            sequence += 1
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError as error:
                status = repr(error)
            finally:
                connection.close()
            elapsed = time.perf_counter() - started
            with lock:
                if status == expected:
                    latencies.append(elapsed)
                else:
                    errors.append(status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - began
    return latencies, errors, duration


def summary(name: str, latencies, errors, duration) -> float:
    rate = len(latencies) / duration
    if latencies:
        ordered = sorted(latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
        log(f"{name}: {rate:8.1f} req/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms"
            f"  ({len(latencies)} ok, {len(errors)} errors)")  # fmt: skip
    else:
        log(f"{name}: no successful request ({errors[:3]})")
    return rate


TOKENS_SCRIPT = """
import json, sys
from signatories.forms import new_form_token
from statements.models import Statement
slugs, per_slug = json.loads(sys.argv[-1])
by_slug = {s.slug: s for s in Statement.objects.filter(slug__in=slugs)}
print(json.dumps({slug: [new_form_token(by_slug[slug]) for _ in range(per_slug)]
                  for slug in slugs}))
"""


def form_tokens(env, slugs: list[str], total: int) -> dict[str, list[str]]:
    """Fresh form tokens, as each visitor's page would carry (good once, per statement).

    Made by the site's own code with the bench server's key: fetching a page per
    signature would measure the page as well.
    """
    per_slug = max(8, total // len(slugs) * 2)
    script = TOKENS_SCRIPT.replace("sys.argv[-1]", repr(json.dumps([slugs, per_slug])))
    return json.loads(manage(env, "shell", "-c", script).strip().splitlines()[-1])


def signing_request(tokens: dict[str, list[str]], slugs: list[str], run: str):
    def make(worker: int, sequence: int):
        slug = slugs[(worker * 7919 + sequence) % len(slugs)]
        body = urlencode({
            "kind": "person", "name": "Bench Signer", "country": "PH",
            # Signers of many organizations: spread over 997 email domains.
            "email": f"{run}-{worker}-{sequence}@d{(worker * 1009 + sequence) % 997}.example.org",
            "display": "full",
            "language": "en", "started": tokens[slug].pop(), "website": "",
        })  # fmt: skip
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            # Signers from many networks (one proxy in front, as in production): one
            # network's signings take turns, as its limits require.
            "X-Forwarded-For": f"10.{worker % 256}.{sequence % 256}.1",
        }
        return "POST", f"/statements/{slug}/sign/", body, headers, 303

    return make


def insert_rate(env, seconds: float) -> float:
    import psycopg2

    connection = psycopg2.connect(env["DATABASE_URL"])
    connection.autocommit = True
    cursor = connection.cursor()
    cursor.execute("SELECT id FROM statements_statement WHERE slug = 'bench-1001'")
    statement_id = cursor.fetchone()[0]
    count, stop = 0, time.monotonic() + seconds
    began = time.monotonic()
    while time.monotonic() < stop:
        cursor.execute(
            "INSERT INTO signatories_signature (statement_id, kind, name, organization,"
            " role, country, city, display, language, consent, email_hash, status,"
            " is_held, hold_reason, source, collected_by, link_nonce, withdraw_nonce,"
            " duplicate_notices, created_at) VALUES (%s, 'person', 'Raw', '', '', 'PH',"
            " '', 'full', 'en', false, %s, 'pending', false, '', 'web', '', '', '', 0,"
            " now())",
            [statement_id, secrets.token_hex(32)],
        )
        count += 1
    rate = count / (time.monotonic() - began)
    connection.close()
    return rate


def fill_signatures(env, slug: str, count: int, start: int = 1) -> None:
    sql(
        env,
        f"""
        INSERT INTO signatories_signature (statement_id, kind, name, organization, role,
            country, city, display, language, consent, email_hash, status, is_held,
            hold_reason, source, collected_by, link_nonce, withdraw_nonce,
            duplicate_notices, created_at, confirmed_at)
        SELECT s.id, 'person', 'Stored ' || g, '', '', 'MY', '', 'full', 'en', false,
            md5(g::text || s.id::text) || md5(g::text), 'confirmed', false, '', 'web',
            '', '', '', 0, now(), now()
        FROM generate_series({start}, {start + count - 1}) AS g,
             statements_statement s WHERE s.slug = '{slug}'
        """,
    )
    # Let the bulk insert settle (checkpoint, statistics) before measuring again.
    sql(env, "VACUUM ANALYZE signatories_signature")
    sql(env, "CHECKPOINT")


EXPORT_SCRIPT = """
import resource, time, tracemalloc
from signatories.exports import stream_csv
from signatories.models import Signature
queryset = Signature.objects.filter(statement__slug="bench-1000")
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
rows = sum(1 for _ in stream_csv(queryset)) - 1
elapsed = time.perf_counter() - started
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()  # a second pass, to see the Python heap's peak (slower)
sum(1 for _ in stream_csv(queryset))
peak = tracemalloc.get_traced_memory()[1]
print(f"{rows} {elapsed:.2f} {peak / 1e6:.1f} {(rss_after - rss_before) / 1e3:.1f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=5)
    parser.add_argument("--port", type=int, default=8123)
    args = parser.parse_args()
    env = bench_env("ima_bench", TRUSTED_PROXY_COUNT="1")
    log(f"Preparing database ima_bench on {urlsplit(env['DATABASE_URL']).port} …")
    prepare_database(env)
    seconds, concurrency = args.seconds, args.concurrency

    raw = insert_rate(env, seconds / 2)
    log(f"(a) raw INSERT into signatures: {raw:8.1f} rows/s (one connection)")

    with Gunicorn(env, args.port, args.workers):
        health = lambda w, s: ("GET", "/healthz", None, {}, 200)  # noqa: E731
        trivial = summary("(b) trivial view     ", *load(args.port, health,
                          seconds=seconds, concurrency=concurrency))  # fmt: skip
        # Enough fresh tokens for the fastest rate seen here, twice over.
        enough = int(400 * seconds)
        one_slug, many_slugs = ["bench-0"], [f"bench-{i}" for i in range(1000)]
        one = summary("(c) signing, 1 statement", *load(
            args.port, signing_request(form_tokens(env, one_slug, enough), one_slug, "one"),
            seconds=seconds, concurrency=concurrency))  # fmt: skip
        many = summary("(d) signing, 1,000 statements", *load(
            args.port, signing_request(form_tokens(env, many_slugs, enough), many_slugs, "many"),
            seconds=seconds, concurrency=concurrency))  # fmt: skip
        log(f"    ratio (c)/(d) = {one / many:.2f}   (c)/(b) = {one / trivial:.2f}"
            f"   (c)/(a) = {one / raw:.2f}")  # fmt: skip

        fill_signatures(env, "bench-1000", 1000)
        small_slug, big_slug = ["bench-1000"], ["bench-1001"]
        small = load(args.port, signing_request(
            form_tokens(env, small_slug, enough), small_slug, "small"),
            seconds=seconds / 2, concurrency=4)  # fmt: skip
        summary("(e) signing with 1,000 stored    ", *small)
        fill_signatures(env, "bench-1001", 1_000_000)
        big = load(args.port, signing_request(
            form_tokens(env, big_slug, enough), big_slug, "big"),
            seconds=seconds / 2, concurrency=4)  # fmt: skip
        summary("(e) signing with 1,000,000 stored", *big)
        if small[0] and big[0]:
            ratio = statistics.median(big[0]) / statistics.median(small[0])
            log(f"    p50 ratio 1,000,000 / 1,000 = {ratio:.2f}")

        count = lambda w, s: ("GET", "/api/v1/statements/bench-0/count/", None, {}, 200)  # noqa: E731
        summary("(g) cached count endpoint", *load(args.port, count,
                seconds=seconds / 2, concurrency=concurrency))  # fmt: skip

    fill_signatures(env, "bench-1000", 99_000, start=1001)
    output = manage(env, "shell", "-c", EXPORT_SCRIPT).strip().splitlines()[-1]
    rows, elapsed, peak, rss = output.split()
    log(f"(f) export of {rows} signatures: {elapsed} s, Python heap peak {peak} MB,"
        f" resident memory growth {rss} MB")  # fmt: skip


if __name__ == "__main__":
    main()
