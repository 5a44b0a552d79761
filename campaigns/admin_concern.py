"""Members' letters of concern in the admin: read each one (its text, or its
PDF through a permission-checked view), approve it (the bulk worker sends it) or
send it back with a note, send a failed one again; and per action, who has sent
and who has not, with a reminder to those who have not."""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns import concern, concern_sending
from campaigns.models import Action, LetterOfConcern

Stage = LetterOfConcern.Stage


@admin.register(LetterOfConcern)
class LetterOfConcernAdmin(admin.ModelAdmin):
    list_display = [
        "organization", "action", "mission", "stage", "status_shown", "submitted_at",
        "sent_at",
    ]  # fmt: skip
    list_filter = ["stage", "status", "action"]
    search_fields = ["organization__name", "mission__name"]
    list_select_related = ["organization", "action", "mission"]
    fields = [
        "action", "organization", "mission", "stage", "status_shown", "text",
        "pdf_link", "submitted_at", "reviewed_by", "reviewed_at", "refusal_note",
        "sent_at", "message_id", "smtp_response", "last_error",
    ]  # fmt: skip
    readonly_fields = fields
    change_form_template = "admin/campaigns/letterofconcern/change_form.html"

    @admin.display(description=gettext_lazy("sending"))
    def status_shown(self, obj: LetterOfConcern) -> str:
        # A letter not approved is not on its way: its row's "queued" means nothing.
        return obj.get_status_display() if obj.stage == Stage.APPROVED else "—"

    @admin.display(description=gettext_lazy("PDF"))
    def pdf_link(self, obj: LetterOfConcern) -> str:
        if not obj.pdf:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:campaigns_letterofconcern_pdf", args=[obj.pk]),
            _("Uploaded by the member") if obj.uploaded else _("As sent"),
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only here: approving and refusing are the buttons, not the form.
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def route(suffix: str, view, name: str):
            return path(suffix, wrap(view), name=f"campaigns_letterofconcern_{name}")

        return [
            route("<path:object_id>/pdf/", self.pdf_view, "pdf"),
            route("<path:object_id>/approve/", self.approve_view, "approve"),
            route("<path:object_id>/refuse/", self.refuse_view, "refuse"),
            route("<path:object_id>/retry/", self.retry_view, "retry"),
            route("action/<int:action_id>/", self.overview_view, "overview"),
            route("action/<int:action_id>/remind/", self.remind_view, "remind"),
            *super().get_urls(),
        ]

    def _concern(self, request, object_id) -> LetterOfConcern:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        return obj

    def _back(self, obj: LetterOfConcern) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:campaigns_letterofconcern_change", args=[obj.pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        extra_context = {
            **(extra_context or {}),
            "may_review": request.user.has_perm(concern.REVIEW),
            "version": concern.concern_version(obj) if obj is not None else "",
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def pdf_view(self, request, object_id):
        obj = self._concern(request, object_id)
        if not obj.pdf:
            raise Http404
        try:
            handle = obj.pdf.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            content_type="application/pdf",
            as_attachment=True,
            filename=f"letter-of-concern-{obj.pk}.pdf",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def _review(self, request, object_id, do, done: str):
        obj = self._concern(request, object_id)
        if request.method != "POST":
            return self._back(obj)
        try:
            do(obj)
        except concern.ConcernError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return self._back(obj)

    def approve_view(self, request, object_id):
        return self._review(
            request,
            object_id,
            lambda obj: concern.approve_concern(
                concern=obj, by=request.user, version=request.POST.get("version", "")
            ),
            _("Approved: the letter goes to the mission now, the member in copy."),
        )

    def refuse_view(self, request, object_id):
        note = request.POST.get("note", "")
        return self._review(
            request,
            object_id,
            lambda obj: concern.refuse_concern(concern=obj, by=request.user, note=note),
            _("Sent back: the member reads your note on their page."),
        )

    def retry_view(self, request, object_id):
        return self._review(
            request,
            object_id,
            lambda obj: concern_sending.retry_concern(concern=obj, by=request.user),
            _("The letter is queued again."),
        )

    def overview_view(self, request, action_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        action = Action.objects.select_related("campaign").filter(pk=action_id).first()
        if action is None:
            raise Http404
        rows = concern.concern_overview(action)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Letters of concern: %(action)s") % {"action": action.title},
            "action": action,
            "rows": rows,
            "not_sent": sum(
                1 for row in rows if row.stage not in ("submitted", "approved")
            ),
            "may_remind": request.user.has_perm("campaigns.add_alert")
            and concern.may_write(action),
        }
        return TemplateResponse(
            request, "admin/campaigns/letterofconcern/overview.html", context
        )

    def remind_view(self, request, action_id):
        action = Action.objects.filter(pk=action_id).first()
        if action is None:
            raise Http404
        back = reverse("admin:campaigns_letterofconcern_overview", args=[action_id])
        if request.method != "POST":
            return HttpResponseRedirect(back)
        try:
            alert = concern.create_reminder(action=action, by=request.user)
        except concern.ConcernError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(back)
        self.message_user(
            request,
            _(
                "A reminder is written as a draft alert to those who have not sent: "
                "read it, test it and send it from here."
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse("admin:campaigns_alert_change", args=[alert.pk])
        )
