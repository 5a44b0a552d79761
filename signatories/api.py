from django.shortcuts import get_object_or_404
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ima_site.api import (
    BAD_REQUEST,
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHORIZED,
    UNSUPPORTED,
    error,
)
from ima_site.clients import client_ip
from ima_site.tokens import IsOrganizer, is_organizer
from signatories import services
from signatories.exports import csv_response
from signatories.forms import SignForm, screen_signer
from signatories.models import Signature
from signatories.serializers import (
    SignatureAcceptedSerializer,
    SignatureRequestSerializer,
    SignatureSerializer,
)
from signatories.services.exports import EXPORT_EMAILS
from signatories.views import COUNT_CACHE_SECONDS, count_payload
from statements.models import Statement


class CanReviewSignatures(permissions.BasePermission):
    """Anyone may sign (POST); only organizers may list (GET)."""

    def has_permission(self, request, view):
        if request.method == "POST":
            return True
        # Still an organizer, now: Django's permissions do not ask whether the user
        # is still staff, and a session outlives a change of role.
        return is_organizer(request.user) and request.user.has_perm(
            "signatories.view_signature"
        )


ORGANIZERS_ONLY = {401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND}


@extend_schema(
    methods=["GET"],
    responses={200: SignatureSerializer(many=True), **ORGANIZERS_ONLY},
    summary="Organizers with the signatures permission: every signature, oldest "
    "first, without emails.",
)
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
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            409: error("Signing is closed (or paused)."),
            415: UNSUPPORTED,
        },
        # Anyone may sign: no credentials needed (a wrong token is still a 401).
        auth=[{"tokenAuth": []}, {"cookieAuth": []}, {}],
        summary="Sign; a confirmation email follows. New, repeat and held signers "
        "get the same answer.",
    )
    def post(self, request, slug):
        statement = get_object_or_404(Statement.objects.public(), slug=slug)
        if not services.signing_is_open(statement):
            return Response({"detail": _("Signing is closed.")}, status=409)
        # First the shape the schema promises (types, patterns, choices), then the
        # form's own rules, which the web form shares.
        request_data = SignatureRequestSerializer(data=request.data)
        request_data.is_valid(raise_exception=True)
        data = dict(request_data.validated_data)
        data["consent"] = "on" if data["consent"] else ""
        # The honeypot: not in the schema, read as the form reads it.
        website = request.data.get("website")
        if website:
            data["website"] = str(website)
        form = SignForm(data, statement=statement)
        if not form.is_valid():
            errors = {
                k: [str(e) for e in v] for k, v in form.errors.items() if k != "started"
            }
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)
        # The honeypot and the limits, as for the form; an API client has no form
        # token and no fill time.
        screening = screen_signer(form, web_form=False)
        services.sign_statement(
            statement=statement,
            data=form.signer_data(source=Signature.Source.API),
            client_ip=client_ip(request),
            suspicion=screening.hold_reason,
        )
        return Response({"status": "check-your-email"}, status=status.HTTP_202_ACCEPTED)


def _flag(request, name: str) -> bool:
    """A query flag: left out (no) or "1" (yes); anything else is named as wrong."""
    value = request.query_params.get(name)
    if value not in (None, "1"):
        raise ValidationError({name: [_("Leave it out, or give 1.")]})
    return value == "1"


class SignatureExport(APIView):
    """Organizers with the export permission: every counted signature as CSV."""

    permission_classes = [permissions.IsAuthenticated, IsOrganizer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "excel",
                OpenApiTypes.STR,
                enum=["1"],
                description="Add a byte order mark.",
            ),
            OpenApiParameter(
                "emails",
                OpenApiTypes.STR,
                enum=["1"],
                description="Add an `email` column, filled for the signers who "
                "asked to be kept informed (confirmed, not held). Needs the "
                "permission signatories.export_signer_emails besides the export "
                "one (403 without it); the audit log records how many addresses "
                "went out.",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error(
                "The user may not export signatories, or asked for emails without "
                "the permission to export them."
            ),
            404: NOT_FOUND,
        },
        summary="Counted signatures as CSV; with emails=1, the addresses of the "
        "signers who asked to be kept informed.",
    )
    def get(self, request, slug):
        if not request.user.has_perm("signatories.export_signatures"):
            raise PermissionDenied
        excel = _flag(request, "excel")
        emails = _flag(request, "emails")
        if emails and not request.user.has_perm(EXPORT_EMAILS):
            raise PermissionDenied(
                _("Exporting signers' emails needs its own permission.")
            )
        statement = get_object_or_404(Statement, slug=slug)
        export = services.export_signatures(
            statement=statement,
            by=request.user,
            via="api",
            excel=excel,
            emails=emails,
        )
        return csv_response(export)


class StatementCount(APIView):
    """The public count; served from the cache for a few seconds (no query then)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: NOT_FOUND})
    def get(self, request, slug):
        payload = count_payload(slug)
        if payload is None:
            raise NotFound
        response = Response(payload)
        patch_cache_control(response, public=True, max_age=COUNT_CACHE_SECONDS)
        return response
