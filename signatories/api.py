from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from ima_site.clients import client_ip
from ima_site.models import record_audit_entry
from signatories import services
from signatories.exports import stream_csv
from signatories.forms import SignForm, new_form_token
from signatories.models import Signature
from signatories.serializers import (
    SignatureAcceptedSerializer,
    SignatureRequestSerializer,
    SignatureSerializer,
)
from signatories.views import COUNT_CACHE_SECONDS, count_payload
from statements.models import Statement


class CanReviewSignatures(permissions.BasePermission):
    """Anyone may sign (POST); only organizers may list (GET)."""

    def has_permission(self, request, view):
        if request.method == "POST":
            return True
        return request.user.has_perm("signatories.view_signature")


class Signatures(generics.ListAPIView):
    """POST: sign, with the web form's rules and answers. GET: organizers' list."""

    serializer_class = SignatureSerializer
    permission_classes = [CanReviewSignatures]

    def get_queryset(self):
        statement = get_object_or_404(Statement, slug=self.kwargs["slug"])
        return Signature.objects.filter(statement=statement).order_by("id")

    @extend_schema(
        request=SignatureRequestSerializer,
        responses={
            202: SignatureAcceptedSerializer,
            400: OpenApiResponse(description="A field is missing or wrong; named."),
            409: OpenApiResponse(description="Signing is closed."),
        },
        summary="Sign; a confirmation email follows. New, repeat and held signers "
        "get the same answer.",
    )
    def post(self, request, slug):
        statement = get_object_or_404(Statement.objects.public(), slug=slug)
        if not services.signing_is_open(statement):
            return Response({"detail": "Signing is closed."}, status=409)
        data = {key: request.data.get(key) for key in SignForm.base_fields}
        data = {key: value for key, value in data.items() if value is not None}
        data["consent"] = (
            "on" if request.data.get("consent") in (True, "true", "on", "1") else ""
        )
        data.setdefault("kind", "person")
        data.setdefault("display", "full")
        data.setdefault("language", "en")
        data["started"] = new_form_token()  # API clients have no form to fill
        form = SignForm(data, statement=statement)
        if not form.is_valid():
            errors = {
                k: [str(e) for e in v] for k, v in form.errors.items() if k != "started"
            }
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        suspicion = "honeypot" if form.cleaned_data.get("website") else ""
        services.sign_statement(
            statement=statement,
            data=form.signer_data(source=Signature.Source.API),
            client_ip=client_ip(request),
            suspicion=suspicion,
        )
        return Response({"status": "check-your-email"}, status=status.HTTP_202_ACCEPTED)


class SignatureExport(APIView):
    """Organizers with the export permission: every counted signature as CSV."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "excel",
                OpenApiTypes.STR,
                enum=["1"],
                description="Add a byte order mark.",
            )
        ],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    def get(self, request, slug):
        if not request.user.has_perm("signatories.export_signatures"):
            raise PermissionDenied
        statement = get_object_or_404(Statement, slug=slug)
        record_audit_entry(
            actor=request.user, action="signatures.export", obj=statement,
            details={"via": "api"},
        )  # fmt: skip
        response = StreamingHttpResponse(
            stream_csv(
                Signature.objects.filter(statement=statement).counted(),
                excel=request.query_params.get("excel") == "1",
            ),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="signatories-{slug}.csv"'
        )
        return response


class StatementCount(APIView):
    """The public count; served from the cache for a few seconds (no query then)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: None})
    def get(self, request, slug):
        payload = count_payload(slug)
        if payload is None:
            raise NotFound
        response = Response(payload)
        patch_cache_control(response, public=True, max_age=COUNT_CACHE_SECONDS)
        return response
