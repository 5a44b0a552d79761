from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import ValidationError

from statements.forms import StatementFilterForm
from statements.models import Link, MediaContact, Statement
from statements.serializers import StatementDetailSerializer, StatementListSerializer
from statements.services import EDIT_PERMISSION
from statements.views import filter_statements

FILTER_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="Full-text search."),
    OpenApiParameter("kind", OpenApiTypes.STR, enum=Statement.Kind.values),
    OpenApiParameter("country", OpenApiTypes.STR, description="ISO 3166-1 alpha-2."),
    OpenApiParameter("topic", OpenApiTypes.STR, description="Topic slug."),
    OpenApiParameter("year", OpenApiTypes.INT, description="Year of issue."),
    OpenApiParameter("language", OpenApiTypes.STR, description="Has a version in it."),
]


@extend_schema_view(
    list=extend_schema(
        parameters=FILTER_PARAMETERS,
        summary="Published statements, newest first, with the site's filters.",
    ),
    retrieve=extend_schema(summary="One published statement with all its versions."),
)
class StatementViewSet(viewsets.ReadOnlyModelViewSet):
    """Statements as the public sees them; organizers also see drafts."""

    lookup_field = "slug"

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
        data = self.request.query_params.copy()
        data["q"] = data.get("search", "")
        form = StatementFilterForm(data)
        if not form.is_valid():
            errors = {("search" if k == "q" else k): v for k, v in form.errors.items()}
            raise ValidationError(errors)
        return filter_statements(queryset, form.cleaned_data)
