import re
import time

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry

from ima_site.languages import language_name
from signatories.models import Signature
from signatories.services import SignerData
from statements.models import Statement

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
# Anything like an address: a scheme, www., or a dot (or a full-width one) followed
# by two letters, as in bit.ly or evil。com. Names go into emails sent to anyone.
URLISH = re.compile(r"(https?:|www\.|://|\w[.。．｡][a-z]{2,})", re.I)
# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_START = "=+-@\t\r＝＋－＠"
FORM_TOKEN_SALT = "signing-form-started"  # noqa: S105 - a salt, not a secret


def clean_public_text(value: str, field: str) -> str:
    """Names and organizations: no control characters, no links, no formulas."""
    if CONTROL.search(value):
        raise forms.ValidationError(
            _("%(field)s contains characters that are not allowed."),
            params={"field": field},
        )
    if URLISH.search(value):
        raise forms.ValidationError(
            _("%(field)s cannot contain a web address."), params={"field": field}
        )
    cleaned = value.lstrip(FORMULA_START + " ").strip()
    if value.strip() and not cleaned:
        raise forms.ValidationError(
            _("%(field)s must contain letters."), params={"field": field}
        )
    return cleaned


def new_form_token() -> str:
    return signing.dumps(time.time(), salt=FORM_TOKEN_SALT)


def form_age(token: str) -> float | None:
    """Seconds since the form was shown, or None if the token is not ours."""
    try:
        started = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=2 * 86400)
    except (signing.BadSignature, TypeError):
        return None
    return time.time() - float(started)


class SignForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("I sign"),
        choices=[
            (Signature.Kind.PERSON, _("as a person")),
            (Signature.Kind.ORGANIZATION, _("for an organization")),
        ],
        initial=Signature.Kind.PERSON,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=_("Your name"), max_length=120)
    email = forms.EmailField(
        label=_("Email"),
        max_length=254,
        help_text=_("To confirm your signature. Never shown, never shared."),
    )
    country = forms.ChoiceField(label=_("Country where you live"))
    organization = forms.CharField(
        label=_("Organization"), max_length=160, required=False
    )
    role = forms.CharField(label=_("Role or title"), max_length=120, required=False)
    city = forms.CharField(label=_("City"), max_length=120, required=False)
    display = forms.ChoiceField(
        label=_("Show my signature as"),
        choices=Signature.Display.choices,
        initial=Signature.Display.FULL,
        widget=forms.RadioSelect,
    )
    consent = forms.BooleanField(
        label=_("Keep me informed about this campaign"), required=False
    )
    language = forms.ChoiceField(label=_("Emails in"))
    # Left empty by people; the field is off screen and skipped by keyboards.
    website = forms.CharField(required=False, label=_("Leave this empty"))
    started = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, statement: Statement, **kwargs):
        super().__init__(*args, **kwargs)
        self.statement = statement
        self.fields["country"].choices = [("", "—")] + list(country_registry)
        self.fields["language"].choices = [
            (code, language_name(code)) for code, _name in settings.LANGUAGES
        ]
        self.fields["language"].initial = get_language()
        self.fields["started"].initial = new_form_token()
        self.fields["website"].widget.attrs.update(
            {"tabindex": "-1", "autocomplete": "off"}
        )
        if statement.signers == Statement.Signers.PEOPLE:
            self.fields["kind"].choices = self.fields["kind"].choices[:1]
        elif statement.signers == Statement.Signers.ORGANIZATIONS:
            self.fields["kind"].choices = self.fields["kind"].choices[1:]
            self.fields["kind"].initial = Signature.Kind.ORGANIZATION

    def clean_name(self):
        return clean_public_text(self.cleaned_data["name"], str(_("Your name")))

    def clean_organization(self):
        return clean_public_text(
            self.cleaned_data["organization"], str(_("Organization"))
        )

    def clean_role(self):
        return clean_public_text(self.cleaned_data["role"], str(_("Role or title")))

    def clean_city(self):
        return clean_public_text(self.cleaned_data["city"], str(_("City")))

    def clean(self):
        data = super().clean()
        if data.get("kind") == Signature.Kind.ORGANIZATION and not data.get(
            "organization"
        ):
            self.add_error("organization", _("Give the organization's name."))
        return data

    def suspicion(self) -> str:
        """Why this looks like a bot, or "": such signatures are held, silently."""
        if self.cleaned_data.get("website"):
            return "honeypot"
        age = form_age(self.cleaned_data.get("started", ""))
        if age is None:
            return "no-form-token"
        if age < settings.SIGNING_MIN_SECONDS:
            return "too-fast"
        return ""

    def signer_data(self, source: str) -> SignerData:
        data = self.cleaned_data
        return SignerData(
            name=data["name"],
            email=data["email"],
            country=data["country"],
            kind=data["kind"],
            organization=data["organization"],
            role=data["role"],
            city=data["city"],
            display=data["display"],
            language=data["language"],
            consent=data["consent"],
            source=source,
        )
