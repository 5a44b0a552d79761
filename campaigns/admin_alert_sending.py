"""The alert pages that send: the confirmation pages for sending now, at a time, or
at a wall-clock time in each recipient's own zone; pausing, resuming and
cancelling; and the progress the change page refreshes.

AlertPageBase holds what every alert page needs (the alert, the permission, the
page frame); admin_alert_pages builds the other pages on it.
"""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from ima_site.review import approval_refused_reason

from . import alert_edits, sending
from .admin_forms import LocalScheduleForm, ScheduleForm
from .localtime import local_moment
from .models import Action, Alert, AlertDelivery
from .placeholders import misplaced_placeholders, unknown_placeholders
from .recipients import audience

SEND_PERMISSION = "campaigns.send_alert"
STATUS_ACTIONS = {
    "pause": (sending.pause_alert, gettext_lazy("Paused: no more emails go out.")),
    "resume": (sending.resume_alert, gettext_lazy("Resumed.")),
    "cancel": (
        sending.cancel_alert,
        gettext_lazy(
            "Cancelled: the emails not sent yet will not go. To change the alert "
            "and send it to those contacts, edit it and send it again."
        ),
    ),
}


class AlertPageBase:
    """What every alert page shares; mixed into AlertAdmin through AlertPages."""

    @staticmethod
    def may_send(request) -> bool:
        return request.user.has_perm(SEND_PERMISSION)

    @staticmethod
    def may_test(request) -> bool:
        return request.user.has_perm(SEND_PERMISSION) or request.user.has_perm(
            "campaigns.change_alert"
        )

    def _alert(self, request, object_id) -> Alert:
        alert = self.get_object(request, unquote(object_id))
        if alert is None:
            raise Http404
        if not self.has_view_or_change_permission(request, alert):
            raise PermissionDenied
        return alert

    def _require_sender(self, request) -> None:
        if not self.may_send(request):
            raise PermissionDenied

    def _page(self, request, alert: Alert, template: str, title: str, **context):
        return TemplateResponse(
            request,
            f"admin/campaigns/alert/{template}",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": alert,
                "title": title,
                "subtitle": str(alert),
                "back_url": reverse("admin:campaigns_alert_change", args=[alert.pk]),
                **context,
            },
        )

    def _back(self, alert: Alert) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:campaigns_alert_change", args=[alert.pk])
        )


