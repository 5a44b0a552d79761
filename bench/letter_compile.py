"""Compiling a sign-on letter with 100,000 signatories from 150 countries.

    .venv/bin/python bench/letter_compile.py [--signatories 100000] [--chunks 5000]

Uses its own database (ima_bench_letter, dropped and made again) on the embedded
PostgreSQL (or DATABASE_URL's server). It writes a letter of about 700 words and
its signatures: 8% organizations; people shown by full name (70%), by initials
(20%) or only counted (10%), a third with an organization, a fifth with a role;
one name in ten in Arabic, Bengali, Burmese, Nepali or Vietnamese; countries of
very different sizes, the smallest under five. Each compilation then runs in a
fresh process, as a worker would (compile_letter(test=True): the PDF made,
hashed and stored), after one small letter has loaded WeasyPrint and the fonts,
and prints:

  (a) the same letter with no signatories: WeasyPrint's fixed cost
  (b) the letter with its signatories, for each --chunks size (names per rendered
      part): time, pages, size, and the growth of the process's peak memory (RSS)
      over what it used before compiling

Targets on this 2-core machine: (b) <= 120 s and <= 200 MB of growth.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from alerts import prepare
from production_env import BASE_DIR, bench_env, log

DATABASE = "ima_bench_letter"
EMPTY, FULL = "bench-letter-empty", "bench-letter"

PARAGRAPH = (
    "We, the undersigned organizations and people, write to you about the raids on "
    "migrant workers that began this month. Thousands have been arrested at their "
    "workplaces and homes, held in crowded depots without a lawyer, and deported "
    "without a hearing. Families have been separated; children wait at school gates "
    "for parents who do not come home. "
)
BODY = "\n\n".join(
    [PARAGRAPH * 2, "## What we ask", PARAGRAPH * 3, "## Why it matters", PARAGRAPH * 3]
)

LATIN_FIRST = ["Maria", "José", "Ana", "Siti", "Nguyen", "John", "Rina", "Carlos"]
LATIN_LAST = ["Santos", "Reyes", "Abdullah", "Dewi", "Smith", "Cruz", "Mendoza"]
OTHER_SCRIPTS = [
    "محمد عبد الله", "فاطمة الزهراء", "মোহাম্মদ রহিম", "নাসরিন আক্তার",
    "အောင်ကျော်", "မြင့်မြင့်", "राम बहादुर", "Nguyễn Thị Hoa",
]  # fmt: skip


def fill(signatories: int) -> None:
    import random

    from django_countries import countries

    from campaigns.models import Letter
    from signatories.models import OfflineCount, Signature
    from tests.factories import make_statement

    rng = random.Random(9)  # noqa: S311 - made-up signatories, the same each run
    fields = {
        "kind": "sign_on_letter",
        "title": "Open letter to the Prime Minister: stop the raids",
        "body": BODY,
        "addressees": "To the Prime Minister of Malaysia",
        "slogans": ["Stop the raids!", "Free all detained migrants!"],
        "signed_by": "Eni Lestari",
        "signed_by_role": "Chairperson",
        "accepts_signatures": True,
    }
    Letter.objects.create(statement=make_statement(slug=EMPTY, **fields))
    statement = make_statement(slug=FULL, **fields)
    Letter.objects.create(statement=statement)
    OfflineCount.objects.create(statement=statement, count=1200, note="Rally sheets")
    codes = [code for code, _name in countries][:150]
    # A few large countries, a long tail, and the last ten under five signers.
    tail = {code: rng.randint(1, 4) for code in codes[-10:]}
    weights = [1 / (rank + 1) ** 1.1 for rank in range(140)]
    rest = signatories - sum(tail.values())
    per_country = dict(tail)
    for code, weight in zip(codes[:140], weights, strict=True):
        per_country[code] = max(5, int(rest * weight / sum(weights)))
    per_country[codes[0]] += signatories - sum(per_country.values())
    batch = []
    number = 0
    for code, count in per_country.items():
        for _ in range(count):
            number += 1
            batch.append(signature(statement, code, number, rng))
            if len(batch) == 5000:
                Signature.objects.bulk_create(batch)
                batch = []
    Signature.objects.bulk_create(batch)


def signature(statement, country: str, number: int, rng):
    from signatories.models import Signature

    if rng.random() < 0.08:
        return Signature(
            statement=statement, kind="organization", country=country,
            status="confirmed", name=f"Contact {number}",
            organization=f"Union of Domestic Workers {number}",
            role="Secretariat" if number % 3 == 0 else "",
        )  # fmt: skip
    if rng.random() < 0.1:
        name = rng.choice(OTHER_SCRIPTS)
    else:
        name = f"{rng.choice(LATIN_FIRST)} {rng.choice(LATIN_LAST)}"
    draw = rng.random()
    display = "full" if draw < 0.7 else "initials" if draw < 0.9 else "count_only"
    return Signature(
        statement=statement, country=country, status="confirmed",
        name=f"{name} {number}", display=display,
        organization=f"Migrante Chapter {number % 97}" if number % 3 == 0 else "",
        role="Organizer" if number % 5 == 0 else "",
    )  # fmt: skip


def measure(slug: str, chunk: int) -> dict:
    """In this fresh process: load WeasyPrint and the fonts with the empty letter,
    then compile `slug` and return its figures."""
    import resource

    from campaigns import letter_compile
    from campaigns.models import Letter

    letter_compile.CHUNK_NAMES = chunk
    empty = Letter.objects.select_related("statement").get(statement__slug=EMPTY)
    started = time.perf_counter()
    letter_compile.compile_letter(letter=empty, test=True)
    cold = time.perf_counter() - started
    letter = Letter.objects.select_related("statement").get(statement__slug=slug)
    with open("/proc/self/status") as status:
        before = next(int(line.split()[1]) for line in status if "VmRSS" in line)
    started = time.perf_counter()
    compilation = letter_compile.compile_letter(letter=letter, test=True)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "cold": cold,
        "seconds": seconds,
        "growth_mb": (peak - before) / 1024,
        "pages": compilation.pages,
        "size": compilation.size,
        "signatures": compilation.signatures,
        "named": compilation.named,
    }


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "ima_site.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--signatories", type=int, default=100_000)
    parser.add_argument(
        "--chunks", default="", help="names per rendered part, comma-separated"
    )
    parser.add_argument("--measure", nargs=2, metavar=("SLUG", "CHUNK"))
    options = parser.parse_args()
    if options.measure:
        setup_django(dict(os.environ))
        slug, chunk = options.measure
        print(json.dumps(measure(slug, int(chunk))))
        return

    media = tempfile.TemporaryDirectory(prefix="bench-letter-")
    env = bench_env(DATABASE, MEDIA_ROOT=media.name)
    prepare(env, DATABASE)
    setup_django(env)
    from campaigns import letter_compile

    chunks = [int(c) for c in options.chunks.split(",") if c] or [
        letter_compile.CHUNK_NAMES
    ]
    log(f"Setting up {options.signatories:,} signatories in 150 countries…")
    started = time.perf_counter()
    fill(options.signatories)
    log(f"  (written in {time.perf_counter() - started:.0f} s)")

    def run(slug: str, chunk: int) -> dict:
        output = subprocess.run(
            [sys.executable, __file__, "--measure", slug, str(chunk)],
            cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        return json.loads(output.strip().splitlines()[-1])

    try:
        empty = run(EMPTY, chunks[0])
        log(
            f"(a) the letter with no signatories (fixed cost): "
            f"{empty['seconds']:.2f} s, {empty['pages']} pages "
            f"(the first letter in a fresh process: {empty['cold']:.2f} s)"
        )
        for chunk in chunks:
            full = run(FULL, chunk)
            log(
                f"(b) {options.signatories:,} signatories ({full['named']:,} named; "
                f"{full['signatures']:,} counted with paper and offline): "
                f"{full['seconds']:.1f} s, {full['pages']} pages, "
                f"{full['size'] / 1e6:.1f} MB, peak memory +{full['growth_mb']:.0f} MB "
                f"(parts of {chunk:,} names, {os.cpu_count()} cores)"
            )
    finally:
        media.cleanup()


if __name__ == "__main__":
    main()
