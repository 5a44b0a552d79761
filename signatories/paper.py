"""Signatures gathered on paper sheets, typed into a CSV file by organizers."""

import csv
import io

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries as country_registry

from ima_site.models import record_audit_entry
from signatories.forms import clean_public_text
from signatories.models import Signature
from signatories.services.counts import count_event
from statements.models import Statement

REQUIRED = {"name", "country"}
OPTIONAL = {"organization", "role", "city", "kind"}


class PaperImportError(Exception):
    """A line of the file that cannot be read; nothing of the file was saved."""


def import_paper_signatures(
    *, statement: Statement, data: bytes, collected_by: str, by
):
    """Add every line as a confirmed paper signature, all or nothing."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PaperImportError(_("The file is not UTF-8 text.")) from None
    reader = csv.DictReader(io.StringIO(text))
    columns = {c.strip().lower() for c in reader.fieldnames or []}
    missing = REQUIRED - columns
    if missing:
        raise PaperImportError(
            _("Missing column(s): %(columns)s")
            % {"columns": ", ".join(sorted(missing))}
        )
    signatures = []
    now = timezone.now()
    for number, raw in enumerate(reader, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k}
        try:
            name, organization, role, city = (
                clean_public_text(row.get(key, ""), key)
                for key in ("name", "organization", "role", "city")
            )
        except ValidationError as error:
            raise PaperImportError(
                _("Line %(line)d: %(problem)s")
                % {"line": number, "problem": " ".join(error.messages)}
            ) from None
        country = row.get("country", "").upper()
        kind = row.get("kind") or Signature.Kind.PERSON
        if not name or len(name) > 120:
            raise PaperImportError(
                _("Line %(line)d: name is empty or too long.") % {"line": number}
            )
        if country not in country_registry:
            raise PaperImportError(
                _("Line %(line)d: %(code)s is not a country code.")
                % {"line": number, "code": country}
            )
        if kind not in Signature.Kind.values:
            raise PaperImportError(
                _("Line %(line)d: kind must be person or organization.")
                % {"line": number}
            )
        signatures.append(
            Signature(
                statement=statement, name=name, country=country, kind=kind,
                organization=organization[:160]
                or (name if kind == "organization" else ""),
                role=role[:120], city=city[:120],
                status=Signature.Status.CONFIRMED, source=Signature.Source.PAPER,
                collected_by=collected_by[:160], display=Signature.Display.FULL,
                confirmed_at=now,
            )
        )  # fmt: skip
    with transaction.atomic():
        created = Signature.objects.bulk_create(signatures)
        for signature in created:
            count_event(signature, +1)
        record_audit_entry(
            actor=by,
            action="signatures.paper_import",
            obj=statement,
            details={"count": len(created), "collected_by": collected_by},
        )
    return len(created)
