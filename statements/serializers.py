from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from statements.models import Link, MediaContact, Statement, StatementVersion


class VersionSerializer(serializers.ModelSerializer):
    body_html = serializers.SerializerMethodField(
        help_text="The body rendered from Markdown and sanitized."
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = StatementVersion
        fields = [
            "language", "is_original", "title", "subtitle", "summary", "body",
            "body_html", "url",
        ]  # fmt: skip

    def get_body_html(self, version) -> str:
        return version.body_html()

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

    subtitle_original = serializers.SerializerMethodField()

    def get_subtitle_original(self, statement) -> str:
        return statement.original_version().subtitle
