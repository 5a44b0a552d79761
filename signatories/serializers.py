from rest_framework import serializers

from signatories.models import Signature


class SignatureRequestSerializer(serializers.Serializer):
    """The signing form's fields, for the OpenAPI schema (validation is the form's)."""

    kind = serializers.ChoiceField(choices=Signature.Kind.choices, default="person")
    name = serializers.CharField(max_length=120)
    email = serializers.EmailField()
    country = serializers.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    organization = serializers.CharField(max_length=160, required=False)
    role = serializers.CharField(max_length=120, required=False)
    city = serializers.CharField(max_length=120, required=False)
    display = serializers.ChoiceField(choices=Signature.Display.choices, default="full")
    consent = serializers.BooleanField(default=False)
    language = serializers.CharField(max_length=8, default="en")


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
