"""Importing the directory of diplomatic missions from CSV.

A mission is identified by the country it represents, its host country, its city
and its kind: a re-import updates that row. Rows missing from the file are never
deleted (an organizer may have added them in the admin).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from campaigns.models import Mission
from ima_site.models import record_audit_entry
from signatories.csv_import import Report, Row, RowError, read_rows

COLUMNS = [
    "represented_country", "host_country", "city", "kind", "name", "address",
    "email", "phone", "website", "latitude", "longitude", "timezone",
]  # fmt: skip
KEY = ("represented_country", "host_country", "city", "kind")


def clean_row(row: Row) -> dict[str, Any]:
    row.check()
    latitude, longitude = row.coordinates()
    return {
        "represented_country": row.country("represented_country"),
        "host_country": row.country("host_country"),
        "city": row.text("city", 120, required=True),
        "kind": row.choice("kind", Mission.Kind.values),
        "name": row.text("name", 300, required=True),
        "address": row.multiline("address", 1000),
        "email": row.email("email"),
        "phone": row.text("phone", 60),
        "website": row.url("website", 500),
        "latitude": latitude,
        "longitude": longitude,
        "time_zone": row.time_zone("timezone", required=True),
    }


def _key(values: dict[str, Any]) -> tuple[str, ...]:
    # The city compares without case: "Hong Kong" and "hong kong" are one mission.
    return tuple(
        values[name].lower() if name == "city" else values[name] for name in KEY
    )


def import_missions(
    path: Path, progress: Callable[[int], object] | None = None
) -> Report:
    """Import every good row of the file; report each bad one by row and column."""
    report = Report()
    seen: dict[tuple[str, ...], int] = {}
    for row in read_rows(path, COLUMNS):
        try:
            values = clean_row(row)
            key = _key(values)
            if key in seen:
                raise RowError(
                    "city", f"the same mission is already in row {seen[key]}"
                )
            seen[key] = row.number
            with transaction.atomic():
                outcome = _save(values, file_name=path.name)
        except RowError as error:
            report.errors.append(f"row {row.number}, {error}")
        except (DatabaseError, ValidationError) as error:
            report.errors.append(f"row {row.number}, database: {error}")
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress:
            progress(1)
    return report


def _save(values: dict[str, Any], *, file_name: str) -> str:
    mission = (
        Mission.objects.select_for_update()
        .filter(
            represented_country=values["represented_country"],
            host_country=values["host_country"],
            city__iexact=values["city"],
            kind=values["kind"],
        )
        .first()
    )
    created = mission is None
    mission = mission or Mission()
    changed = [name for name, value in values.items()
               if getattr(mission, name) != value]  # fmt: skip
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(mission, name, values[name])
    mission.save()
    record_audit_entry(
        actor=None,
        action="mission.import",
        obj=mission,
        details={"file": file_name, "created": created,
                 "fields": [] if created else changed},
    )  # fmt: skip
    return "created" if created else "updated"
