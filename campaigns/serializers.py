"""The public reading API: campaigns, missions, member organizations and the
delivery of sign-on letters."""

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.letter_public import LetterRecord, PublicReply
from campaigns.models import Action, Campaign, CampaignStatement, Mission
from campaigns.public import PublicAction, PublicReport, TimelineEntry
from ima_site.api import PatternValidator, StrictCharField
from signatories.models import Organization
from statements.markdown import render_markdown

COUNTRY_RULE = _("A country's ISO code, such as MY.")


def country_filter(help_text: str) -> StrictCharField:
    return StrictCharField(
        required=False,
        trim_whitespace=False,
        validators=[PatternValidator("^[A-Z]{2}$", COUNTRY_RULE)],
        help_text=help_text,
    )


class MissionFilterSerializer(serializers.Serializer):
    represented_country = country_filter(
        "The country the missions represent (ISO 3166-1 alpha-2, in capitals)."
    )
    host_country = country_filter(
        "The country the missions are in (ISO 3166-1 alpha-2, in capitals)."
    )


class OrganizationFilterSerializer(serializers.Serializer):
    country = country_filter("ISO 3166-1 alpha-2, in capitals.")


# A pattern, not an enum: drf-spectacular names enums after their field, and
# "status" already names other choice sets (a warning that fails `check --deploy`).
# Drafts never reach the public.
@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(active|won|closed)$",
        "description": "active, won or closed.",
    }
)
class PublicStatusField(serializers.CharField):
    pass


class CampaignListSerializer(serializers.ModelSerializer):
    status = PublicStatusField(read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "slug", "title", "summary", "status", "language", "target_country",
            "target_authority", "hashtag", "starts_on", "ends_on", "demands", "url",
        ]  # fmt: skip

    def get_url(self, campaign) -> str:
        return settings.SITE_URL + campaign.get_absolute_url()


class TimelineEntrySerializer(serializers.Serializer):
    statement = serializers.SlugField(source="statement.slug")
    role = serializers.ChoiceField(choices=CampaignStatement.Role.choices)
    date = serializers.DateField(source="on", allow_null=True)
    title = serializers.CharField()
    url = serializers.SerializerMethodField()
    signatures = serializers.IntegerField(
        allow_null=True,
        help_text="The public count of a sign-on letter taking signatures; null "
        "otherwise.",
    )

    def get_url(self, entry: TimelineEntry) -> str:
        return settings.SITE_URL + entry.url


class PlaceSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="place_name")
    address = serializers.CharField(source="place_address")
    city = serializers.CharField(source="place_city")
    country = serializers.CharField(source="place_country")
    latitude = serializers.FloatField(source="place_latitude", allow_null=True)
    longitude = serializers.FloatField(source="place_longitude", allow_null=True)
    time_zone = serializers.CharField(source="place_time_zone")

    class Meta:
        model = Action
        fields = [
            "name", "address", "city", "country", "latitude", "longitude", "time_zone",
        ]  # fmt: skip


class HeldPlaceSerializer(serializers.Serializer):
    city = serializers.CharField()
    country = serializers.CharField()
    actions = serializers.IntegerField()
    people = serializers.IntegerField()


class ReportSerializer(serializers.Serializer):
    organization = serializers.CharField(
        help_text="Empty when the organization asked not to be listed."
    )
    city = serializers.CharField()
    people = serializers.IntegerField(allow_null=True)
    account = serializers.CharField()
    press_links = serializers.ListField(child=serializers.URLField())
    photos = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_photos(self, report: PublicReport) -> list[str]:
        return [settings.SITE_URL + url for url in report.photo_urls]


class ActionSerializer(serializers.Serializer):
    """An action; who pledged it is never said, only how many cities, until it is
    over; then the held actions with an approved report, and those reports."""

    slug = serializers.SlugField(source="action.slug")
    kind = serializers.ChoiceField(source="action.kind", choices=Action.Kind.choices)
    title = serializers.CharField(source="action.title")
    date = serializers.DateField(source="action.date")
    starts = serializers.TimeField(
        source="action.starts", format="%H:%M", help_text="Local wall-clock time."
    )
    ends = serializers.TimeField(
        source="action.ends", format="%H:%M", allow_null=True,
        help_text="Local wall-clock time.",
    )  # fmt: skip
    where = serializers.ChoiceField(source="action.where", choices=Action.Where.choices)
    place = serializers.SerializerMethodField()
    instructions = serializers.CharField(source="action.instructions")
    instructions_html = serializers.SerializerMethodField()
    is_over = serializers.BooleanField()
    pledged_cities = serializers.IntegerField(
        help_text="Before the action: how many cities pledged it. 0 afterwards."
    )
    held = HeldPlaceSerializer(source="held_places", many=True)
    reports = ReportSerializer(many=True)

    @extend_schema_field(PlaceSerializer(allow_null=True))
    def get_place(self, item: PublicAction):
        if item.action.where != Action.Where.PLACE:
            return None
        return PlaceSerializer(item.action).data

    def get_instructions_html(self, item: PublicAction) -> str:
        return render_markdown(item.action.instructions)


