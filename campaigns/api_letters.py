"""The organizers' letters API, with a token: a letter's targets (with their
addresses and deliveries), adding targets, delivering or testing the letter, and
recording and reading targets' replies. The public's view of a delivered letter
is /api/v1/letters/ (campaigns.api.LetterViewSet).

Who may do what (the admin's rules): organizers who read letters read every
letter's targets and replies; Editors and Publishers add targets and record
replies; only Publishers deliver; a test goes only to the caller's own address
and only to those who may read the signatures it names.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as Forbidden
from rest_framework.response import Response
from rest_framework.views import APIView

from ima_site.api import BAD_REQUEST, UNAUTHORIZED, UNSUPPORTED, error

from .api_alerts import OrganizerWith, Unprocessable, parse
from .letter_delivery import (
    add_mission_targets,
    add_target,
    may_test,
    record_reply,
    start_delivery,
    targets_version,
)
from .letter_mail import LetterError
from .models import Letter, LetterTarget, Mission, TargetReply
from .serializers_letters import (
    DeliverAnswerSerializer,
    DeliverSerializer,
    OrganizerReplySerializer,
    ReplyCreateSerializer,
    TargetCreateSerializer,
    TargetListSerializer,
    TargetsAddedSerializer,
)

NO_LETTER = error("No letter on a statement with this slug.")
LETTER_CONFLICT = error(
    "The letter's state does not allow it: delivery has started, no targets, no "
    "cover text in the original language, a target already there."
)


def get_letter(slug: str) -> Letter:
    letter = (
        Letter.objects.select_related("statement", "campaign")
        .filter(statement__slug=slug)
        .first()
    )
    if letter is None:
        raise NotFound(_("There is no letter %(slug)s.") % {"slug": slug})
    return letter


def target_rows(letter: Letter) -> list[dict]:
    rows = []
    for target in (
        LetterTarget.objects.filter(letter=letter)
        .select_related("mission", "delivery")
        .order_by("name", "id")
    ):
        mission = target.mission
        delivery = getattr(target, "delivery", None)
        rows.append(
            {
                "id": target.pk,
                "name": target.name,
                "email": target.email,
                "language": target.language,
                "kind": "mission" if mission is not None else "authority",
                "mission": mission.pk if mission is not None else None,
                "country": mission.host_country if mission is not None else "",
                "city": mission.city if mission is not None else "",
                "delivery": (
                    {
                        "status": delivery.status,
                        "attempts": delivery.attempts,
                        "sent_at": delivery.sent_at,
                        "message_id": delivery.message_id,
                        "smtp_response": delivery.smtp_response,
                        "last_error": delivery.last_error,
                    }
                    if delivery is not None
                    else None
                ),
            }
        )
    return rows


def conflict(problem: Exception) -> Response:
    return Response({"detail": str(problem)}, status=status.HTTP_409_CONFLICT)


class LetterTargets(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_lettertarget"

    @extend_schema(
        responses={
            200: TargetListSerializer,
            401: UNAUTHORIZED,
            403: error("The user may not read letters' targets."),
            404: NO_LETTER,
        },
        summary="The letter's targets with their addresses, languages and "
        "deliveries (status, time, Message-ID, the mail server's answer).",
    )
    def get(self, request, slug):
        letter = get_letter(slug)
        payload = {"version": targets_version(letter), "targets": target_rows(letter)}
        return Response(TargetListSerializer(payload).data)

    @extend_schema(
        request=TargetCreateSerializer,
        responses={
            201: TargetsAddedSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error("The user may not add targets."),
            404: NO_LETTER,
            409: LETTER_CONFLICT,
            415: UNSUPPORTED,
            422: error("The mission does not exist or has no email address."),
        },
        summary="Add targets while the letter gathers signatures: every mission "
        "of a country in one call (`missions_of`), one mission (`mission`), or "
        "another authority (`name`, `email`, `language`).",
    )
    def post(self, request, slug):
        letter = get_letter(slug)
        data = parse(TargetCreateSerializer, request)
        try:
            if "missions_of" in data:
                added = add_mission_targets(
                    letter=letter, country=data["missions_of"], by=request.user
                )
            else:
                mission = None
                if "mission" in data:
                    mission = Mission.objects.filter(pk=data["mission"]).first()
                    if mission is None:
                        raise Unprocessable({"mission": [_("No such mission.")]})
                    if not mission.email:
                        raise Unprocessable(
                            {"mission": [_("This mission has no email address.")]}
                        )
                add_target(
                    letter=letter,
                    by=request.user,
                    mission=mission,
                    name=data.get("name", ""),
                    email=data.get("email", ""),
                    language=data.get("language", ""),
                )
                added = 1
        except PermissionDenied as refusal:
            raise Forbidden(str(refusal)) from None
        except LetterError as problem:
            return conflict(problem)
        payload = {
            "added": added,
            "version": targets_version(letter),
            "targets": target_rows(letter),
        }
        return Response(
            TargetsAddedSerializer(payload).data, status=status.HTTP_201_CREATED
        )


class LetterDeliver(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_letter"

    @extend_schema(
        request=DeliverSerializer,
        responses={
            202: OpenApiResponse(
                DeliverAnswerSerializer,
                description="Queued: the bulk worker compiles the letter and sends "
                "each target its one email (or the test to you).",
            ),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error(
                "Only Publishers deliver; a test only for those who may read the "
                "signatures it names."
            ),
            404: NO_LETTER,
            409: error(
                "Already delivering or delivered, no targets, no cover text in the "
                "original language, the targets changed since `targets_version`, or "
                "(a test) your account has no email address."
            ),
            415: UNSUPPORTED,
        },
        summary="Deliver the letter now: signing closes on it and every target "
        'gets one email with the PDF, once. `{"test": true}` sends one email '
        "marked [TEST] to your own address and nowhere else.",
    )
    def post(self, request, slug):
        letter = get_letter(slug)
        data = parse(DeliverSerializer, request)
        test = data["test"]
        if test and not may_test(request.user):
            raise Forbidden(_("You may not send tests of letters."))
        if test and not request.user.email:
            return conflict(
                LetterError(
                    _(
                        "Your account has no email address: tests go only to your "
                        "own, so add one to your account first."
                    )
                )
            )
        try:
            letter = start_delivery(
                letter=letter,
                by=request.user,
                test=test,
                to=request.user.email,
                version=data.get("targets_version"),
            )
        except PermissionDenied as refusal:
            raise Forbidden(str(refusal)) from None
        except (LetterError, ValidationError) as problem:
            return conflict(problem)
        letter.refresh_from_db(fields=["status"])
        payload = {
            "status": letter.status,
            "test_sent_to": request.user.email if test else None,
            "targets": letter.targets.count(),
        }
        return Response(
            DeliverAnswerSerializer(payload).data, status=status.HTTP_202_ACCEPTED
        )


class LetterReplies(APIView):
    permission_classes = [OrganizerWith]
    required_permission = "campaigns.view_targetreply"

    @extend_schema(
        responses={
            200: OrganizerReplySerializer(many=True),
            401: UNAUTHORIZED,
            403: error("The user may not read replies."),
            404: NO_LETTER,
        },
        summary="Every reply recorded for the letter's targets, published or not.",
    )
    def get(self, request, slug):
        letter = get_letter(slug)
        replies = TargetReply.objects.filter(target__letter=letter).select_related(
            "target"
        )
        return Response(OrganizerReplySerializer(replies, many=True).data)

    @extend_schema(
        request=ReplyCreateSerializer,
        responses={
            201: OrganizerReplySerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            403: error("The user may not record replies."),
            404: NO_LETTER,
            415: UNSUPPORTED,
            422: error(
                "The target is not one of this letter's, or the attachment is not "
                "a PDF, is too big, or carries JavaScript or embedded files."
            ),
        },
        summary="Record a target's answer (or its refusal of the letter), with "
        "its date, text and a PDF; `published` shows it on the public pages.",
    )
    def post(self, request, slug):
        letter = get_letter(slug)
        data = parse(ReplyCreateSerializer, request)
        target = LetterTarget.objects.filter(pk=data["target"], letter=letter).first()
        if target is None:
            raise Unprocessable({"target": [_("Not a target of this letter.")]})
        attachment = None
        if data.get("attachment") is not None:
            attachment = SimpleUploadedFile(
                "reply.pdf", data["attachment"], content_type="application/pdf"
            )
        try:
            reply = record_reply(
                target=target,
                kind=data["kind"],
                received_on=data["received_on"],
                text=data["text"],
                attachment=attachment,
                published=data["published"],
                by=request.user,
            )
        except PermissionDenied as refusal:
            raise Forbidden(str(refusal)) from None
        except ValidationError as problem:
            raise Unprocessable({"attachment": problem.messages}) from None
        return Response(
            OrganizerReplySerializer(reply).data, status=status.HTTP_201_CREATED
        )
