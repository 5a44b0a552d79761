from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.response import Response

from campaigns import letter_public, public
from campaigns.models import Mission
from campaigns.serializers import (
    CampaignDetailSerializer,
    CampaignListSerializer,
    LetterSerializer,
    MissionFilterSerializer,
    MissionSerializer,
    OrganizationFilterSerializer,
    OrganizationSerializer,
)
from ima_site.api import BAD_REQUEST, UNAUTHORIZED, error
from signatories.models import Organization

PAGE_NOT_FOUND = error("No such page.")


@extend_schema_view(
    list=extend_schema(
        responses={
            200: CampaignListSerializer(many=True),
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        summary="Public campaigns (active, won, closed), newest first.",
    ),
    retrieve=extend_schema(
        responses={
            200: CampaignDetailSerializer,
            401: UNAUTHORIZED,
            404: error("No such public campaign."),
        },
        summary="One campaign with its timeline and actions. Before an action, "
        "only how many cities pledged it; after it, its approved reports.",
    ),
)
class CampaignViewSet(viewsets.ReadOnlyModelViewSet):
    """Campaigns as the public sees them: never a draft."""

    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    serializer_class = CampaignListSerializer

    def get_serializer_class(self):
        if self.action == "retrieve":
            return CampaignDetailSerializer
        return CampaignListSerializer

    def get_queryset(self):
        return public.public_campaigns()

    def retrieve(self, request, *args, **kwargs):
        campaign = self.get_object()
        serializer = CampaignDetailSerializer(
            campaign,
            context={
                "request": request,
                "timeline": public.timeline(campaign, get_language()),
                "actions": public.public_actions(campaign),
            },
        )
        return Response(serializer.data)


class FilteredList(mixins.ListModelMixin, viewsets.GenericViewSet):
    filter_serializer_class: type = MissionFilterSerializer

    def filters(self) -> dict:
        # A plain dict: with a QueryDict, DRF takes an empty value for a missing one.
        filters = self.filter_serializer_class(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        return dict(filters.validated_data)


@extend_schema_view(
    list=extend_schema(
        parameters=[MissionFilterSerializer],
        responses={
            200: MissionSerializer(many=True),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        summary="The directory of diplomatic missions (public directory data).",
    )
)
class MissionViewSet(FilteredList):
    serializer_class = MissionSerializer
    filter_serializer_class = MissionFilterSerializer

    def get_queryset(self):
        return Mission.objects.filter(**self.filters()).order_by(
            "represented_country", "host_country", "city", "kind", "id"
        )


@extend_schema_view(
    list=extend_schema(
        parameters=[OrganizationFilterSerializer],
        responses={
            200: OrganizationSerializer(many=True),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        summary="Member organizations of the alliance that agreed to be listed; "
        "never organizations that only signed.",
    )
)
class OrganizationViewSet(FilteredList):
    serializer_class = OrganizationSerializer
    filter_serializer_class = OrganizationFilterSerializer

    def get_queryset(self):
        return (
            Organization.objects.filter(is_member=True, listed=True, **self.filters())
            .only("name", "acronym", "country", "city", "sector")
            .order_by("country", "name", "id")
        )


@extend_schema_view(
    list=extend_schema(
        responses={
            200: LetterSerializer(many=True),
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        summary="Sign-on letters of public statements and their delivery, most "
        "recently delivered first.",
    ),
    retrieve=extend_schema(
        responses={
            200: LetterSerializer,
            401: UNAUTHORIZED,
            404: error("No letter for a public statement with this slug."),
        },
        summary="One sign-on letter's delivery: the targets it went to, when, "
        "their answers, and the published replies.",
    ),
)
class LetterViewSet(viewsets.ReadOnlyModelViewSet):
    """What the public may see of a letter's delivery (campaigns.letter_public)."""

    lookup_field = "statement__slug"
    lookup_url_kwarg = "statement_slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    serializer_class = LetterSerializer

    def get_queryset(self):
        return letter_public.public_letters()

    def get_serializer(self, instance=None, *args, **kwargs):
        # The serializer reads records, built from the prefetched letters.
        language = get_language()
        if kwargs.get("many"):
            instance = [letter_public.letter_record(x, language) for x in instance]
        elif instance is not None:
            instance = letter_public.letter_record(instance, language)
        return super().get_serializer(instance, *args, **kwargs)
