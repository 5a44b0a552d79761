"""The organizers' alert API: write an alert, read its matching table, send a test
to yourself, send it, watch it go.

Who may do what (the admin's rules): every organizer reads every alert, its
matching table and its progress, whoever wrote it — the secretariat is one
team, and a Publisher must read an Editor's draft to send it. Writing an alert
needs campaigns.add_alert (Editors and Publishers); a test goes only to the
caller's own address and needs campaigns.change_alert or send_alert; sending
needs campaigns.send_alert (Publishers) and, when the site asks for review by a
second person, someone other than the alert's author.
"""

from __future__ import annotations

import smtplib
from datetime import UTC
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from ima_site.api import (
    BAD_REQUEST,
    FORBIDDEN,
    UNAUTHORIZED,
    UNSUPPORTED,
    Pagination,
    error,
)
from ima_site.tokens import is_organizer
from signatories.models import Organization

from .alerts import Audience, VersionText, create_alert
from .emails import AlertContent
from .localtime import action_window
from .models import Action, Alert, Mission
from .recipients import Recipient, audience
from .sending import AlertError, alert_progress, send_test_alert, start_alert
from .serializers_alerts import (
    LARGEST_ID,
    AlertCreateSerializer,
    AlertSendSerializer,
    AlertSerializer,
    AlertTestSentSerializer,
    AlertTestSerializer,
    RecipientRowSerializer,
)

NO_ALERT = error("No such alert.")
CONFLICT = error(
    "The alert's state does not allow it: already sent or sending, no text, an "
    "unknown placeholder written in the admin, nobody in its audience."
)


UNPROCESSABLE = error(
    "The body matches the schema, but names what a schema cannot check: an id "
    "that does not exist, a language given twice. The answer names the field."
)


class Unprocessable(APIException):
    """Well formed, but naming something that is not there (an action, a contact
    of the audience) or repeating a language: rules across the data, which no
    schema states. 400 stays for what the schema says."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = gettext_lazy("The request names something that cannot be used.")


class OrganizerWith(permissions.BasePermission):
    """An organizer, now, with the view's `required_permission`."""

    def has_permission(self, request, view):
        return is_organizer(request.user) and request.user.has_perm(
            view.required_permission
        )


def flat_errors(detail: Any, prefix: str = "") -> dict[str, Any]:
    """DRF's nested errors as {"versions[1].body": ["…"]}: every 4xx body of the
    API is one level deep (ima_site.api.ERROR_SCHEMA), and "detail", the request
    as a whole, is a string."""
    errors: dict[str, Any] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                name = prefix or "detail"
            elif isinstance(key, int):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            errors.update(flat_errors(value, name))
    elif isinstance(detail, list) and all(isinstance(item, str) for item in detail):
        errors[prefix or "detail"] = [str(item) for item in detail]
    elif isinstance(detail, list):
        for number, item in enumerate(detail):
            if item:
                errors.update(flat_errors(item, f"{prefix}[{number}]"))
    else:
        errors[prefix or "detail"] = [str(detail)]
    if not prefix and isinstance(errors.get("detail"), list):
        errors["detail"] = " ".join(errors["detail"])
    return errors


