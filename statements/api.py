from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from ima_site.api import BAD_REQUEST, NOT_FOUND, UNAUTHORIZED
from statements.models import Link, MediaContact, Statement
from statements.serializers import (
    StatementDetailSerializer,
    StatementFilterSerializer,
    StatementListSerializer,
)
from statements.services import EDIT_PERMISSION
from statements.views import filter_statements


@extend_schema_view(
    list=extend_schema(
        parameters=[StatementFilterSerializer],
        responses={
            200: StatementListSerializer(many=True),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
        },
        summary="Published statements, newest first, with the site's filters.",
    ),
    retrieve=extend_schema(
        responses={
            200: StatementDetailSerializer,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
        },
        summary="One published statement with all its versions.",
    ),
)
class StatementViewSet(viewsets.ReadOnlyModelViewSet):
    """Statements as the public sees them; organizers also see drafts."""

    lookup_field = "slug"
    # Django's slug converter: the schema then tells clients what a slug can be.
    lookup_value_regex = "[-a-zA-Z0-9_]+"

    def get_serializer_class(self):
        if self.action == "retrieve":
            return StatementDetailSerializer
        return StatementListSerializer

    def get_queryset(self):
        queryset = Statement.objects.all()
        if not self.request.user.has_perm(EDIT_PERMISSION):
            queryset = queryset.public()
        queryset = queryset.with_page_data()
        if self.action == "retrieve":
            return queryset.prefetch_related(
                Prefetch("links", queryset=Link.objects.order_by("position", "id")),
                Prefetch(
                    "contacts", queryset=MediaContact.objects.order_by("position")
                ),
            )
        # A plain dict: with a QueryDict, DRF takes an empty value ("?kind=") for
        # a missing one, and the schema's enum would not hold.
        filters = StatementFilterSerializer(data=self.request.query_params.dict())
        filters.is_valid(raise_exception=True)
        data = dict(filters.validated_data)
        data["q"] = data.pop("search", "")
        return filter_statements(queryset, data)
