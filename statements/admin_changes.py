"""What an admin save changed, field by field, as old and new text for the audit log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

# Long texts (a body) are cut: the log says what changed, the version holds the rest.
CUT_AT = 500


def as_text(value) -> str:
    """A form value as the words an organizer reads in the log."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(" ", "minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, str):
        text = value
    elif isinstance(value, Iterable):
        items = list(value)
        # Typed lines (slogans) stay one per line; chosen objects (topics) a list.
        joiner = "\n" if all(isinstance(item, str) for item in items) else ", "
        text = joiner.join(as_text(item) for item in items)
    else:
        text = str(value)
    return text if len(text) <= CUT_AT else text[: CUT_AT - 1] + "…"


def _label(form, name: str) -> str:
    field = form.fields.get(name)
    return str(field.label) if field is not None and field.label else name


def _model_fields(form) -> list[str]:
    return [name for name in form.changed_data if name in (form._meta.fields or [])]


def _row_name(form) -> str:
    """Which row of an inline: a version by its language, others by their text."""
    instance = form.instance
    language = getattr(instance, "language", None) or form.cleaned_data.get("language")
    if language:
        return language
    return str(instance) or str(form.cleaned_data.get("title", ""))


def describe_changes(form, formsets) -> list[dict]:
    """The changes of a saved admin form and its inlines: [{"field", "old", "new"}].

    Call after saving. Added rows have old "", deleted rows new "".
    """
    changes = [
        {
            "field": _label(form, name),
            "old": as_text(form.initial.get(name)),
            "new": as_text(form.cleaned_data.get(name)),
        }
        for name in _model_fields(form)
    ]
    for formset in formsets:
        kind = str(formset.model._meta.verbose_name)
        kind = kind[:1].upper() + kind[1:]
        existing = formset.initial_form_count()
        for index, row in enumerate(formset.forms):
            if not hasattr(row, "cleaned_data") or not row.has_changed():
                continue
            if formset.can_delete and formset._should_delete_form(row):
                if index < existing:
                    changes.append(
                        {
                            "field": f"{kind} ({_row_name(row)})",
                            "old": as_text(str(row.instance)),
                            "new": "",
                        }
                    )
                continue
            if index >= existing:
                changes.append(
                    {
                        "field": f"{kind} ({_row_name(row)})",
                        "old": "",
                        "new": as_text(str(row.instance)),
                    }
                )
                continue
            for name in _model_fields(row):
                changes.append(
                    {
                        "field": f"{_label(row, name)} ({_row_name(row)})",
                        "old": as_text(row.initial.get(name)),
                        "new": as_text(row.cleaned_data.get(name)),
                    }
                )
    return changes
