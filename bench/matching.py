"""The matching table: 10,000 organizations against 500 missions of one country.

    .venv/bin/python bench/matching.py [--organizations 10000] [--missions 500]

With DATABASE_URL set it uses that server, otherwise the embedded one, in a
database of its own (ima_bench_matching, dropped and made again). It fills the
directory with missions of Malaysia in 120 host countries, and the registry with
organizations in 200 countries (80 of them with no Malaysian mission, so their
nearest is searched abroad among all the missions), one in ten without
coordinates, one contact each, and an alert to all of them. Then it prints, each
the best of three runs in a fresh process state:

  (a) nearest_missions() for every organization (one query, then Python)
  (b) alert_recipients() for the alert: the whole table, contacts and languages
  (c) the worst case: every organization in a country without a mission

The target on this 2-core machine is (b) <= 2 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from urllib.parse import urlsplit

from production_env import BASE_DIR, bench_env, log

DATABASE = "ima_bench_matching"

FILL = """
import random
from datetime import date, time
from campaigns.models import Action, Alert, AlertVersion, Campaign, Mission
from signatories.models import Contact, Organization

random.seed(8)
ORGANIZATIONS, MISSIONS = {organizations}, {missions}
countries = [f"{{a}}{{b}}" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
             for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"][:200]
centres = {{c: (random.uniform(-50, 60), random.uniform(-170, 170)) for c in countries}}
hosts = countries[:120]
kinds = ["embassy"] * 5 + ["consulate"] * 4 + ["permanent_mission"]
missions = []
for number in range(MISSIONS):
    host = hosts[number % len(hosts)]
    lat, lon = centres[host]
    missions.append(Mission(
        represented_country="MY", host_country=host, city=f"City {{number % 7}}-{{number}}",
        kind=kinds[number % len(kinds)] if number >= len(hosts) else "embassy",
        name=f"Mission {{number}}", address=f"{{number}} Embassy Row",
        latitude=lat + random.uniform(-4, 4), longitude=lon + random.uniform(-4, 4),
        time_zone="UTC"))
Mission.objects.bulk_create(missions, batch_size=1000)
organizations = []
for number in range(ORGANIZATIONS):
    country = countries[number % len(countries)]
    lat, lon = centres[country]
    located = number % 10 != 0
    organizations.append(Organization(
        name=f"Organization {{number}}", country=country, city=f"City {{number % 7}}",
        is_member=True, time_zone="" if number % 3 else "Asia/Manila",
        latitude=lat + random.uniform(-5, 5) if located else None,
        longitude=lon + random.uniform(-5, 5) if located else None))
Organization.objects.bulk_create(organizations, batch_size=2000)
languages = ["en", "es", "fr", "tl", "id"]
Contact.objects.bulk_create(
    [Contact(organization=o, email_hash=f"h{{o.pk}}", email_encrypted=b"",
             language=languages[o.pk % 5]) for o in Organization.objects.all()],
    batch_size=2000)
campaign = Campaign.objects.create(slug="bench", title="Bench", target_country="MY")
action = Action.objects.create(campaign=campaign, slug="day", kind="protest",
    title="Day", date=date(2026, 12, 10), starts=time(10), ends=time(12))
alert = Alert.objects.create(action=action, members_only=True)
for language in ("en", "es", "tl"):
    AlertVersion.objects.create(alert=alert, language=language,
        is_original=language == "en", subject="Act", body="Go to {{mission_name}}")
print(Mission.objects.count(), Organization.objects.count(), Contact.objects.count())
"""

MEASURE = """
import time
from django.db import connection, reset_queries
from campaigns.models import Alert, Mission
from campaigns.recipients import alert_recipients, nearest_missions
from signatories.models import Organization

def best(label, run):
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    print(f"{label} {min(times):.3f} {max(times):.3f} {result}")

def every_organization():
    rows = Organization.objects.only("id", "country", "city", "latitude", "longitude")
    matched = nearest_missions(rows, "MY")
    return sum(1 for mission, abroad in matched.values() if abroad)

def table():
    recipients = alert_recipients(Alert.objects.get())
    return len(recipients)

def worst():
    rows = list(Organization.objects.only(
        "id", "country", "city", "latitude", "longitude").filter(latitude__isnull=False))
    for row in rows:
        row.country = "ZZ"
        # Distinct coordinates: nothing to reuse from one organization to the next.
        row.latitude += row.id * 1e-7
    return sum(1 for _, abroad in nearest_missions(rows, "MY").values() if abroad)

best("a", every_organization)
best("b", table)
best("c", worst)
"""


def sql(env, statement: str) -> None:
    import psycopg2

    url = env["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    connection = psycopg2.connect(url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(statement)
    connection.close()


def manage(env, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip


def prepare(env, *, organizations: int, missions: int) -> str:
    sql(env, f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    sql(env, f"CREATE DATABASE {DATABASE}")
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    script = FILL.format(organizations=organizations, missions=missions)
    return manage(env, "shell", "-c", script).strip().splitlines()[-1]


def measure(env) -> dict[str, tuple[float, float, str]]:
    """{phase: (best seconds, worst seconds, what it counted)} for a, b and c."""
    lines = manage(env, "shell", "-c", MEASURE).strip().splitlines()
    results = {}
    for line in lines[-3:]:
        phase, fastest, slowest, counted = line.split()
        results[phase] = (float(fastest), float(slowest), counted)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organizations", type=int, default=10_000)
    parser.add_argument("--missions", type=int, default=500)
    args = parser.parse_args()
    env = bench_env(DATABASE)
    log(f"Preparing database {DATABASE} on port {urlsplit(env['DATABASE_URL']).port}")
    counts = prepare(env, organizations=args.organizations, missions=args.missions)
    missions, organizations, contacts = counts.split()
    log(f"    {missions} missions, {organizations} organizations, {contacts} contacts")
    results = measure(env)
    a, b, c = results["a"], results["b"], results["c"]
    log(f"(a) nearest_missions, all organizations: {a[0]:.3f} s "
        f"(slowest of 3: {a[1]:.3f} s; {a[2]} matched abroad)")  # fmt: skip
    log(f"(b) alert_recipients, the whole table:   {b[0]:.3f} s "
        f"(slowest of 3: {b[1]:.3f} s; {b[2]} recipients)   target <= 2 s: "
        f"{'met' if b[1] <= 2 else 'MISSED'}")  # fmt: skip
    log(f"(c) worst case, every one abroad:        {c[0]:.3f} s "
        f"(slowest of 3: {c[1]:.3f} s; {c[2]} matched abroad)")  # fmt: skip


if __name__ == "__main__":
    main()
