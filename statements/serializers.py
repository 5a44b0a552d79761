from django.conf import settings
from django.conf.locale import LANG_INFO
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ima_site.api import PatternValidator, StrictCharField
from ima_site.languages import EXTRA_LANGUAGES, is_known_language
from statements.models import Link, MediaContact, Statement, StatementVersion

CONTENT_LANGUAGES = sorted(
    code for code in {*LANG_INFO, *EXTRA_LANGUAGES} if is_known_language(code)
)


class DigitsIntegerField(serializers.IntegerField):
    """An integer in a query string, written in ASCII digits only: int() would also
    take " 2026", "٢٠٢٦" and "2026.0", which the schema's integer does not allow."""

    def to_internal_value(self, data):
        if not isinstance(data, str) or not data.isascii() or not data.isdigit():
            self.fail("invalid")
        return super().to_internal_value(data)


class SearchField(StrictCharField):
    """Any text: PostgreSQL cannot hold a NUL, and as a separator it changes no
    search, so it becomes a space (before DRF's validator would refuse it)."""

    def to_internal_value(self, data):
        return super().to_internal_value(data).replace("\x00", " ")


class StatementFilterSerializer(serializers.Serializer):
    """The list's query parameters: the web list's filters, over every value they
    can take. The web form offers only what public statements use; the API answers a
    country or year without statements with an empty list."""

    search = SearchField(
        required=False, allow_blank=True, max_length=200, help_text="Full-text search."
    )
    kind = serializers.ChoiceField(choices=Statement.Kind.choices, required=False)
    # A code that no statement names (or no country has) matches nothing.
    country = StrictCharField(
        required=False,
        trim_whitespace=False,
        validators=[
            PatternValidator("^[A-Z]{2}$", _("A country's ISO code, such as MY."))
        ],
        help_text="ISO 3166-1 alpha-2, in capitals.",
    )
    topic = StrictCharField(
        required=False,
        trim_whitespace=False,
        max_length=80,
        validators=[PatternValidator("^[-a-zA-Z0-9_]+$", _("A topic's slug."))],
        help_text="Topic slug.",
    )
    year = DigitsIntegerField(
        required=False, min_value=1, max_value=9999, help_text="Year of issue."
    )
    language = serializers.ChoiceField(
        choices=CONTENT_LANGUAGES, required=False, help_text="Has a version in it."
    )


# The text outside the body that a version may translate; what it leaves empty
# shows the original's.
VERSION_TEXT_FIELDS = ["slogans", "addressees", "signed_by_role"]


class VersionSerializer(serializers.ModelSerializer):
    body_html = serializers.SerializerMethodField(
        help_text="The body rendered from Markdown and sanitized."
    )
    url = serializers.SerializerMethodField()
    # As this version's page shows them: a client that only shows text needs no
    # fallback rule of its own.
    slogans = serializers.ListField(
        child=serializers.CharField(max_length=300),
        source="shown_slogans",
        read_only=True,
        help_text="Slogans and demands in this version; the original's if it has "
        "none of its own.",
    )
    addressees = serializers.CharField(
        source="shown_addressees",
        max_length=500,
        read_only=True,
        help_text="Addressees in this version; the original's if it has none of its "
        "own.",
    )
    signed_by_role = serializers.CharField(
        source="shown_signed_by_role",
        max_length=200,
        read_only=True,
        help_text="Role of the signer in this version; the original's if it has none "
        "of its own.",
    )
    from_original = serializers.SerializerMethodField(
        help_text="Which of slogans, addressees and signed_by_role this version "
        "does not translate: they hold the original's text, in the original's "
        "language. Always empty for the original."
    )

    class Meta:
        model = StatementVersion
        fields = [
            "language", "is_original", "title", "subtitle", "summary", "body",
            "body_html", "slogans", "addressees", "signed_by_role", "from_original",
            "url",
        ]  # fmt: skip

    def get_body_html(self, version) -> str:
        return version.body_html()

    @extend_schema_field(
        serializers.ListField(
            child=serializers.ChoiceField(choices=VERSION_TEXT_FIELDS)
        )
    )
    def get_from_original(self, version) -> list[str]:
        if version.is_original:
            return []
        return [name for name in VERSION_TEXT_FIELDS if not getattr(version, name)]

    def get_url(self, version) -> str:
        return settings.SITE_URL + version.get_absolute_url()


class LinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Link
        fields = ["title", "url", "source"]


class MediaContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaContact
        fields = ["name", "role", "organization", "phone", "email", "team"]


class StatementListSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    original_language = serializers.SerializerMethodField()
    languages = serializers.SerializerMethodField()
    topics = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Statement
        fields = [
            "slug", "kind", "status", "title", "summary", "issued_on", "dateline",
            "issuer", "countries", "topics", "original_language", "languages",
            "accepts_signatures", "publish_at", "url",
        ]  # fmt: skip

    def get_title(self, statement) -> str:
        return statement.original_version().title

    def get_summary(self, statement) -> str:
        return statement.original_version().description()

    def get_original_language(self, statement) -> str:
        return statement.original_version().language

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_languages(self, statement):
        return statement.languages()

    def get_url(self, statement) -> str:
        return settings.SITE_URL + statement.get_absolute_url()


class StatementDetailSerializer(StatementListSerializer):
    versions = VersionSerializer(many=True, read_only=True)
    links = LinkSerializer(many=True, read_only=True)
    media_contacts = MediaContactSerializer(
        many=True, read_only=True, source="contacts"
    )

    class Meta(StatementListSerializer.Meta):
        fields = [
            *StatementListSerializer.Meta.fields,
            "subtitle_original", "signed_by", "signed_by_role", "addressees",
            "slogans", "signature_goal", "versions", "links", "media_contacts",
        ]  # fmt: skip
        extra_kwargs = {
            name: {
                "help_text": "The original's text; each of `versions` carries "
                "its own, as shown."
            }
            for name in VERSION_TEXT_FIELDS
        }

    subtitle_original = serializers.SerializerMethodField()

    def get_subtitle_original(self, statement) -> str:
        return statement.original_version().subtitle