class CampaignDetailSerializer(CampaignListSerializer):
    body_html = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(CampaignListSerializer.Meta):
        fields = [
            *CampaignListSerializer.Meta.fields, "body", "body_html", "timeline",
            "actions",
        ]  # fmt: skip

    def get_body_html(self, campaign) -> str:
        return render_markdown(campaign.body)

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, campaign):
        entries = self.context["timeline"]
        return TimelineEntrySerializer(entries, many=True).data

    @extend_schema_field(ActionSerializer(many=True))
    def get_actions(self, campaign):
        return ActionSerializer(self.context["actions"], many=True).data


class MissionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Mission
        fields = [
            "id", "represented_country", "host_country", "city", "kind", "name",
            "address", "phone", "website", "latitude", "longitude", "time_zone",
        ]  # fmt: skip


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = ["id", "name", "acronym", "country", "city", "sector"]


def _choice_pattern(name: str, values: list[str], description: str):
    """A read-only string given as a pattern, not an enum: drf-spectacular would
    name an enum after its field, and "status" and "kind" already name others."""
    return extend_schema_field(
        {
            "type": "string",
            "pattern": "^(" + "|".join(values) + ")$",
            "description": description,
        }
    )(type(name, (serializers.CharField,), {}))


LetterStatusField = _choice_pattern(
    "LetterStatusField",
    ["gathering", "compiling", "delivering", "delivered"],
    "gathering (signatures), compiling, delivering or delivered.",
)
TargetKindField = _choice_pattern(
    "TargetKindField",
    ["mission", "authority"],
    "mission (of the directory) or authority (any other target).",
)
ReplyStatusField = _choice_pattern(
    "ReplyStatusField",
    ["none", "replied", "refused"],
    "none (no published answer yet), replied or refused.",
)
ReplyKindField = _choice_pattern(
    "ReplyKindField", ["reply", "refusal"], "reply, or refusal of the letter."
)


class LetterTargetSerializer(serializers.Serializer):
    """A target the letter went to; never its email address."""

    name = serializers.CharField()
    kind = TargetKindField()
    country = serializers.CharField(
        help_text="A mission's host country (ISO 3166-1 alpha-2); empty otherwise."
    )
    city = serializers.CharField(help_text="A mission's city; empty otherwise.")
    delivered_at = serializers.DateTimeField(allow_null=True)
    reply = ReplyStatusField()
    replied_on = serializers.DateField(allow_null=True)


class LetterReplySerializer(serializers.Serializer):
    """A target's answer an organizer published."""

    target = serializers.CharField()
    kind = ReplyKindField()
    received_on = serializers.DateField()
    text = serializers.CharField()
    attachment = serializers.SerializerMethodField()

    def get_attachment(self, reply: PublicReply) -> str | None:
        return (
            settings.SITE_URL + reply.attachment_url if reply.attachment_url else None
        )


class LetterCountsSerializer(serializers.Serializer):
    targets = serializers.IntegerField(help_text="Targets the letter went to.")
    missions = serializers.IntegerField()
    other_targets = serializers.IntegerField(source="others")
    signatures = serializers.IntegerField(
        allow_null=True,
        help_text="The count on the letter as compiled; null before compiling.",
    )


class LetterSerializer(serializers.Serializer):
    """A sign-on letter's public delivery record. Only targets it went to count;
    replies only once published; no email address, no signer."""

    statement = serializers.SlugField(source="statement.slug")
    title = serializers.CharField()
    url = serializers.SerializerMethodField()
    status = LetterStatusField(source="letter.status")
    delivered_at = serializers.DateTimeField(
        source="letter.delivered_at",
        allow_null=True,
        help_text="When delivery finished (the last email went).",
    )
    first_delivered_at = serializers.DateTimeField(
        source="first_sent_at", allow_null=True
    )
    counts = serializers.SerializerMethodField()
    download = serializers.SerializerMethodField(
        help_text="The letter as delivered (PDF), until retention erases the "
        "signers' names; null otherwise."
    )
    pages = serializers.IntegerField(allow_null=True)
    targets = LetterTargetSerializer(many=True)
    replies = LetterReplySerializer(many=True)

    def get_url(self, record: LetterRecord) -> str:
        return settings.SITE_URL + record.url

    @extend_schema_field(LetterCountsSerializer)
    def get_counts(self, record: LetterRecord) -> dict:
        return {
            "targets": record.missions + record.others,
            "missions": record.missions,
            "other_targets": record.others,
            "signatures": record.signatures,
        }

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download(self, record: LetterRecord) -> str | None:
        return settings.SITE_URL + record.download_url if record.download_url else None
