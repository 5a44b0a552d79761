"""The organizers' alert API: what it reads and what it answers.

The schema states every rule on the input the server applies, as patterns a
client (and the schema fuzzer) can check: a request that does not match it is a
400 naming the field. A request that matches it is refused only for what a
schema cannot say (an action or a contact that does not exist, a version
repeating a language), with a 422 naming the field (api_alerts).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ima_site.api import PatternValidator, StrictBooleanField, StrictCharField
from statements.serializers import CONTENT_LANGUAGES

from .alerts import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH, text_problem
from .models import Alert
from .placeholders import PLACEHOLDERS

LARGEST_ID = 2**63 - 1  # PostgreSQL's bigint


def placeholder_text_pattern(*, one_line: bool) -> str:
    """The JSON Schema pattern (ECMA 262) of text_problem's rule.

    Something other than spaces and line breaks; no NUL; for a subject, no line
    break. Braces as the placeholders read them (campaigns.placeholders.TOKEN,
    left to right): `{{` and `}}` are literal braces; `{` followed by a name and
    `}` on the same line is a placeholder, which must be a known one; any other
    `{` or `}` is text. The lone-brace runs below stop only at a `{`, a line break
    or the end, never at a `}`: a `}` there would close a placeholder.
    """
    known = "|".join(sorted(PLACEHOLDERS))
    if one_line:
        plain = run = "[^{}\\n\\r\\u0000]"
        to_line_end = ""
    else:
        plain, run = "[^{}\\u0000]", "[^{}\\n\\u0000]"
        to_line_end = f"|\\{{{run}*\\n"
    unit = (
        f"(?:{plain}|\\}}|(?:\\{{{run}+)*(?:\\{{\\{{|\\{{(?:{known})\\}}{to_line_end}))"
    )
    return f"^(?=[\\s\\S]*[^ \\t\\n\\r])(?:{unit})*(?:\\{{{run}*)*$"


class PlaceholderTextValidator(RegexValidator):
    """text_problem's rule, with its message; the schema shows it as the pattern
    above (drf-spectacular reads a RegexValidator's pattern)."""

    def __init__(self, *, one_line: bool):
        super().__init__(placeholder_text_pattern(one_line=one_line))
        self.one_line = one_line

    def __call__(self, value):
        problem = text_problem(value, one_line=self.one_line)
        if problem:
            raise serializers.ValidationError(problem, code="invalid")


def subject_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        max_length=SUBJECT_MAX_LENGTH,
        trim_whitespace=False,
        validators=[PlaceholderTextValidator(one_line=True)],
        help_text="One line; placeholders as in the body.",
        **kwargs,
    )


def body_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        max_length=BODY_MAX_LENGTH,
        trim_whitespace=False,
        validators=[PlaceholderTextValidator(one_line=False)],
        help_text="Markdown, with placeholders: "
        + ", ".join("{" + name + "}" for name in PLACEHOLDERS)
        + ". `{{` and `}}` write a brace; any other name in braces is refused.",
        **kwargs,
    )


# Patterns rather than enums: drf-spectacular names an enum after its field, and
# "language" and "country" already name other choice sets in this schema.
def choice_pattern(values) -> str:
    return "^(" + "|".join(re.escape(value) for value in values) + ")$"


LANGUAGE_PATTERN = choice_pattern(CONTENT_LANGUAGES)
COUNTRY_PATTERN = choice_pattern(code for code, _name in country_registry)


def language_field(**kwargs) -> StrictCharField:
    return StrictCharField(
        trim_whitespace=False,
        max_length=8,
        validators=[
            PatternValidator(LANGUAGE_PATTERN, _("An ISO 639 language code: en, tl…"))
        ],
        **kwargs,
    )


class AlertVersionSerializer(serializers.Serializer):
    language = language_field(help_text="ISO 639; one version per language.")
    subject = subject_field()
    body = body_field()


class AlertAudienceSerializer(serializers.Serializer):
    countries = serializers.ListField(
        child=StrictCharField(
            trim_whitespace=False,
            validators=[
                PatternValidator(
                    COUNTRY_PATTERN, _("A country's ISO code, such as PH.")
                )
            ],
        ),
        max_length=300,
        default=list,
        help_text="Organizations in these countries (ISO 3166-1 alpha-2, in "
        "capitals); empty or left out: any.",
    )
    sectors = serializers.ListField(
        child=StrictCharField(
            trim_whitespace=False,
            max_length=120,
            validators=[
                PatternValidator(
                    "^[^\\u0000]*[^\\u0000 \\t\\n\\r][^\\u0000]*$",
                    _("Name a sector."),
                )
            ],
        ),
        max_length=100,
        default=list,
        help_text="Organizations of these sectors, whatever their case; empty or "
        "left out: any.",
    )
    languages = serializers.ListField(
        child=language_field(),
        max_length=100,
        default=list,
        help_text="Contacts who read these languages (tl and fil are one); empty "
        "or left out: any.",
    )
    members_only = StrictBooleanField(
        default=True, help_text="Only IMA member organizations (the default)."
    )


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, and only that: DRF's IntegerField also takes "7" and 7.0."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


