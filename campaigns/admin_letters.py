"""Sign-on letters' delivery in the admin: Editors write the cover texts, choose
the targets (every mission of a country in one click, other authorities by
hand), send tests to themselves and record the targets' answers; Publishers
deliver the letter (which closes signing on it) and send a failed delivery again.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.http import (
    FileResponse,
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_countries import countries as country_registry

from ima_site import audit_text
from ima_site.models import record_audit_entry
from signatories.services.counts import statement_counts
from statements.admin_changes import describe_changes
from statements.models import Statement

from . import letter_delivery, letter_sending
from .models import (
    Letter,
    LetterCover,
    LetterDelivery,
    LetterTarget,
    Mission,
    TargetReply,
)
from .pdf_checks import check_uploaded_pdf


def _gathering(letter: Letter | None) -> bool:
    return letter is None or letter.status == Letter.Status.GATHERING


class UntilDeliveryMixin:
    """Covers and targets are what the emails are made from: they change only
    until delivery starts."""

    def has_add_permission(self, request, obj=None):
        return _gathering(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return _gathering(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return _gathering(obj) and super().has_delete_permission(request, obj)


class LetterCoverInline(UntilDeliveryMixin, admin.StackedInline):
    model = LetterCover
    extra = 0
    fields = ["language", "subject", "text"]
    verbose_name_plural = gettext_lazy(
        "Cover texts: the short email that carries the letter, one per language"
    )


class LetterTargetInline(UntilDeliveryMixin, admin.TabularInline):
    model = LetterTarget
    extra = 0
    fields = ["name", "email", "language", "mission"]
    readonly_fields = ["mission"]
    verbose_name_plural = gettext_lazy(
        "Targets: missions (added with the button above) and other authorities"
    )


class LetterForm(forms.ModelForm):
    class Meta:
        model = Letter
        fields = ["statement", "campaign", "deliver_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "statement" in self.fields:
            self.fields["statement"].queryset = Statement.objects.filter(
                kind=Statement.Kind.SIGN_ON_LETTER
            ).prefetch_related("versions")
            self.fields["statement"].help_text = _(
                "Only statements of the kind “sign-on letter”."
            )


@admin.register(Letter)
class LetterAdmin(admin.ModelAdmin):
    form = LetterForm
    change_form_template = "admin/campaigns/letter/change_form.html"
    inlines = [LetterCoverInline, LetterTargetInline]
    list_display = ["__str__", "campaign", "status", "deliver_at", "delivered_at"]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign", "statement"]
    search_fields = ["statement__slug", "statement__versions__title"]
    fields = ["statement", "campaign", "deliver_at", "status", "delivered_at"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("statement", "campaign")
            .prefetch_related("statement__versions")
        )

    def get_readonly_fields(self, request, obj=None):
        if _gathering(obj):
            return ["status", "delivered_at"]
        return self.fields

    def has_delete_permission(self, request, obj=None):
        # A letter that went out is the record of what was sent.
        if obj is not None and not _gathering(obj):
            return False
        return super().has_delete_permission(request, obj)

    # --- pages ----------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view

        def route(suffix: str, view, name: str):
            return path(
                f"<path:object_id>/{suffix}",
                wrap(view),
                name=f"campaigns_letter_{name}",
            )

        return [
            route("add-missions/", self.add_missions_view, "add_missions"),
            route("test/", self.test_view, "test"),
            route("deliver/", self.deliver_view, "deliver"),
            route("retry/<int:delivery_id>/", self.retry_view, "retry"),
            *super().get_urls(),
        ]

    def _letter(self, request, object_id) -> Letter:
        letter = self.get_object(request, unquote(object_id))
        if letter is None:
            raise Http404
        if not self.has_view_or_change_permission(request, letter):
            raise PermissionDenied
        return letter

    def _back(self, letter: Letter) -> HttpResponseRedirect:
        return HttpResponseRedirect(
            reverse("admin:campaigns_letter_change", args=[letter.pk])
        )

    @staticmethod
    def _country(letter: Letter) -> str:
        return letter.campaign.target_country if letter.campaign else ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        letter = self.get_object(request, unquote(object_id))
        if letter is not None and self.has_view_or_change_permission(request, letter):
            extra_context.update(self._tools_context(request, letter))
        return super().change_view(request, object_id, form_url, extra_context)

    def _tools_context(self, request, letter: Letter) -> dict:
        user = request.user
        country = self._country(letter)
        gathering = _gathering(letter)
        deliveries = list(
            LetterDelivery.objects.filter(letter=letter)
            .select_related("target")
            .order_by("target__name", "id")
        )
        return {
            "gathering": gathering,
            "country": country,
            "country_name": country_registry.name(country) if country else "",
            "missions_with_email": (
                Mission.objects.filter(represented_country=country)
                .exclude(email="")
                .count()
                if country
                else 0
            ),
            "may_add_targets": gathering
            and user.has_perm("campaigns.add_lettertarget"),
            "may_test": letter_delivery.may_test(user),
            "may_deliver": letter_delivery.may_deliver(user),
            "may_record_reply": user.has_perm("campaigns.add_targetreply"),
            "user_email": user.email,
            "deliveries": deliveries,
            "progress": letter_sending.delivery_progress(letter),
            "history_url": audit_text.history_url(letter),
        }

    def _post_only(self, request):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return None

    def add_missions_view(self, request, object_id):
        letter = self._letter(request, object_id)
        if refused := self._post_only(request):
            return refused
        try:
            added = letter_delivery.add_mission_targets(
                letter=letter, country=self._country(letter) or None, by=request.user
            )
        except letter_delivery.LetterError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                ngettext(
                    "One mission added as a target.",
                    "%(count)d missions added as targets.",
                    added,
                )
                % {"count": added}
                if added
                else _("Every mission with an email is already a target."),
                messages.SUCCESS,
            )
        return self._back(letter)

    def test_view(self, request, object_id):
        letter = self._letter(request, object_id)
        if refused := self._post_only(request):
            return refused
        try:
            letter_delivery.start_delivery(letter=letter, by=request.user, test=True)
        except letter_delivery.LetterError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _(
                    "The test is being compiled and sent to %(email)s: it arrives "
                    "in a minute or two."
                )
                % {"email": request.user.email},
                messages.SUCCESS,
            )
        return self._back(letter)

    def deliver_view(self, request, object_id):
        letter = self._letter(request, object_id)
        if not letter_delivery.may_deliver(request.user):
            raise PermissionDenied
        if request.method == "POST":
            try:
                letter_delivery.start_delivery(
                    letter=letter,
                    by=request.user,
                    version=request.POST.get("version", ""),
                )
            except letter_delivery.LetterError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _(
                        "Delivering: the letter is being compiled, then sent to "
                        "each target. Signing on it is closed."
                    ),
                    messages.SUCCESS,
                )
            return self._back(letter)
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        counts = statement_counts(letter.statement)
        return TemplateResponse(
            request,
            "admin/campaigns/letter/deliver_confirm.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": letter,
                "title": _("Deliver the letter now?"),
                "subtitle": str(letter),
                "back_url": reverse("admin:campaigns_letter_change", args=[letter.pk]),
                "targets": letter.targets.count(),
                "target_list": letter.targets.order_by("name", "pk"),
                "version": letter_delivery.targets_version(letter),
                "signatures": counts["total"],
                "signing_closes_at": letter.statement.signing_closes_at,
                "refusal": letter_delivery.delivery_refusal(letter),
            },
        )

    def retry_view(self, request, object_id, delivery_id):
        letter = self._letter(request, object_id)
        if refused := self._post_only(request):
            return refused
        if not letter_delivery.may_deliver(request.user):
            raise PermissionDenied
        delivery = LetterDelivery.objects.filter(pk=delivery_id, letter=letter).first()
        if delivery is None:
            raise Http404
        try:
            letter_delivery.retry_delivery(delivery=delivery, by=request.user)
        except letter_delivery.LetterError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _("The letter goes to %(target)s again.")
                % {"target": delivery.target.name},
                messages.SUCCESS,
            )
        return self._back(letter)

    def history_view(self, request, object_id, extra_context=None):
        # The audit log has the tests, the delivery, retries and what they did.
        letter = self._letter(request, object_id)
        return HttpResponseRedirect(audit_text.history_url(letter))


@admin.register(LetterDelivery)
class LetterDeliveryAdmin(admin.ModelAdmin):
    """Read-only: the rows are the record of what went to whom and when."""

    list_display = [
        "target", "letter", "status", "attempts", "sent_at", "message_id",
        "smtp_response", "last_error",
    ]  # fmt: skip
    list_filter = ["status", "letter"]
    list_select_related = ["target", "letter__statement"]
    search_fields = ["target__name"]
    actions = ["retry_failed"]
    fields = [
        "letter", "target", "compilation", "status", "attempts", "next_attempt_at",
        "claimed_at", "sent_at", "message_id", "smtp_response", "last_error",
    ]  # fmt: skip
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related("letter__statement__versions")
        )

    @admin.action(
        description=gettext_lazy("Send the selected failed deliveries again"),
        permissions=["deliver"],
    )
    def retry_failed(self, request, queryset):
        again = 0
        for delivery in queryset.filter(status=LetterDelivery.Status.FAILED):
            try:
                letter_delivery.retry_delivery(delivery=delivery, by=request.user)
            except letter_delivery.LetterError:
                continue
            again += 1
        self.message_user(
            request,
            ngettext(
                "One delivery queued again.",
                "%(count)d deliveries queued again.",
                again,
            )
            % {"count": again},
            messages.SUCCESS,
        )

    def has_deliver_permission(self, request):
        return letter_delivery.may_deliver(request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class TargetChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} — {obj.letter}"


class TargetReplyForm(forms.ModelForm):
    class Meta:
        model = TargetReply
        fields = ["target", "kind", "received_on", "text", "attachment", "published"]
        field_classes = {"target": TargetChoiceField}
        widgets = {"attachment": forms.FileInput(attrs={"accept": "application/pdf"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "target" in self.fields:
            self.fields["target"].queryset = LetterTarget.objects.select_related(
                "letter__statement"
            ).prefetch_related("letter__statement__versions")

    def clean_attachment(self):
        attachment = self.cleaned_data.get("attachment")
        # Only a new upload is checked: a stored file passed the check already.
        if isinstance(attachment, UploadedFile):
            check_uploaded_pdf(attachment)
        return attachment


@admin.register(TargetReply)
class TargetReplyAdmin(admin.ModelAdmin):
    form = TargetReplyForm
    list_display = ["target", "kind", "received_on", "published", "attachment_link"]
    list_filter = ["kind", "published", "target__letter"]
    list_select_related = ["target"]
    search_fields = ["target__name", "text"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["target", "kind", "received_on", "text", "attachment", "published"]
        # The attachment is evidence: kept as it came, downloaded through the admin.
        return [
            "target", "kind", "received_on", "text", "attachment_link", "published",
            "recorded_by", "recorded_at",
        ]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["target", "attachment_link", "recorded_by", "recorded_at"]

    @admin.display(description=gettext_lazy("attachment (PDF)"))
    def attachment_link(self, reply):
        if not reply.attachment:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:campaigns_targetreply_attachment", args=[reply.pk]),
            _("Download"),
        )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/attachment/",
                self.admin_site.admin_view(self.attachment_view),
                name="campaigns_targetreply_attachment",
            ),
            *super().get_urls(),
        ]

    def attachment_view(self, request, object_id):
        reply = self.get_object(request, unquote(object_id))
        if reply is None or not reply.attachment:
            raise Http404
        if not self.has_view_or_change_permission(request, reply):
            raise PermissionDenied
        try:
            handle = reply.attachment.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(
            handle,
            as_attachment=True,
            filename=f"reply-{reply.pk}.pdf",
            content_type="application/pdf",
        )
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            record_audit_entry(
                actor=request.user,
                action="letter.reply_edit",
                obj=obj,
                details={"changes": describe_changes(form, [])},
            )
            return
        data = form.cleaned_data
        reply = letter_delivery.record_reply(
            target=data["target"],
            kind=data["kind"],
            received_on=data["received_on"],
            text=data.get("text", ""),
            attachment=data.get("attachment") or None,
            published=data.get("published", False),
            by=request.user,
        )
        # The admin goes on with the row the service wrote.
        obj.pk = reply.pk
        obj.attachment = reply.attachment
        obj.recorded_by = reply.recorded_by
        obj.recorded_at = reply.recorded_at
        obj._state.adding = False
        obj._state.db = reply._state.db
