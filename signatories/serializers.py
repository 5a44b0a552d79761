from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from ima_site.api import PatternValidator, StrictBooleanField, StrictCharField
from signatories.models import Signature

# The API states its rules for public text exactly, in its schema, as patterns a
# client can check: the letters of the scripts migrants write their names in,
# combining marks, spaces, hyphens and apostrophes, and a dot only as in "Ma. Teresa"
# or "Jr." (before a space and a capital, or at the end). That is narrower than the
# web form, whose rules (no web address in any disguise) no pattern can state; every
# text matching these also passes the form's rules, which still run after them.
# Escapes, never \w or \d: JSON Schema patterns are read as ECMA 262, where \w is
# ASCII only, and Python's re reads \uXXXX the same way.
LETTERS = (
    "A-Za-z\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u024f\\u1e00-\\u1eff"  # Latin
    "\\u0386\\u0388-\\u038a\\u038c\\u038e-\\u03a1\\u03a3-\\u03ce"  # Greek
    "\\u0400-\\u0481\\u048a-\\u04ff"  # Cyrillic
    "\\u05d0-\\u05ea"  # Hebrew
    "\\u0620-\\u064a\\u066e\\u066f\\u0671-\\u06d3\\u06d5"  # Arabic, Urdu, Persian
    "\\u0904-\\u0939\\u093d\\u0950\\u0958-\\u0961\\u0971-\\u097f"  # Devanagari
    "\\u0985-\\u09b9\\u09ce\\u09dc-\\u09e1"  # Bengali
    "\\u0b85-\\u0bb9"  # Tamil
    "\\u0d85-\\u0dc6"  # Sinhala
    "\\u0e01-\\u0e2e\\u0e30\\u0e32\\u0e33\\u0e40-\\u0e46"  # Thai
    "\\u0e81-\\u0eb0\\u0eb2\\u0eb3\\u0ebd-\\u0ec4"  # Lao
    "\\u1000-\\u102a"  # Myanmar
    "\\u1200-\\u135a"  # Ethiopic
    "\\u1780-\\u17b3"  # Khmer
    "\\u3041-\\u3096\\u30a1-\\u30fa\\u30fc"  # Kana
    "\\u3400-\\u4dbf\\u4e00-\\u9fff"  # Han
    "\\uac00-\\ud7a3"  # Hangul
)
MARKS = (
    "\\u0300-\\u036f\\u05b0-\\u05bd\\u05bf\\u05c1\\u05c2\\u064b-\\u065f\\u0670"
    "\\u0900-\\u0903\\u093a-\\u093c\\u093e-\\u094f\\u0951-\\u0957\\u0962\\u0963"
    "\\u09bc-\\u09cd\\u09d7\\u0bbe-\\u0bcd\\u0bd7\\u0dca-\\u0ddf\\u0df2\\u0df3"
    "\\u0e31\\u0e34-\\u0e3a\\u0e47-\\u0e4e\\u0eb1\\u0eb4-\\u0ebc\\u0ec8-\\u0ecd"
    "\\u102b-\\u103e\\u17b6-\\u17d3\\u3099\\u309a"
)
CAPITALS = "A-Z\\u00c0-\\u00d6\\u00d8-\\u00de"
# "www." is a web address to the form's check in any case.
_NO_WWW = "(?!.*[Ww][Ww][Ww]\\.)"


def public_text_pattern(extra_letters: str = "", separators: str = "") -> str:
    word = f"[{LETTERS}{extra_letters}][{LETTERS}{MARKS}{extra_letters}]*"
    # The middle dot joins names too: "Gal·la Puig", "阿沛·阿旺晋美".
    joint = f"(?:[ '\\u2019\\u00b7{separators}-]+|\\. (?=[{CAPITALS}]))"
    return f"^{_NO_WWW}{word}(?:{joint}{word})*\\.?$"


NAME_PATTERN = public_text_pattern()
# Organizations, roles and cities may also hold digits, "&", "/" and commas.
TEXT_PATTERN = public_text_pattern(extra_letters="0-9", separators="&/,")

NAME_RULE = _(
    "Use letters, spaces, hyphens and apostrophes; a dot only after an initial or "
    "an abbreviation (“Ma. Teresa”)."
)
TEXT_RULE = _(
    "Use letters, digits, spaces, hyphens, apostrophes, “&”, “/” and commas; a dot "
    "only after an abbreviation (“St. Mary”)."
)


def public_text(
    *, max_length: int, required: bool, pattern: str, rule: str, help_text=""
):
    # No trimming: the pattern is checked on exactly what was sent, as the schema says.
    return StrictCharField(
        max_length=max_length,
        required=required,
        trim_whitespace=False,
        validators=[PatternValidator(pattern, rule)],
        help_text=help_text,
    )


class SignatureRequestSerializer(serializers.Serializer):
    """A signature sent to the API: checked here for its shape, then by the form's
    rules (SignForm), which the web form shares."""

    kind = serializers.ChoiceField(
        choices=Signature.Kind.choices,
        default=Signature.Kind.PERSON,
        help_text="organization requires `organization`; a statement may accept "
        "only one kind (400 naming `kind`).",
    )
    name = public_text(
        max_length=120,
        required=True,
        pattern=NAME_PATTERN,
        rule=NAME_RULE,
        help_text="Shown publicly.",
    )
    email = serializers.EmailField(max_length=254)
    country = serializers.ChoiceField(
        choices=list(country_registry), help_text="ISO 3166-1 alpha-2"
    )
    organization = public_text(
        max_length=160, required=False, pattern=TEXT_PATTERN, rule=TEXT_RULE
    )
    role = public_text(
        max_length=120, required=False, pattern=TEXT_PATTERN, rule=TEXT_RULE
    )
    city = public_text(
        max_length=120, required=False, pattern=TEXT_PATTERN, rule=TEXT_RULE
    )
    display = serializers.ChoiceField(
        choices=Signature.Display.choices, default=Signature.Display.FULL
    )
    consent = StrictBooleanField(default=False)
    language = serializers.ChoiceField(
        choices=[code for code, _name in settings.LANGUAGES],
        default="en",
        help_text="Of the emails.",
    )


class SignatureRequestScheme(OpenApiSerializerExtension):
    """The one rule across fields that a schema can state: an organization's
    signature names the organization."""

    target_class = SignatureRequestSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        schema["anyOf"] = [
            {"properties": {"kind": {"enum": [Signature.Kind.PERSON]}}},
            {"required": ["organization"]},
        ]
        return schema


class SignatureAcceptedSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="Always check-your-email.")


class SignatureSerializer(serializers.ModelSerializer):
    """What organizers see of a signature through the API: never the email."""

    class Meta:
        model = Signature
        fields = [
            "id", "kind", "name", "organization", "role", "country", "city", "display",
            "status", "is_held", "hold_reason", "source", "collected_by", "created_at",
            "confirmed_at",
        ]  # fmt: skip