def id_field(**kwargs) -> StrictIntegerField:
    return StrictIntegerField(min_value=1, max_value=LARGEST_ID, **kwargs)


class AlertCreateSerializer(serializers.Serializer):
    action = id_field(help_text="The action the alert calls members to.")
    language = language_field(
        default=settings.LANGUAGE_CODE,
        help_text="The language of `subject` and `body`: the original version, "
        "which contacts get when the alert has none in their language.",
    )
    subject = subject_field()
    body = body_field()
    versions = AlertVersionSerializer(
        many=True,
        required=False,
        default=list,
        help_text="Translations: one per language, none in `language`.",
    )
    audience = AlertAudienceSerializer(
        required=False,
        help_text="Left out: every contact of every member organization.",
    )


class AlertProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Deliveries written: one per contact.")
    queued = serializers.IntegerField(help_text="Waiting for their time or a worker.")
    sending = serializers.IntegerField()
    sent = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Unsubscribed or bouncing contacts.")
    cancelled = serializers.IntegerField()


# A pattern, not an enum: see choice_pattern.
@extend_schema_field(
    {
        "type": "string",
        "pattern": choice_pattern(Alert.Status.values),
        "description": ", ".join(Alert.Status.values) + ".",
    }
)
class AlertStatusField(serializers.CharField):
    pass


class AlertAudienceOutSerializer(serializers.Serializer):
    countries = serializers.ListField(child=serializers.CharField())
    sectors = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    members_only = serializers.BooleanField()


class AlertVersionOutSerializer(serializers.Serializer):
    language = serializers.CharField()
    subject = serializers.CharField()
    body = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    """An alert as organizers read it (from api_alerts.alert_payload): the
    original version at the top, as it was written."""

    id = serializers.IntegerField()
    action = serializers.IntegerField()
    campaign = serializers.SlugField()
    status = AlertStatusField()
    language = serializers.CharField(
        allow_null=True, help_text="Of the original; null while it has no text."
    )
    subject = serializers.CharField(allow_null=True)
    body = serializers.CharField(allow_null=True)
    versions = AlertVersionOutSerializer(many=True, help_text="The translations.")
    audience = AlertAudienceOutSerializer()
    send_at = serializers.DateTimeField(allow_null=True)
    send_on_local_date = serializers.DateField(
        allow_null=True, help_text="With send_at_local_time: in each zone."
    )
    send_at_local_time = serializers.CharField(
        allow_null=True, help_text="Wall-clock time, 24 h: 09:00."
    )
    created_by = serializers.CharField(
        allow_null=True, help_text="The organizer who wrote it (a username)."
    )
    created_at = serializers.DateTimeField()
    frozen_at = serializers.DateTimeField(
        allow_null=True, help_text="When sending started and its text was fixed."
    )
    progress = AlertProgressSerializer()


# --- Sending --------------------------------------------------------------------

# The first and last days of the calendar are left out: a zone's offset would take
# a moment on them out of the range of dates Python and the site can hold.
NOT_AT_THE_ENDS = "^(?!0001-01-01|9999-12-31)"
RFC3339 = re.compile(
    r"(?!0001-01-01|9999-12-31)"
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)
ISO_DATE = re.compile(r"(?!0001-01-01|9999-12-31)\d{4}-\d{2}-\d{2}", re.ASCII)


@extend_schema_field(
    {"type": "string", "format": "date-time", "pattern": NOT_AT_THE_ENDS}
)
class MomentField(serializers.Field):
    """An RFC 3339 date and time, with its offset (a naive time is ambiguous)."""

    default_error_messages = {
        "invalid": _(
            "Give a date and time with its offset, as RFC 3339: "
            "2026-12-10T09:00:00+08:00 or 2026-12-10T01:00:00Z (not on "
            "0001-01-01 or 9999-12-31)."
        ),
    }

    def to_internal_value(self, data) -> datetime:
        if not isinstance(data, str) or not RFC3339.fullmatch(data):
            self.fail("invalid")
        try:
            return datetime.fromisoformat(data.upper().replace("Z", "+00:00"))
        except ValueError:
            raise serializers.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from None

    def to_representation(self, value):
        return value.isoformat()