class AlertSendingPages(AlertPageBase):
    """Sending, scheduling, status changes and progress."""

    def _summary(self, request, alert: Alert) -> dict:
        """What sending now would do, for the confirmation pages."""
        recipients, skipped = audience(alert)
        reasons = Counter(reason for _r, reason in skipped)
        problems = []
        for version in alert.versions.all():
            unknown = unknown_placeholders(version.subject) + unknown_placeholders(
                version.body
            )
            if unknown:
                problems.append(
                    _("%(language)s: unknown placeholders %(names)s")
                    % {
                        "language": version.language,
                        "names": ", ".join(
                            "{" + n + "}" for n in dict.fromkeys(unknown)
                        ),
                    }
                )
            misplaced = misplaced_placeholders(
                version.subject + "\n" + version.body, alert.action.kind
            )
            if misplaced:
                problems.append(
                    _(
                        "%(language)s: %(names)s is only for an action that asks for "
                        "a letter of concern"
                    )
                    % {
                        "language": version.language,
                        "names": ", ".join("{" + n + "}" for n in misplaced),
                    }
                )
        if not alert.versions.exists():
            problems.append(_("The alert has no text yet: write at least one version."))
        already: set[int] = set()
        if alert.status == Alert.Status.CANCELLED:
            already = set(
                AlertDelivery.objects.filter(alert=alert)
                .exclude(status__in=[AlertDelivery.Status.CANCELLED,
                                     AlertDelivery.Status.SKIPPED])
                .values_list("contact_id", flat=True)
            )  # fmt: skip
        new = [r for r in recipients if r.contact_id not in already]
        refusal = approval_refused_reason(request.user, alert.created_by)
        if not alert_edits.is_editable(alert):
            refusal = _("This alert is already %(status)s: nothing more is sent.") % {
                "status": alert.get_status_display().lower()
            }
        elif not recipients and not skipped:
            refusal = _("No contact is in this alert's audience.")
        zones = Counter(r.time_zone for r in new)
        return {
            "contacts": len(new),
            "organizations": len({r.organization_id for r in new}),
            "already_sent": len([r for r in recipients if r.contact_id in already]),
            "skipped": len(skipped),
            "unsubscribed": reasons.get("unsubscribed", 0),
            "bouncing": reasons.get("bouncing", 0),
            "without_mission": sum(1 for r in new if r.mission_id is None),
            "abroad": sum(1 for r in new if r.mission_abroad),
            "languages": sorted(Counter(r.language for r in new).items()),
            "zones": zones.most_common(10),
            "zone_count": len(zones),
            "problems": problems,
            "refusal": refusal,
            "at_place": alert.action.where == Action.Where.PLACE,
            "time_zone": timezone.get_current_timezone_name(),
            "recipients_url": reverse(
                "admin:campaigns_alert_recipients", args=[alert.pk]
            ),
            "preview_url": reverse("admin:campaigns_alert_preview", args=[alert.pk]),
        }

    def _start(self, request, alert: Alert, **when) -> Alert | None:
        try:
            return sending.start_alert(alert=alert, by=request.user, **when)
        except sending.AlertError as error:
            self.message_user(request, str(error), messages.ERROR)
            return None

    def send_view(self, request, object_id):
        alert = self._alert(request, object_id)
        self._require_sender(request)
        if request.method == "POST":
            started = self._start(request, alert)
            if started is not None:
                progress = sending.alert_progress(started)
                self.message_user(
                    request,
                    ngettext(
                        "Sending to %(count)d contact.",
                        "Sending to %(count)d contacts.",
                        progress["queued"],
                    )
                    % {"count": progress["queued"]},
                    messages.SUCCESS,
                )
            return self._back(alert)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        return self._page(
            request,
            alert,
            "send_confirm.html",
            _("Send now?"),
            mode="now",
            **self._summary(request, alert),
        )

    def schedule_view(self, request, object_id):
        alert = self._alert(request, object_id)
        self._require_sender(request)
        form = ScheduleForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            at = form.cleaned_data["at"]
            if self._start(request, alert, at=at) is not None:
                self.message_user(
                    request,
                    _("Scheduled for %(at)s (%(zone)s).")
                    % {
                        "at": formats.date_format(
                            timezone.localtime(at), "DATETIME_FORMAT"
                        ),
                        "zone": timezone.get_current_timezone_name(),
                    },
                    messages.SUCCESS,
                )
            return self._back(alert)
        return self._page(
            request,
            alert,
            "send_confirm.html",
            _("Schedule the alert"),
            mode="schedule",
            form=form,
            **self._summary(request, alert),
        )

    def schedule_local_view(self, request, object_id):
        alert = self._alert(request, object_id)
        self._require_sender(request)
        form = LocalScheduleForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            day = form.cleaned_data["local_date"]
            wall = form.cleaned_data["local_time"]
            recipients, _skipped = audience(alert)
            moments = sorted(
                local_moment(day, wall, zone)
                for zone in {r.time_zone for r in recipients}
            )
            if moments and moments[-1] <= timezone.now():
                form.add_error(
                    "local_date",
                    _("That time has passed in every recipient's zone: send now."),
                )
            else:
                started = self._start(request, alert, local_date=day, local_time=wall)
                if started is not None:
                    self._local_schedule_message(request, day, wall, moments)
                return self._back(alert)
        return self._page(
            request,
            alert,
            "send_confirm.html",
            _("Schedule at a local time"),
            mode="local",
            form=form,
            **self._summary(request, alert),
        )

    def _local_schedule_message(self, request, day, wall, moments) -> None:
        passed = sum(1 for moment in moments if moment <= timezone.now())

        def shown(moment):
            return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")

        text = _(
            "Scheduled at %(time)s on %(date)s in each recipient's zone: the first "
            "emails go at %(first)s, the last at %(last)s (%(zone)s)."
        ) % {
            "time": wall.strftime("%H:%M"),
            "date": formats.date_format(day, "DATE_FORMAT"),
            "first": shown(moments[0]) if moments else "—",
            "last": shown(moments[-1]) if moments else "—",
            "zone": timezone.get_current_timezone_name(),
        }
        self.message_user(request, text, messages.SUCCESS)
        if passed:
            self.message_user(
                request,
                ngettext(
                    "In %(count)d time zone that time had passed: its contacts get "
                    "the alert now.",
                    "In %(count)d time zones that time had passed: their contacts "
                    "get the alert now.",
                    passed,
                )
                % {"count": passed},
                messages.WARNING,
            )

    def status_view(self, request, object_id):
        action = request.resolver_match.url_name.removeprefix("campaigns_alert_")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        alert = self._alert(request, object_id)
        self._require_sender(request)
        service, done = STATUS_ACTIONS[action]
        try:
            service(alert=alert, by=request.user)
        except sending.AlertError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return self._back(alert)

    def progress_view(self, request, object_id):
        """JSON for the change page's script: the counts, refreshed."""
        alert = self._alert(request, object_id)
        response = JsonResponse(alert_progress_shown(alert))
        response.headers["Cache-Control"] = "no-store"
        return response


def alert_progress_shown(alert: Alert) -> dict:
    progress = sending.alert_progress(alert)
    status = str(progress["status"])
    waiting = int(progress["queued"]) + int(progress["sending"])
    return {
        **progress,
        "waiting": waiting,
        "done": int(progress["total"]) - waiting,
        "status_display": str(Alert.Status(status).label),
    }
