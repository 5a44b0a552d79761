"""The forms of the statement admin: what a writer types, and the workflow's fields."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries as country_registry

from ima_site.languages import is_known_language
from statements.models import Statement, StatementVersion

SLUG_MAX_LENGTH = Statement._meta.get_field("slug").max_length or 200


class LinesField(forms.CharField):
    """A list of short texts, typed one per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        lines = [line.strip() for line in (value or "").splitlines()]
        return [line for line in lines if line]

    def validate(self, value):
        for line in value:
            if len(line) > 300:
                raise ValidationError(_("Each line must be at most 300 characters."))


class CountriesField(forms.CharField):
    """ISO 3166-1 alpha-2 codes separated by commas or spaces: MY, PH."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        codes = (value or "").replace(",", " ").upper().split()
        return list(dict.fromkeys(codes))

    def validate(self, value):
        unknown = [code for code in value if code not in country_registry]
        if unknown:
            raise ValidationError(
                _("Not ISO 3166-1 country codes: %(codes)s")
                % {"codes": ", ".join(unknown)}
            )


def parse_local_datetime(text: str, zone: tzinfo) -> datetime:
    """A typed date and time read in `zone`; refuses what that zone's clocks never
    show (skipped by a change to summer time) or show twice (the hour repeated)."""
    try:
        value = parse_datetime((text or "").strip())
    except ValueError:
        value = None
    if value is None:
        raise ValidationError(_("Give a date and time, such as 2027-03-01 14:30."))
    if timezone.is_aware(value):
        return value
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        shown = value.strftime("%Y-%m-%d %H:%M")
        if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == value:
            raise ValidationError(
                _(
                    "%(time)s happens twice in %(zone)s (the clocks go back that "
                    "night): choose a time outside that hour."
                )
                % {"time": shown, "zone": zone}
            )
        raise ValidationError(
            _(
                "%(time)s does not exist in %(zone)s (the clocks skip that hour): "
                "choose another time."
            )
            % {"time": shown, "zone": zone}
        )
    return first


def unique_slug(title: str, *, exclude_pk=None) -> str:
    """An address made from the title, with -2, -3… when it is taken."""
    base = slugify(title)[: SLUG_MAX_LENGTH - 4].strip("-") or "statement"
    taken = set(
        Statement.objects.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def slug_taken_by(slug: str, *, exclude_pk=None) -> Statement | None:
    return (
        Statement.objects.prefetch_related("versions")
        .filter(slug=slug)
        .exclude(pk=exclude_pk)
        .first()
    )


def slug_taken_message(statement: Statement) -> str:
    return _("This address is taken by “%(title)s”.") % {"title": statement}


class StatementForm(forms.ModelForm):
    slogans = LinesField(
        label=gettext_lazy("Slogans and demands"),
        required=False,
        help_text=gettext_lazy("One per line, in the order they are shown."),
    )
    countries = CountriesField(
        label=gettext_lazy("Countries"),
        required=False,
        help_text=gettext_lazy("Two-letter codes separated by commas: MY, PH, ID."),
    )
    # The workflow box's own fields: not the statement's, read when a status
    # button (`_workflow`) submits the form.
    schedule_at = forms.CharField(
        label=gettext_lazy("Schedule for"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    workflow_note = forms.CharField(
        label=gettext_lazy("Note for the author"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy(
            "Sent with the email when you publish, schedule or return to draft; "
            "the reason when you withdraw."
        ),
    )

    class Meta:
        model = Statement
        fields = [
            "slug", "kind", "issued_on", "dateline", "issuer", "signed_by",
            "signed_by_role", "addressees", "slogans", "countries", "topics",
            "accepts_signatures", "signature_goal", "signers", "signing_closes_at",
            "signing_paused", "signatories_shown",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            # Empty: made from the title at save.
            self.fields["slug"].required = False
            self.fields["slug"].help_text = _(
                "The address of the statement: /statements/this-slug/. "
                "Leave it empty to make it from the title."
            )
        if self.instance.pk and self.instance.status == Statement.Status.SCHEDULED:
            local = timezone.localtime(self.instance.publish_at)
            self.initial.setdefault("schedule_at", local.strftime("%Y-%m-%dT%H:%M"))

    @property
    def workflow_action(self) -> str:
        return (self.data or {}).get("_workflow", "")

    @property
    def previewing(self) -> bool:
        return "_preview" in (self.data or {})

    def is_valid(self) -> bool:
        # A preview validates everything (so errors show) but never saves.
        return super().is_valid() and not self.previewing

    def title_for_slug(self) -> str:
        return str(self.instance) if self.instance.pk else ""

    def clean_slug(self) -> str:
        slug = self.cleaned_data.get("slug", "")
        if slug:
            other = slug_taken_by(slug, exclude_pk=self.instance.pk)
            if other is not None:
                raise ValidationError(slug_taken_message(other))
        return slug

    def clean(self):
        data = super().clean()
        if "slug" in self.fields and not data.get("slug") and "slug" not in self.errors:
            title = self.title_for_slug()
            if title:
                data["slug"] = unique_slug(title, exclude_pk=self.instance.pk)
                self.instance.slug = data["slug"]
            elif not self.errors:
                self.add_error("slug", _("Give the statement an address."))
        if self.workflow_action == "schedule":
            self._clean_schedule(data)
        return data

    def _clean_schedule(self, data) -> None:
        zone = timezone.get_current_timezone()
        if not data.get("schedule_at"):
            self.add_error(
                "schedule_at",
                _("Give the date and time to publish, in %(zone)s.") % {"zone": zone},
            )
            return
        try:
            at = parse_local_datetime(data["schedule_at"], zone)
        except ValidationError as error:
            self.add_error("schedule_at", error)
            return
        if at <= timezone.now():
            self.add_error(
                "schedule_at", _("That time has passed: publish now instead.")
            )


class StatementAddForm(StatementForm):
    """A new statement starts with its title and text: the original version."""

    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=StatementVersion._meta.get_field("title").max_length,
    )
    body = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 16}),
        help_text=gettext_lazy(
            "Markdown: **bold**, *italic*, ## heading, - list, [link](https://…). "
            "Press “Preview” to see it."
        ),
    )
    language = forms.CharField(
        label=gettext_lazy("Language of this text"),
        max_length=8,
        help_text=gettext_lazy(
            "ISO 639-1 code: en, es, fr, id, ar… Translations are added after saving."
        ),
    )

    def title_for_slug(self) -> str:
        return self.cleaned_data.get("title", "")

    def clean_language(self) -> str:
        code = self.cleaned_data["language"].strip().lower()
        if not is_known_language(code):
            raise ValidationError(
                _("%(code)s is not a language code (en, es, fr, id, fil, ar…).")
                % {"code": code}
            )
        return code


class VersionForm(forms.ModelForm):
    slogans = LinesField(
        label=gettext_lazy("Slogans and demands"),
        required=False,
        help_text=gettext_lazy("One per line. Empty: the original's."),
    )

    class Meta:
        model = StatementVersion
        fields = [
            "language", "is_original", "title", "subtitle", "summary", "body",
            "slogans", "addressees", "signed_by_role",
        ]  # fmt: skip


class VersionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(_("Add at least one language version."))
        originals = sum(1 for data in kept if data.get("is_original"))
        if originals != 1:
            raise ValidationError(
                _("Mark exactly one language version as the original.")
            )
        for data in kept:
            if not is_known_language(data.get("language", "")):
                raise ValidationError(
                    _("%(code)s is not a language code (en, es, fr, id, fil, ar…).")
                    % {"code": data.get("language")}
                )
        for form in self.forms:
            data = form.cleaned_data
            if not data or data.get("DELETE") or not data.get("is_original"):
                continue
            # The original's slogans, addressees and role are the statement's own
            # fields, which the translations fall back to: a second copy on the
            # original's row would show on its page only and leave them behind.
            for name in ("slogans", "addressees", "signed_by_role"):
                if data.get(name):
                    form.add_error(
                        name,
                        _(
                            "The original's text for this is the statement's own "
                            "field above: leave it empty here."
                        ),
                    )