@extend_schema_field({"type": "string", "format": "date", "pattern": NOT_AT_THE_ENDS})
class DayField(serializers.Field):
    default_error_messages = {
        "invalid": _("Give a date as 2026-12-10 (not 0001-01-01 or 9999-12-31).")
    }

    def to_internal_value(self, data) -> date:
        if not isinstance(data, str) or not ISO_DATE.fullmatch(data):
            self.fail("invalid")
        try:
            return date.fromisoformat(data)
        except ValueError:
            raise serializers.ValidationError(
                self.error_messages["invalid"], code="invalid"
            ) from None

    def to_representation(self, value):
        return value.isoformat()


WALL_TIME_PATTERN = "^([01][0-9]|2[0-3]):[0-5][0-9]$"


class AlertSendSerializer(serializers.Serializer):
    """Now (an empty body), at one moment, or at a wall-clock time in each zone."""

    at = MomentField(
        required=False,
        help_text="Send at this moment. A moment already past sends now.",
    )
    local_date = DayField(
        required=False,
        help_text="With local_time: send on this date at that time in each "
        "recipient organization's own time zone.",
    )
    local_time = StrictCharField(
        required=False,
        trim_whitespace=False,
        validators=[PatternValidator(WALL_TIME_PATTERN, _("Give a time as 09:00."))],
        help_text="Wall-clock time, 24 h: 09:00.",
    )

    def validate(self, data):
        if "at" in data and ("local_date" in data or "local_time" in data):
            raise serializers.ValidationError(
                {"at": [_("Give `at`, or `local_date` and `local_time`, not both.")]}
            )
        for given, missing in (
            ("local_date", "local_time"),
            ("local_time", "local_date"),
        ):
            if given in data and missing not in data:
                raise serializers.ValidationError(
                    {missing: [_("Give local_date and local_time together.")]}
                )
        if "local_time" in data:
            hours, minutes = data["local_time"].split(":")
            data["local_time"] = time(int(hours), int(minutes))
        return data


class AlertSendScheme(OpenApiSerializerExtension):
    """What validate() says, in the schema: `at`, or `local_date` with
    `local_time`, or neither (now)."""

    target_class = AlertSendSerializer

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_basic_serializer(self.target, direction)
        local = [{"required": ["local_date"]}, {"required": ["local_time"]}]
        schema["anyOf"] = [
            {"required": ["at"], "not": {"anyOf": local}},
            {"required": ["local_date", "local_time"], "not": {"required": ["at"]}},
            {"not": {"anyOf": [{"required": ["at"]}, *local]}},
        ]
        return schema


class AlertTestSerializer(serializers.Serializer):
    contact = id_field(
        required=False,
        help_text="Show the email as this contact of the audience gets it (an id "
        "from the registry); left out: the first of the matching table.",
    )


class AlertTestSentSerializer(serializers.Serializer):
    sent_to = serializers.EmailField(help_text="Your own address: tests go only there.")


# --- The matching table ---------------------------------------------------------


class RecipientOrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    country = serializers.CharField()
    city = serializers.CharField()


class RecipientMissionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    city = serializers.CharField()
    host_country = serializers.CharField()


class RecipientRowSerializer(serializers.Serializer):
    """One organization of the audience, as its contacts' emails will show it."""

    organization = RecipientOrganizationSerializer()
    contacts = serializers.IntegerField(help_text="Contacts the alert goes to.")
    skipped = serializers.IntegerField(
        help_text="Contacts left out: unsubscribed or bouncing."
    )
    languages = serializers.ListField(
        child=serializers.CharField(), help_text="The versions its contacts get."
    )
    mission = RecipientMissionSerializer(
        allow_null=True,
        help_text="Its nearest mission of the target country, or the one chosen for "
        "it; null when there is none to match.",
    )
    mission_abroad = serializers.BooleanField(
        help_text="The mission is outside the organization's country."
    )
    mission_chosen = serializers.BooleanField(
        help_text="An organizer chose the mission over the nearest."
    )
    local_date = serializers.DateField(help_text="The action's date there.")
    starts = serializers.CharField(help_text="Local wall-clock time: 10:00.")
    ends = serializers.CharField(allow_null=True)
    time_zone = serializers.CharField()
    starts_at = serializers.DateTimeField(help_text="The same moment in UTC.")
