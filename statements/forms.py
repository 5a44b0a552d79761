from django import forms
from django.db.models import Func
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry

from ima_site.languages import language_name
from statements.models import Statement, StatementVersion, Topic


class Unnest(Func):
    function = "unnest"


class StatementFilterForm(forms.Form):
    """The filters of the statement list; choices are what public statements use."""

    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    kind = forms.ChoiceField(label=_("Kind"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    topic = forms.ChoiceField(label=_("Topic"), required=False)
    year = forms.TypedChoiceField(label=_("Year"), required=False, coerce=int)
    language = forms.ChoiceField(label=_("Language"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        public = Statement.objects.public()
        any_choice = [("", _("Any"))]
        self.fields["kind"].choices = any_choice + list(Statement.Kind.choices)
        codes = (
            public.annotate(code=Unnest("countries"))
            .order_by()
            .values_list("code", flat=True)
            .distinct()
        )
        self.fields["country"].choices = any_choice + sorted(
            ((code, country_registry.name(code) or code) for code in codes),
            key=lambda choice: choice[1],
        )
        self.fields["topic"].choices = any_choice + list(
            Topic.objects.filter(statements__in=public)
            .distinct()
            .order_by("name")
            .values_list("slug", "name")
        )
        years = public.filter(issued_on__isnull=False).dates(
            "issued_on", "year", "DESC"
        )
        self.fields["year"].choices = any_choice + [(d.year, d.year) for d in years]
        languages = (
            StatementVersion.objects.filter(statement__in=public)
            .order_by()
            .values_list("language", flat=True)
            .distinct()
        )
        self.fields["language"].choices = any_choice + sorted(
            ((code, language_name(code)) for code in languages),
            key=lambda choice: choice[1],
        )
