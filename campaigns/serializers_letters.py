"""The organizers' letters API: what it reads and what it answers
(campaigns.api_letters). As in the alerts API, the schema states the input rules
as patterns: a request that does not match is a 400 naming the field, and one
that matches but names what is not there (a mission, a target) is a 422."""

from __future__ import annotations

import base64
import binascii

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ima_site.api import PatternValidator, StrictBooleanField, StrictCharField

from .models import TargetReply
from .serializers import LetterStatusField, ReplyKindField, TargetKindField
from .serializers_alerts import (
    COUNTRY_PATTERN,
    id_field,
    language_field,
)

# The bytes of a reply's PDF that fit, base64-encoded, in a request body Django
# accepts, with room for the other fields.
API_ATTACHMENT_LIMIT = min(
    settings.LETTER_UPLOAD_LIMIT,
    (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 64 * 1024) * 3 // 4,
)
EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,63}$"


class DeliveryStateSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="queued, sending, sent or failed.")
    attempts = serializers.IntegerField()
    sent_at = serializers.DateTimeField(allow_null=True)
    message_id = serializers.CharField(help_text="The email's Message-ID.")
    smtp_response = serializers.CharField(
        help_text="What the mail server answered, where the backend tells."
    )
    last_error = serializers.CharField()


class OrganizerTargetSerializer(serializers.Serializer):
    """A target as organizers see it: with its address and its delivery."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    email = serializers.EmailField()
    language = serializers.CharField(help_text="Empty: the letter's original.")
    kind = TargetKindField()
    mission = serializers.IntegerField(allow_null=True)
    country = serializers.CharField(help_text="A mission's host country; empty else.")
    city = serializers.CharField()
    delivery = DeliveryStateSerializer(allow_null=True)


class TargetCreateSerializer(serializers.Serializer):
    """One of: `missions_of` (every mission of a country with an address),
    `mission` (one mission of the directory), or `name` and `email`."""

    missions_of = StrictCharField(
        required=False,
        validators=[PatternValidator(COUNTRY_PATTERN, _("An ISO 3166 country code."))],
        help_text="Every mission of this country (ISO 3166, e.g. MY) that has an "
        "email address; those already targets are skipped.",
    )
    mission = id_field(required=False, help_text="A mission of the directory.")
    name = StrictCharField(
        required=False, max_length=300, help_text="Another authority's name."
    )
    email = StrictCharField(
        required=False,
        max_length=254,
        validators=[PatternValidator(EMAIL_PATTERN, _("An email address."))],
        help_text="Another authority's address.",
    )
    language = language_field(
        required=False,
        help_text="The cover text's language for this target; left out: the "
        "letter's original.",
    )

    def validate(self, data):
        ways = [key for key in ("missions_of", "mission", "name") if key in data]
        if len(ways) != 1:
            raise serializers.ValidationError(
                _("Give one of: missions_of, mission, or name with email.")
            )
        if "name" in data and "email" not in data:
            raise serializers.ValidationError({"email": [_("An authority needs one.")]})
        if "email" in data and "name" not in data:
            raise serializers.ValidationError({"name": [_("Name the authority.")]})
        if "name" in data and not data["name"].strip():
            raise serializers.ValidationError({"name": [_("Name the authority.")]})
        return data


class TargetListSerializer(serializers.Serializer):
    version = serializers.CharField(
        help_text="A fingerprint of the targets: give it to deliver/ as "
        "`targets_version` to deliver only the list you read."
    )
    targets = OrganizerTargetSerializer(many=True)


class TargetsAddedSerializer(TargetListSerializer):
    added = serializers.IntegerField(help_text="How many targets were added.")


class DeliverSerializer(serializers.Serializer):
    test = StrictBooleanField(
        default=False,
        help_text="true: one email marked [TEST] to your own address, nothing to "
        "the targets, signing stays open.",
    )
    targets_version = StrictCharField(
        required=False,
        max_length=64,
        help_text="The `version` of the targets as you read them (GET targets/): "
        "if they changed since, nothing is delivered (409).",
    )


class DeliverAnswerSerializer(serializers.Serializer):
    status = LetterStatusField()
    test_sent_to = serializers.EmailField(
        allow_null=True, help_text="Where the test goes (your own address)."
    )
    targets = serializers.IntegerField()


class OrganizerReplySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.IntegerField(source="target_id")
    target_name = serializers.CharField(source="target.name")
    kind = ReplyKindField()
    received_on = serializers.DateField()
    text = serializers.CharField()
    published = serializers.BooleanField()
    has_attachment = serializers.SerializerMethodField()
    recorded_at = serializers.DateTimeField()

    def get_has_attachment(self, reply) -> bool:
        return bool(reply.attachment)


class ReplyCreateSerializer(serializers.Serializer):
    target = id_field(help_text="The target that answered (an id from targets).")
    kind = StrictCharField(
        default=TargetReply.Kind.REPLY,
        validators=[PatternValidator("^(reply|refusal)$", _("reply or refusal."))],
        help_text="reply, or refusal of the letter.",
    )
    received_on = serializers.DateField(help_text="When the answer came.")
    text = StrictCharField(
        required=False, default="", allow_blank=True, max_length=20_000
    )
    published = StrictBooleanField(
        default=False, help_text="Shown on the campaign and letter pages."
    )
    attachment = StrictCharField(
        required=False,
        max_length=4 * -(-API_ATTACHMENT_LIMIT // 3),
        validators=[
            PatternValidator("^[A-Za-z0-9+/]*={0,2}$", _("The PDF in base64."))
        ],
        help_text="The answer as a PDF, base64-encoded: no JavaScript or embedded "
        "files, and small enough for the request body to stay within "
        "DATA_UPLOAD_MAX_MEMORY_SIZE (a larger one goes through the admin).",
    )

    def validate_attachment(self, value: str) -> bytes:
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError(_("This is not base64.")) from None