def parse(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        raise ValidationError(flat_errors(serializer.errors))
    return dict(serializer.validated_data)


def get_alert(alert_id: int) -> Alert:
    alert = None
    if alert_id <= LARGEST_ID:
        alert = (
            Alert.objects.select_related("action__campaign", "created_by")
            .prefetch_related("versions")
            .filter(pk=alert_id)
            .first()
        )
    if alert is None:
        raise NotFound(_("There is no alert %(id)s.") % {"id": alert_id})
    return alert


def alert_payload(alert: Alert) -> dict:
    """What AlertSerializer shows of an alert, with its progress."""
    versions = sorted(alert.versions.all(), key=lambda v: (not v.is_original, v.id))
    original = versions[0] if versions else None
    return {
        "id": alert.pk,
        "action": alert.action_id,
        "campaign": alert.action.campaign.slug,
        "status": alert.status,
        "language": original.language if original else None,
        "subject": original.subject if original else None,
        "body": original.body if original else None,
        "versions": [
            {"language": v.language, "subject": v.subject, "body": v.body}
            for v in versions[1:]
        ],
        "audience": {
            "countries": alert.countries,
            "sectors": alert.sectors,
            "languages": alert.languages,
            "members_only": alert.members_only,
        },
        "send_at": alert.send_at,
        "send_on_local_date": alert.send_on_local_date,
        "send_at_local_time": alert.send_at_local_time.strftime("%H:%M")
        if alert.send_at_local_time
        else None,
        "created_by": alert.created_by.get_username() if alert.created_by else None,
        "created_at": alert.created_at,
        "frozen_at": alert.frozen_at,
        "progress": alert_progress(alert),
    }


def alert_response(alert: Alert, *, status_code: int = 200) -> Response:
    data = AlertSerializer(alert_payload(alert)).data
    headers = {}
    if status_code == status.HTTP_201_CREATED:
        headers["Location"] = reverse("api-alert", args=[alert.pk])
    return Response(data, status=status_code, headers=headers)


class AlertCreate(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.add_alert"

    @extend_schema(
        request=AlertCreateSerializer,
        responses={
            201: AlertSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            415: UNSUPPORTED,
            422: UNPROCESSABLE,
        },
        summary="Write a draft alert for an action: its text (the original and "
        "translations) and its audience. Nothing is sent.",
    )
    def post(self, request):
        data = parse(AlertCreateSerializer, request)
        action = Action.objects.filter(pk=data["action"]).first()
        if action is None:
            raise Unprocessable(
                {"action": [_("There is no action %(id)s.") % {"id": data["action"]}]}
            )
        languages = [data["language"]]
        for number, version in enumerate(data["versions"]):
            if version["language"] in languages:
                raise Unprocessable(
                    {
                        f"versions[{number}].language": [
                            _("The alert already has a version in %(language)s.")
                            % {"language": version["language"]}
                        ]
                    }
                )
            languages.append(version["language"])
        versions = [
            VersionText(
                language=data["language"], subject=data["subject"], body=data["body"]
            ),
            *(VersionText(**version) for version in data["versions"]),
        ]
        given = data.get("audience") or {}
        chosen = Audience(
            countries=tuple(given.get("countries", ())),
            sectors=tuple(given.get("sectors", ())),
            languages=tuple(given.get("languages", ())),
            members_only=given.get("members_only", True),
        )
        try:
            alert = create_alert(
                action=action, versions=versions, audience=chosen, by=request.user
            )
        except AlertError as problem:
            return Response({"detail": str(problem)}, status=400)
        return alert_response(get_alert(alert.pk), status_code=201)


class AlertDetail(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_alert"

    @extend_schema(
        responses={
            200: AlertSerializer,
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NO_ALERT,
        },
        summary="An alert, its text and audience, and its progress: how many "
        "deliveries are queued, sent, failed, skipped.",
    )
    def get(self, request, id):
        return alert_response(get_alert(id))


def _table(alert: Alert) -> list[dict]:
    """One row per organization of the audience, in the order of the matching
    (organization name): counts and matching only; the page fills in the rest."""
    recipients, skipped = audience(alert)
    rows: dict[int, dict] = {}

    def row_of(recipient: Recipient) -> dict:
        row = rows.get(recipient.organization_id)
        if row is None:
            row = rows[recipient.organization_id] = {
                "recipient": recipient,
                "contacts": 0,
                "skipped": 0,
                "languages": [],
            }
        if recipient.language not in row["languages"]:
            row["languages"].append(recipient.language)
        return row

    for recipient in recipients:
        row_of(recipient)["contacts"] += 1
    for recipient, _reason in skipped:
        row_of(recipient)["skipped"] += 1
    return list(rows.values())


def _fill(alert: Alert, rows: list[dict]) -> list[dict]:
    """The page's organizations, missions and local times: two queries a page."""
    action = (
        AlertContent.from_frozen(alert.pk, alert.frozen_content).action
        if alert.frozen_content
        else alert.action
    )
    recipients = [row["recipient"] for row in rows]
    organizations = Organization.objects.only("name", "country", "city").in_bulk(
        [r.organization_id for r in recipients]
    )
    missions = Mission.objects.only(
        "name", "kind", "city", "host_country", "time_zone"
    ).in_bulk([r.mission_id for r in recipients if r.mission_id])
    filled = []
    for row in rows:
        recipient: Recipient = row["recipient"]
        organization = organizations[recipient.organization_id]
        mission = missions.get(recipient.mission_id) if recipient.mission_id else None
        start, end, zone_name = action_window(
            action, mission, time_zone=recipient.time_zone
        )
        filled.append(
            {
                "organization": {
                    "id": organization.pk,
                    "name": organization.name,
                    "country": organization.country,
                    "city": organization.city,
                },
                "contacts": row["contacts"],
                "skipped": row["skipped"],
                "languages": row["languages"],
                "mission": {
                    "id": mission.pk,
                    "name": mission.name,
                    "kind": mission.kind,
                    "city": mission.city,
                    "host_country": mission.host_country,
                }
                if mission
                else None,
                "mission_abroad": recipient.mission_abroad,
                "mission_chosen": recipient.mission_chosen,
                "local_date": start.date(),
                "starts": start.strftime("%H:%M"),
                "ends": end.strftime("%H:%M") if end else None,
                "time_zone": zone_name,
                "starts_at": start.astimezone(UTC),
            }
        )
    return filled


class AlertRecipients(generics.ListAPIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_alert"
    serializer_class = RecipientRowSerializer
    pagination_class = Pagination
    # The rows are built from the matching (_table), not read from a table; this
    # only tells the schema what the path's id is.
    queryset = Alert.objects.none()

    @extend_schema(
        responses={
            200: RecipientRowSerializer(many=True),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: error("No such alert, or no such page."),
        },
        summary="The matching table: each organization of the audience with its "
        "number of contacts, its mission of the target country and the action's "
        "local date and time there. Never a contact's name or address.",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        alert = get_alert(self.kwargs["id"])
        page = self.paginate_queryset(_table(alert))
        serializer = self.get_serializer(_fill(alert, page or []), many=True)
        return self.get_paginated_response(serializer.data)


class AlertTest(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_alert"

    @extend_schema(
        request=AlertTestSerializer,
        responses={
            200: AlertTestSentSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error("The user may neither change nor send alerts."),
            404: NO_ALERT,
            409: error(
                "The caller's account has no email address, or the alert cannot be "
                "shown: no text, an unknown placeholder, nobody in its audience."
            ),
            415: UNSUPPORTED,
            422: UNPROCESSABLE,
            502: error("The mail server did not take the test; try again."),
        },
        summary="Send the alert, as one contact of the audience would get it, to "
        "your own address (and nowhere else), now. Writes no delivery.",
    )
    def post(self, request, id):
        alert = get_alert(id)
        data = parse(AlertTestSerializer, request)
        to = request.user.email
        if not to:
            return Response(
                {
                    "detail": _(
                        "Your account has no email address: tests go only to your "
                        "own, so add one to your account first."
                    )
                },
                status=status.HTTP_409_CONFLICT,
            )
        contact_id = data.get("contact")
        if contact_id is not None:
            recipients, skipped = audience(alert)
            everyone = {r.contact_id for r in recipients} | {
                r.contact_id for r, _reason in skipped
            }
            if contact_id not in everyone:
                raise Unprocessable(
                    {"contact": [_("This contact is not in the alert's audience.")]}
                )
        try:
            send_test_alert(alert=alert, to=to, by=request.user, contact_id=contact_id)
        except AlertError as problem:
            return Response({"detail": str(problem)}, status=status.HTTP_409_CONFLICT)
        except (smtplib.SMTPException, OSError) as problem:
            return Response(
                {
                    "detail": _("The mail server did not take the test: %(error)s")
                    % {"error": problem}
                },
                status=status.HTTP_502_BAD_GATEWAY,
            )
        return Response(AlertTestSentSerializer({"sent_to": to}).data)


class AlertSend(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.send_alert"

    @extend_schema(
        request=AlertSendSerializer,
        responses={
            202: OpenApiResponse(
                AlertSerializer,
                description="Sending (status sending) or scheduled (status "
                "scheduled); the progress shows the deliveries written.",
            ),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error(
                "The user may not send alerts, or wrote this one while the site "
                "asks for review by a second person."
            ),
            404: NO_ALERT,
            409: CONFLICT,
            415: UNSUPPORTED,
        },
        summary="Send the alert now (an empty body), at a moment (`at`), or on a "
        "date at a wall-clock time in each recipient organization's own zone "
        "(`local_date` and `local_time`). Its text is fixed from then on; a second "
        "send is a 409 and sends nothing.",
    )
    def post(self, request, id):
        alert = get_alert(id)
        data = parse(AlertSendSerializer, request)
        try:
            alert = start_alert(
                alert=alert,
                by=request.user,
                at=data.get("at"),
                local_date=data.get("local_date"),
                local_time=data.get("local_time"),
            )
        except AlertError as problem:
            return Response({"detail": str(problem)}, status=status.HTTP_409_CONFLICT)
        return alert_response(get_alert(alert.pk), status_code=202)
