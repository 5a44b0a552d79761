"""Alerts in the admin: Editors draft them (texts per language, audience, missions
chosen per organization), preview them for any recipient and send tests to
themselves; Publishers send, schedule, pause, resume and cancel them.

The form, its permissions and the change page are here; the pages beside the
form are in admin_alert_pages.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site import audit_text
from ima_site.review import approval_refused_reason
from statements.admin_changes import describe_changes

from . import alert_edits
from .admin_alert_pages import AlertPages
from .admin_alert_sending import alert_progress_shown
from .admin_forms import AlertForm, AlertVersionForm, AlertVersionFormSet
from .models import Alert, AlertVersion

# The buttons of the draft's form: each saves first, then goes on.
SAVE_AND = ("test", "send", "schedule", "schedule_local")


class AlertVersionInline(admin.StackedInline):
    model = AlertVersion
    form = AlertVersionForm
    formset = AlertVersionFormSet
    extra = 0
    min_num = 1
    fields = ["language", "is_original", "subject", "body"]

    def _editable(self, obj) -> bool:
        return obj is None or alert_edits.is_editable(obj)

    def has_add_permission(self, request, obj=None):
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._editable(obj) and super().has_delete_permission(request, obj)


@admin.register(Alert)
class AlertAdmin(AlertPages, admin.ModelAdmin):
    form = AlertForm
    change_form_template = "admin/campaigns/alert/change_form.html"
    inlines = [AlertVersionInline]
    list_display = ["subject_shown", "action", "status", "created_by", "created_at"]
    list_filter = ["status", "action__campaign"]
    list_select_related = ["action", "created_by"]
    search_fields = ["versions__subject", "action__title"]
    readonly_fields = [
        "status", "send_at", "send_on_local_date", "send_at_local_time",
        "frozen_at", "created_by", "created_at", "updated_at",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["action"]}),
        (
            gettext_lazy("Audience"),
            {
                "description": gettext_lazy(
                    "Contacts of the organizations that match every condition "
                    "given; unsubscribed and bouncing contacts are left out."
                ),
                "fields": [
                    "countries",
                    "sectors",
                    "members_only",
                    "languages",
                    "only_without_letter",
                ],  # fmt: skip
            },
        ),
        (
            gettext_lazy("Sending"),
            {
                "fields": [
                    "status",
                    "send_at",
                    "send_on_local_date",
                    "send_at_local_time",
                    "frozen_at",
                    "created_by",
                    "created_at",
                    "updated_at",
                ]
            },
        ),  # fmt: skip
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("action__campaign", "created_by")
            .annotate(
                original_subject=Subquery(
                    AlertVersion.objects.filter(alert=OuterRef("pk"))
                    .order_by("-is_original", "language")
                    .values("subject")[:1]
                )
            )
        )

    @admin.display(description=gettext_lazy("subject"))
    def subject_shown(self, alert):
        return alert.original_subject or f"#{alert.pk}"

    # --- permissions ------------------------------------------------------------

    def has_change_permission(self, request, obj=None):
        # Once sending started, the texts and audience are what the deliveries
        # are made from: a change needs a cancel first.
        if obj is not None and not alert_edits.is_editable(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (
            obj.status != Alert.Status.DRAFT or obj.frozen_at is not None
        ):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    # --- saving -----------------------------------------------------------------

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            return
        # Locked and read again: a send started since the form was loaded wins,
        # and this save changes nothing (the form said so, unless it was a race).
        status = (
            Alert.objects.select_for_update()
            .values_list("status", flat=True)
            .get(pk=obj.pk)
        )
        if status not in alert_edits.EDITABLE:
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        alert = form.instance
        if change and alert.frozen_at is not None:
            alert_edits.record_sending_edit(
                alert=alert, by=request.user, changes=describe_changes(form, formsets)
            )

    def _after_save(self, request, obj, default):
        step = request.POST.get("_alert", "")
        if step not in SAVE_AND:
            return default()
        if step == "test":
            return self._send_test(request, obj)
        self.message_user(request, _("Your changes were saved."), messages.SUCCESS)
        return HttpResponseRedirect(
            reverse(f"admin:campaigns_alert_{step}", args=[obj.pk])
        )

    def response_add(self, request, obj, post_url_continue=None):
        return self._after_save(
            request,
            obj,
            lambda: super(AlertAdmin, self).response_add(
                request, obj, post_url_continue
            ),
        )

    def response_change(self, request, obj):
        return self._after_save(
            request, obj, lambda: super(AlertAdmin, self).response_change(request, obj)
        )

    # --- the change page ----------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def route(suffix: str, view, name: str):
            return path(
                f"<path:object_id>/{suffix}",
                wrap(view),
                name=f"campaigns_alert_{name}",
            )

        return [
            route("recipients/", self.recipients_view, "recipients"),
            route(
                "recipients/<int:organization_id>/mission/",
                self.mission_choice_view,
                "mission_choice",
            ),
            route("preview/", self.preview_view, "preview"),
            route("preview/email/", self.preview_email_view, "preview_email"),
            route("progress/", self.progress_view, "progress"),
            route("test/", self.test_view, "test"),
            route("send/", self.send_view, "send"),
            route("schedule/", self.schedule_view, "schedule"),
            route("schedule-local/", self.schedule_local_view, "schedule_local"),
            route("pause/", self.status_view, "pause"),
            route("resume/", self.status_view, "resume"),
            route("cancel/", self.status_view, "cancel"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        alert = self.get_object(request, unquote(object_id))
        if alert is not None and self.has_view_or_change_permission(request, alert):
            extra_context.update(self._tools_context(request, alert))
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_test": self.may_test(request),
            "may_send": self.may_send(request),
            "editable": True,
        }
        return super().add_view(request, form_url, extra_context)

    def _tools_context(self, request, alert: Alert) -> dict:
        editable = alert_edits.is_editable(alert)
        may_send = self.may_send(request)
        refusal = approval_refused_reason(request.user, alert.created_by)
        status = alert.status
        started = alert.frozen_at is not None or status != Alert.Status.DRAFT
        return {
            "editable": editable,
            "may_test": self.may_test(request),
            "may_send": may_send,
            "send_refusal": refusal if may_send else "",
            "can_start": may_send and editable and not refusal,
            "can_pause": may_send
            and not refusal
            and status in (Alert.Status.SENDING, Alert.Status.SCHEDULED),
            "can_resume": may_send and not refusal and status == Alert.Status.PAUSED,
            "can_cancel": may_send
            and not refusal
            and status
            in (Alert.Status.SENDING, Alert.Status.SCHEDULED, Alert.Status.PAUSED),
            "progress": alert_progress_shown(alert) if started else None,
            "progress_url": reverse("admin:campaigns_alert_progress", args=[alert.pk]),
            "recipients_url": reverse(
                "admin:campaigns_alert_recipients", args=[alert.pk]
            ),
            "preview_url": reverse("admin:campaigns_alert_preview", args=[alert.pk]),
            "deliveries_url": (
                reverse("admin:campaigns_alertdelivery_changelist")
                + "?"
                + urlencode({"alert__id__exact": alert.pk})
                if started and request.user.has_perm("campaigns.view_alertdelivery")
                else ""
            ),
            "history_url": audit_text.history_url(alert),
            "user_email": request.user.email,
        }

    def history_view(self, request, object_id, extra_context=None):
        # The audit log has every send, pause, cancel and edit with its values.
        alert = self._alert(request, object_id)
        return HttpResponseRedirect(audit_text.history_url(alert))
