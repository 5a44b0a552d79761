"""Counts: an insert-only ledger of +1/-1 events, folded in batches, checked nightly.

A change that moves a signature in or out of the count writes a CountEvent in its
own transaction; nothing in a request updates a shared counter row.
"""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Sum

from signatories.models import CountCheck, CountEvent, Signature, SignatureCount
from statements.models import Statement

COUNT_LOCK = 74_210_001  # pg advisory lock key of the count batch


def count_event(signature: Signature, delta: int) -> None:
    CountEvent.objects.create(
        statement_id=signature.statement_id,
        country=signature.country,
        kind=signature.kind,
        delta=delta,
    )


def apply_count_events() -> int:
    """Fold the count events written since the last run into SignatureCount.

    Runs every few seconds under an advisory lock, so two runs never overlap. The
    events are deleted in the transaction that adds them: each is applied once.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [COUNT_LOCK])
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(
            """
            WITH taken AS (DELETE FROM signatories_countevent RETURNING *)
            SELECT statement_id, country, kind, SUM(delta), COUNT(*)
            FROM taken GROUP BY statement_id, country, kind
            """
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        cursor.executemany(
            """
            INSERT INTO signatories_signaturecount (statement_id, country, kind, count)
            VALUES (%s, %s, %s, %s)
            ON CONFLICT (statement_id, country, kind)
            DO UPDATE SET count = signatories_signaturecount.count + EXCLUDED.count
            """,
            [row[:4] for row in rows],
        )
        return sum(row[4] for row in rows)


RECONCILE_SQL = """
WITH counted AS (
    SELECT statement_id, country, kind, COUNT(*) AS n
    FROM signatories_signature
    WHERE status = 'confirmed' AND NOT is_held
    GROUP BY statement_id, country, kind
), pending AS (
    SELECT statement_id, country, kind, SUM(delta) AS d
    FROM signatories_countevent
    GROUP BY statement_id, country, kind
)
SELECT statement_id, country, kind,
       COALESCE(counted.n, 0) - COALESCE(pending.d, 0) AS expected
FROM counted FULL JOIN pending USING (statement_id, country, kind)
"""


def reconcile_counts() -> list[CountCheck]:
    """Nightly: compare the batched counts with a real count, fix and record drift.

    Under the batch's lock, one statement reads the signatures and the events not
    yet applied in a single snapshot: a stored count should be the real count less
    those events, which the next batch adds.
    """
    checks = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [COUNT_LOCK])
        cursor.execute(RECONCILE_SQL)
        expected = {(row[0], row[1], row[2]): row[3] for row in cursor.fetchall()}
        stored = {
            (c.statement_id, c.country, c.kind): c.count
            for c in SignatureCount.objects.all()
        }
        for statement_id in sorted({key[0] for key in expected | stored}):
            keys = [
                key for key in expected.keys() | stored.keys() if key[0] == statement_id
            ]
            wrong = [key for key in keys if expected.get(key, 0) != stored.get(key, 0)]
            if not wrong:
                continue
            for key in wrong:
                SignatureCount.objects.update_or_create(
                    statement_id=key[0], country=key[1], kind=key[2],
                    defaults={"count": expected.get(key, 0)},
                )  # fmt: skip
            checks.append(
                CountCheck.objects.create(
                    statement_id=statement_id,
                    expected=sum(expected.get(key, 0) for key in keys),
                    found=sum(stored.get(key, 0) for key in keys),
                )
            )
    return checks


def statement_counts(statement: Statement) -> dict:
    """What the public sees of the count, from the batched table."""
    rows = list(
        SignatureCount.objects.filter(statement=statement, count__gt=0).values(
            "country", "kind", "count"
        )
    )
    offline = statement.offline_counts.aggregate(total=Sum("count"))["total"] or 0
    by_country: dict[str, int] = {}
    for row in rows:
        by_country[row["country"]] = by_country.get(row["country"], 0) + row["count"]
    return {
        "total": sum(by_country.values()) + offline,
        "organizations": sum(r["count"] for r in rows if r["kind"] == "organization"),
        "offline": offline,
        "goal": statement.signature_goal,
        "by_country": by_country,
    }


# A country with fewer signers than this is "not shown": small numbers can point to
# people.
SMALL_COUNT = 5


def hidden_countries(by_country: dict[str, int]) -> set[str]:
    """The countries whose count the public does not see.

    Under SMALL_COUNT a count is hidden. With only one such country, the total less
    the shown counts would give it away, so the smallest shown country is hidden
    beside it; both then read the same, so which one is small stays unknown.
    """
    hidden = {code for code, count in by_country.items() if count < SMALL_COUNT}
    if len(hidden) == 1:
        shown = sorted(
            (count, code) for code, count in by_country.items() if code not in hidden
        )
        if shown:
            hidden.add(shown[0][1])
    return hidden
