"""Importing the member registry from CSV: organizations and their contacts.

One row per contact; the rows of one organization share its name and country.
An empty cell says nothing: the value already known stays (a new organization
gets the default). Rows missing from the file are never deleted, and a contact
who unsubscribed stays unsubscribed whatever the file says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import Value
from django.db.models.functions import Lower

from ima_site.models import record_audit_entry
from signatories.csv_import import Report, Row, RowError, read_rows
from signatories.models import Organization
from signatories.services.contacts import (
    contact_address,
    contact_email_hash,
    contact_language,
    save_contact,
)

COLUMNS = [
    "name", "acronym", "country", "city", "sector", "is_member", "contact_name",
    "email", "language", "latitude", "longitude", "timezone",
]  # fmt: skip
# Fields of the organization that a row gives (model field, CSV column).
ORGANIZATION_FIELDS = [
    ("acronym", "acronym"), ("city", "city"), ("sector", "sector"),
    ("is_member", "is_member"), ("latitude", "latitude"),
    ("longitude", "longitude"), ("time_zone", "timezone"),
]  # fmt: skip


@dataclass
class OrganizationRow:
    number: int
    name: str
    country: str
    fields: dict[str, Any]  # only the non-empty cells
    contact: dict[str, str] | None

    @property
    def key(self) -> tuple[str, str]:
        return self.name.lower(), self.country


def clean_row(row: Row) -> OrganizationRow:
    row.check()
    name = row.text("name", 200, required=True)
    country = row.country("country")
    latitude, longitude = row.coordinates()
    given: dict[str, Any] = {
        "acronym": row.text("acronym", 40),
        "city": row.text("city", 120),
        "sector": row.text("sector", 120),
        "is_member": row.boolean("is_member"),
        "latitude": latitude,
        "longitude": longitude,
        "time_zone": row.time_zone("timezone", required=False),
    }
    fields = {k: v for k, v in given.items() if v is not None and v != ""}
    contact = None
    email = row.text("email", 254)
    contact_name = row.text("contact_name", 200)
    language = row.text("language", 8)
    if email:
        try:
            contact = {
                "email": contact_address(email),
                "language": contact_language(language),
                "name": contact_name,
            }
        except ValidationError as error:
            column, messages = next(iter(error.message_dict.items()))
            raise RowError(column, messages[0]) from None
    elif contact_name or language:
        raise RowError("email", "is required for a contact (contact_name or language)")
    return OrganizationRow(row.number, name, country, fields, contact)


def import_organizations(
    path: Path, progress: Callable[[int], object] | None = None
) -> Report:
    """Import every good row of the file; report each bad one by row and column."""
    report = Report()
    rows = read_rows(path, COLUMNS)
    cleaned: list[OrganizationRow] = []
    first_seen: dict[tuple[str, str], OrganizationRow] = {}
    contacts_seen: dict[tuple[str, str, str], int] = {}
    for row in rows:
        try:
            item = clean_row(row)
            _check_agreement(item, first_seen)
            if item.contact:
                key = (*item.key, contact_email_hash(item.contact["email"]))
                if key in contacts_seen:
                    raise RowError(
                        "email",
                        f"the same contact is already in row {contacts_seen[key]}",
                    )
                contacts_seen[key] = item.number
        except RowError as error:
            report.errors.append(f"row {row.number}, {error}")
            if progress:
                progress(1)
            continue
        cleaned.append(item)
    for item in cleaned:
        try:
            with transaction.atomic():
                outcome = _save_row(item, file_name=path.name)
        except RowError as error:
            report.errors.append(f"row {item.number}, {error}")
        except (DatabaseError, ValidationError) as error:
            report.errors.append(f"row {item.number}, database: {error}")
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress:
            progress(1)
    return report


def _check_agreement(
    item: OrganizationRow, first_seen: dict[tuple[str, str], OrganizationRow]
) -> None:
    """The rows of one organization must not give it two different values."""
    first = first_seen.setdefault(item.key, item)
    if first is item:
        return
    for field, column in ORGANIZATION_FIELDS:
        mine, theirs = item.fields.get(field), first.fields.get(field)
        if mine is not None and theirs is not None and mine != theirs:
            raise RowError(
                column,
                f"{mine!r} differs from {theirs!r} in row {first.number} "
                "for the same organization",
            )
    # What this row gives and the first did not is taken from here on.
    for field, value in item.fields.items():
        first.fields.setdefault(field, value)


def _save_row(item: OrganizationRow, *, file_name: str) -> str:
    """Write one row; "created", "updated" or "unchanged"."""
    found = (
        Organization.objects.select_for_update()
        .alias(lower_name=Lower("name"))
        .filter(lower_name=Lower(Value(item.name)), country=item.country)
        .first()
    )
    created = found is None
    organization: Organization = found or Organization(
        name=item.name, country=item.country
    )
    changed = []
    for field, _column in ORGANIZATION_FIELDS:
        if field in item.fields and getattr(organization, field) != item.fields[field]:
            setattr(organization, field, item.fields[field])
            changed.append(field)
    if created or changed:
        organization.full_clean(validate_unique=False, validate_constraints=False)
        organization.save()
        record_audit_entry(
            actor=None,
            action="organization.import",
            obj=organization,
            details={"file": file_name, "created": created, "fields": changed},
        )
    contact_outcome = "unchanged"
    if item.contact:
        _contact, contact_outcome = save_contact(
            organization=organization, **item.contact
        )
    if created or contact_outcome == "created":
        return "created"
    if changed or contact_outcome == "updated":
        return "updated"
    return "unchanged"
