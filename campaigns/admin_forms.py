"""The forms of the campaigns admin: what an organizer types, checked field by field
before anything is saved, so that a broken rule is an error beside the field and
never a database error page."""

from __future__ import annotations

from datetime import date, datetime, time

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries as country_registry

from ima_site.languages import is_known_language
from ima_site.models import time_zone_choices
from signatories.models import Organization
from statements.admin_forms import CountriesField, LinesField, parse_local_datetime

from .alert_edits import EDITABLE
from .models import Action, Alert, AlertVersion, Campaign, Mission
from .placeholders import PLACEHOLDERS, unknown_placeholders


def _country(value: str) -> str:
    code = (value or "").strip().upper()
    if code and code not in country_registry:
        raise ValidationError(
            _("%(code)s is not an ISO 3166-1 country code (MY, PH, GB…).")
            % {"code": value}
        )
    return code


def _zone_choices() -> list[tuple[str, str]]:
    return [("", "---------"), *time_zone_choices()]


def _check_coordinates(form, latitude: str, longitude: str) -> None:
    """Both or neither, and on the globe (the tables' check constraints)."""
    data = form.cleaned_data
    lat, lon = data.get(latitude), data.get(longitude)
    if (lat is None) != (lon is None) and latitude not in form.errors:
        missing = longitude if lon is None else latitude
        form.add_error(missing, _("Give both the latitude and the longitude, or none."))
        return
    if lat is not None and not -90 <= lat <= 90:
        form.add_error(latitude, _("A latitude is between -90 and 90."))
    if lon is not None and not -180 <= lon <= 180:
        form.add_error(longitude, _("A longitude is between -180 and 180."))


class CampaignForm(forms.ModelForm):
    demands = LinesField(
        label=gettext_lazy("Demands"),
        required=False,
        help_text=gettext_lazy("One per line, in the order they are shown."),
    )

    class Meta:
        model = Campaign
        fields = [
            "title", "slug", "status", "language", "summary", "body",
            "target_country", "target_authority", "demands", "hashtag",
            "starts_on", "ends_on",
        ]  # fmt: skip

    def clean_target_country(self) -> str:
        return _country(self.cleaned_data["target_country"])

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts_on"), data.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The campaign cannot end before it starts."))
        return data


def check_placeholders(text: str) -> str:
    """The text, if every placeholder in it is known; else a ValidationError
    naming the unknown ones and the known ones."""
    unknown = unknown_placeholders(text)
    if unknown:
        raise ValidationError(
            _("Unknown placeholders: %(unknown)s. %(known)s")
            % {
                "unknown": ", ".join("{" + n + "}" for n in unknown),
                "known": placeholder_help(),
            }
        )
    return text


class ActionForm(forms.ModelForm):
    place_time_zone = forms.ChoiceField(
        label=gettext_lazy("time zone"),
        choices=_zone_choices,
        required=False,
        help_text=gettext_lazy("The place's zone: its times are read there."),
    )

    class Meta:
        model = Action
        fields = [
            "campaign", "title", "slug", "kind", "instructions", "letter_template",
            "date", "starts", "ends", "where", "place_name", "place_address",
            "place_city", "place_country", "place_latitude", "place_longitude",
            "place_time_zone",
        ]  # fmt: skip

    def clean_place_country(self) -> str:
        return _country(self.cleaned_data.get("place_country", ""))

    def clean_letter_template(self) -> str:
        return check_placeholders(self.cleaned_data.get("letter_template", ""))

    def clean(self):
        data = super().clean()
        starts, ends = data.get("starts"), data.get("ends")
        if starts and ends and ends <= starts:
            self.add_error("ends", _("The action must end after it starts."))
        if (
            data.get("kind") == Action.Kind.LETTER_OF_CONCERN
            and data.get("where") == Action.Where.PLACE
        ):
            # Each member writes to its own mission: there is no one place.
            self.add_error(
                "where",
                _("A letter of concern goes to each member's mission, not a place."),
            )
        elif data.get("where") == Action.Where.PLACE:
            for name in (
                "place_name",
                "place_city",
                "place_country",
                "place_time_zone",
            ):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Needed for an action at one named place."))
        _check_coordinates(self, "place_latitude", "place_longitude")
        return data


class MissionForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("time zone"), choices=time_zone_choices
    )

    class Meta:
        model = Mission
        fields = [
            "represented_country", "host_country", "city", "kind", "name",
            "address", "email", "phone", "website", "latitude", "longitude",
            "time_zone",
        ]  # fmt: skip

    def clean_represented_country(self) -> str:
        return _country(self.cleaned_data["represented_country"])

    def clean_host_country(self) -> str:
        return _country(self.cleaned_data["host_country"])

    def clean(self):
        data = super().clean()
        _check_coordinates(self, "latitude", "longitude")
        return data


