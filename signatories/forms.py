import re
import secrets
import time
import unicodedata
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core import signing
from django.core.validators import validate_email
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry

from ima_site.languages import language_name
from signatories.canonical import address_problem, is_invisible, mailer_address
from signatories.models import Signature
from signatories.services import SignerData
from signatories.services.signing import FORM_TOKEN_MAX_AGE
from statements.models import Statement

# Control characters and line breaks; the invisible ones (canonical.is_invisible)
# are refused beside them.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Names are public and go into letters: they must not carry a web address. The text
# is checked after NFKC normalization, which turns full-width letters and the
# look-alike dots U+2024, U+FE52, U+FF0E into plain ones; dots written as "[.]",
# "(dot)", "evil dot com" and the like are read as dots too (a lower-case "dot"
# before lower-case letters only: "Mary Dot Smith" is a name).
SPELLED_DOT = re.compile(
    r"\s*[\[({]\s*(?:\.|dot)\s*[\])}]\s*"
    r"|(?<=\w)\s+(?-i:dot)\s+(?=(?-i:[a-z]{2,24})\b)",
    re.I,
)
# Other marks a reader takes for a dot in an address, which NFKC leaves alone: the
# Armenian full stop, the Syriac supralinear full stop, the raised dot and the
# stenographic full stop. The Arabic full stop and the Lisu tone letter MYA TI are
# also parts of text in their own scripts, so they count only between Latin letters
# or digits. The middle dot U+00B7 is no dot: Catalan writes "Gal·la".
LATIN = "0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
OTHER_DOTS = re.compile(
    rf"[\u0589\u0701\u2e33\u2e3c]|(?<=[{LATIN}])[\u06d4\ua4f8](?=[{LATIN}])"
)
URLISH = re.compile(
    r"https?:|www\.|://"
    # A dot, or an ideographic full stop, straight between a name and at least two
    # letters: bit.ly, evil.com, пример.рф, bücher。de. "J. Smith" and "Dr. Ali" have
    # a space after the dot, so they pass.
    r"|\w[.。][^\W\d_]{2,}"
    # A dot with a space before it: "evil . com", "evil .com"; names never have one.
    r"|\w\s+[.。]\s*[^\W\d_]{2,}"
    # An IP address, with or without a path: 1.2.3.4/x.
    r"|\b\d{1,3}(?:\s*\.\s*\d{1,3}){3}\b",
    re.I,
)
MARKS = {"Mn", "Me"}
# A spreadsheet reads a cell starting with one of these as a formula.
FORMULA_START = "=+-@\t\r＝＋－＠"
FORM_TOKEN_SALT = "signing-form-started"  # noqa: S105 - a salt, not a secret


def clean_public_text(value: str, field: str) -> str:
    """Names and organizations: no control characters, no links, no formulas."""
    if CONTROL.search(value) or any(is_invisible(char) for char in value):
        raise forms.ValidationError(
            _("%(field)s contains characters that are not allowed."),
            params={"field": field},
        )
    if looks_like_an_address(value):
        raise forms.ValidationError(
            _("%(field)s cannot contain a web address."), params={"field": field}
        )
    cleaned = value.lstrip(FORMULA_START + " ").strip()
    if value.strip() and not cleaned:
        raise forms.ValidationError(
            _("%(field)s must contain letters."), params={"field": field}
        )
    return cleaned


def looks_like_an_address(value: str) -> bool:
    """Whether the text holds something a reader would take for a web address."""
    text = unicodedata.normalize("NFKC", value)
    # Marks drawn on the character before them, variation selectors among them,
    # would otherwise stand between a dot and the letters after it unseen.
    text = "".join(char for char in text if unicodedata.category(char) not in MARKS)
    text = OTHER_DOTS.sub(".", SPELLED_DOT.sub(".", text))
    return bool(URLISH.search(text))


def new_form_token(statement: Statement) -> str:
    """The signing form's hidden token: when it was shown, for which statement, and
    a nonce that the signing service uses up, so the token is good once."""
    return signing.dumps(
        {"t": time.time(), "s": statement.pk, "n": secrets.token_urlsafe(12)},
        salt=FORM_TOKEN_SALT,
    )


@dataclass(frozen=True)
class Screening:
    """What the bot check found: why to hold the signature ("" if nothing), and the
    form token's nonce for the signing service to use up."""

    hold_reason: str
    form_nonce: str | None = None


def screen_signer(form: "SignForm", *, web_form: bool) -> Screening:
    """The one bot check of the web form and the API, on a valid form.

    Both: the honeypot. The web form also: its token must be there, be ours, be for
    this statement and be used once (the service checks that), and a form sent
    back faster than a person fills it is held like a rate limit. API clients have
    no form, so no token and no fill time.
    """
    if form.cleaned_data.get("website"):
        return Screening("honeypot")
    if not web_form:
        return Screening("")
    token = form.cleaned_data.get("started") or ""
    try:
        data = signing.loads(token, salt=FORM_TOKEN_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        return Screening("expired-form-token")
    except (signing.BadSignature, TypeError, ValueError):
        return Screening("no-form-token")
    if not isinstance(data, dict) or not isinstance(data.get("n"), str):
        return Screening("no-form-token")  # a token of the old kind, or not ours
    if data.get("s") != form.statement.pk:
        return Screening("foreign-form-token")
    age = time.time() - float(data.get("t", 0))
    reason = "too-fast" if age < settings.SIGNING_MIN_SECONDS else ""
    return Screening(reason, form_nonce=data["n"])


KIND_CHOICES = [
    (Signature.Kind.PERSON, _("as a person")),
    (Signature.Kind.ORGANIZATION, _("for an organization")),
]


class SignForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("I sign"),
        choices=KIND_CHOICES,
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
        choice_fields = {
            name: field
            for name, field in self.fields.items()
            if isinstance(field, forms.ChoiceField)
        }
        choice_fields["country"].choices = [("", "—")] + list(country_registry)
        choice_fields["language"].choices = [
            (code, language_name(code)) for code, _name in settings.LANGUAGES
        ]
        self.fields["language"].initial = get_language()
        self.fields["started"].initial = new_form_token(statement)
        self.fields["website"].widget.attrs.update(
            {"tabindex": "-1", "autocomplete": "off"}
        )
        kinds = choice_fields["kind"]
        if statement.signers == Statement.Signers.PEOPLE:
            kinds.choices = KIND_CHOICES[:1]
        elif statement.signers == Statement.Signers.ORGANIZATIONS:
            kinds.choices = KIND_CHOICES[1:]
            kinds.initial = Signature.Kind.ORGANIZATION

    def clean_email(self):
        """The address the mail will go to, the one every hash is made from.

        An address that mail software would read as another one (quoted, with an
        invisible character) is refused rather than guessed at; a non-ASCII
        domain becomes the IDNA form the mailer sends to.
        """
        email = self.cleaned_data["email"]
        problem = address_problem(email)
        if problem == "quoted":
            raise forms.ValidationError(
                _("Write the email address without quotation marks or backslashes."),
                code="invalid",
            )
        if problem == "invisible":
            raise forms.ValidationError(
                _("The email address contains invisible characters. Type it again."),
                code="invalid",
            )
        address = mailer_address(email)
        if problem or len(address) > 254:
            raise forms.ValidationError(validate_email.message, code="invalid")
        validate_email(address)
        return address

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
        data = super().clean() or {}
        if data.get("kind") == Signature.Kind.ORGANIZATION and not data.get(
            "organization"
        ):
            self.add_error("organization", _("Give the organization's name."))
        return data

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