class LanguagesField(forms.CharField):
    """ISO 639 codes separated by commas or spaces: en, fil."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        codes = (value or "").replace(",", " ").lower().split()
        return list(dict.fromkeys(codes))

    def validate(self, value):
        unknown = [code for code in value if not is_known_language(code)]
        if unknown:
            raise ValidationError(
                _("Not language codes: %(codes)s (en, es, fr, id, fil…).")
                % {"codes": ", ".join(unknown)}
            )


def sector_choices(current: list[str] | None = None) -> list[tuple[str, str]]:
    """The sectors the registry uses, and any the alert names already."""
    found = set(
        Organization.objects.exclude(sector="")
        .values_list("sector", flat=True)
        .distinct()
    )
    found.update(current or [])
    return [(sector, sector) for sector in sorted(found, key=str.casefold)]


class AlertForm(forms.ModelForm):
    countries = CountriesField(
        label=gettext_lazy("Countries"),
        required=False,
        help_text=gettext_lazy(
            "Organizations in these countries (two-letter codes: PH, HK, GB). "
            "Empty: every country."
        ),
    )
    sectors = forms.MultipleChoiceField(
        label=gettext_lazy("Sectors"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every sector."),
    )
    languages = LanguagesField(
        label=gettext_lazy("Languages"),
        required=False,
        help_text=gettext_lazy(
            "Contacts who read these languages (en, es, fil). Empty: every contact."
        ),
    )

    class Meta:
        model = Alert
        fields = [
            "action", "countries", "sectors", "members_only", "languages",
            "only_without_letter",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sectors"].choices = sector_choices(
            self.instance.sectors if self.instance.pk else None
        )
        if "action" in self.fields:
            self.fields["action"].queryset = Action.objects.select_related(
                "campaign"
            ).order_by("-date", "title")
            self.fields["action"].label_from_instance = lambda action: (
                f"{action.campaign.title} · {action.title} ({action.date.isoformat()})"
            )

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            # Another organizer may have started it since this form was loaded.
            status = (
                Alert.objects.filter(pk=self.instance.pk)
                .values_list("status", flat=True)
                .first()
            )
            if status is not None and status not in EDITABLE:
                raise ValidationError(
                    _(
                        "This alert started sending meanwhile: cancel it first, "
                        "then change it."
                    )
                )
        return data


def placeholder_help() -> str:
    names = ", ".join("{" + name + "}" for name in PLACEHOLDERS)
    return _("Placeholders: %(names)s. Write {{ and }} for a brace.") % {"names": names}


class AlertVersionForm(forms.ModelForm):
    class Meta:
        model = AlertVersion
        fields = ["language", "is_original", "subject", "body"]

    def clean_language(self) -> str:
        code = (self.cleaned_data.get("language") or "").strip().lower()
        if not is_known_language(code):
            raise ValidationError(
                _("%(code)s is not a language code (en, es, fr, id, fil, ar…).")
                % {"code": code}
            )
        return code

    def _placeholders(self, name: str) -> str:
        return check_placeholders(self.cleaned_data.get(name, ""))

    def clean_subject(self) -> str:
        return self._placeholders("subject")

    def clean_body(self) -> str:
        return self._placeholders("body")


class AlertVersionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(_("Write the alert in at least one language."))
        if sum(1 for data in kept if data.get("is_original")) != 1:
            raise ValidationError(
                _("Mark exactly one language version as the original.")
            )
        seen: set[str] = set()
        for data in kept:
            code = data.get("language")
            if code in seen:
                raise ValidationError(
                    _("There are two versions in %(code)s: keep one.") % {"code": code}
                )
            seen.add(code)


class ScheduleForm(forms.Form):
    """A moment typed in the organizer's own zone."""

    at = forms.CharField(
        label=gettext_lazy("Send at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_at(self) -> datetime:
        at = parse_local_datetime(
            self.cleaned_data["at"], timezone.get_current_timezone()
        )
        if at <= timezone.now():
            raise ValidationError(_("That time has passed: send now instead."))
        return at


class LocalScheduleForm(forms.Form):
    """A date and a wall-clock time, read in each recipient organization's zone."""

    local_date = forms.DateField(
        label=gettext_lazy("Date"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    local_time = forms.TimeField(
        label=gettext_lazy("Time"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        initial=time(9, 0),
    )

    def clean_local_date(self) -> date:
        day = self.cleaned_data["local_date"]
        # The last zones on Earth are 14 hours ahead of UTC, the first 12 behind:
        # a date before yesterday has passed everywhere.
        if (timezone.now().date() - day).days > 1:
            raise ValidationError(_("That date has passed everywhere."))
        return day


class MissionChoiceForm(forms.Form):
    mission = forms.ModelChoiceField(
        label=gettext_lazy("Mission"),
        queryset=Mission.objects.none(),
        required=False,
        empty_label=gettext_lazy("The nearest (chosen by the site)"),
    )

    def __init__(self, *args, target_country: str, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["mission"]
        field.queryset = Mission.objects.filter(
            represented_country=target_country
        ).order_by("host_country", "city", "kind", "id")
        field.label_from_instance = lambda mission: (
            f"{mission.host_country} · {mission.city} · {mission.name}"
        )
