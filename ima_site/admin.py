from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site import audit_text, tokens
from ima_site.configuration import change_site_configuration
from ima_site.models import (
    ApiToken,
    AuditEntry,
    OrganizerProfile,
    OutboxMessage,
    SiteConfiguration,
)


class RecordAdmin(admin.ModelAdmin):
    """For records the site writes itself: shown, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # The links of a whole page at once: one query per kind of object.
        self.result_list = list(self.result_list)
        urls = audit_text.object_urls(self.result_list, request)
        for entry in self.result_list:
            entry.object_url = urls.get(entry.pk)


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    # The log is evidence: nobody edits or deletes it from the admin.
    list_display = ["at", "what", "action"]
    list_display_links = ["at"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor__username", "action"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    fields = [
        "at", "what_in_full", "note", "action", "object_type", "object_id",
        "object_repr", "details",
    ]  # fmt: skip
    readonly_fields = fields

    def get_changelist(self, request, **kwargs):
        return AuditChangeList

    def get_object(self, request, object_id, from_field=None):
        entry = super().get_object(request, object_id, from_field)
        if entry is not None:
            entry.object_url = audit_text.object_urls([entry], request).get(entry.pk)
        return entry

    @admin.display(description=gettext_lazy("what"))
    def what(self, entry):
        return format_html(
            "{}{}",
            audit_text.sentence(entry, url=getattr(entry, "object_url", None)),
            audit_text.changes_html(entry, shorten=80),
        )

    @admin.display(description=gettext_lazy("what"))
    def what_in_full(self, entry):
        return format_html(
            "{}{}",
            audit_text.sentence(entry, url=getattr(entry, "object_url", None)),
            audit_text.changes_html(entry),
        )

    @admin.display(description=gettext_lazy("note"))
    def note(self, entry):
        return audit_text.extra_text(entry) or "-"

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        object_type = request.GET.get("object_type")
        object_id = request.GET.get("object_id")
        if object_type and object_id:
            # The list filtered to one object is that object's history.
            newest = (
                AuditEntry.objects.filter(object_type=object_type, object_id=object_id)
                .select_related("actor")
                .first()
            )
            if newest is not None:
                extra_context["title"] = _("History of “%(object)s”") % {
                    "object": newest.object_repr
                }
                extra_context["history_object_url"] = audit_text.object_urls(
                    [newest], request
                ).get(newest.pk)
        return super().changelist_view(request, extra_context)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(RecordAdmin):
    """Emails the site sent or will send; the recipient is never shown (it is
    encrypted, and erased once the email is out)."""

    list_display = [
        "created_at", "kind", "object_id", "status", "attempts", "error", "sent_at",
    ]  # fmt: skip
    list_filter = ["status", "kind"]
    date_hierarchy = "created_at"
    fields = [
        "kind", "object_id", "language", "status", "attempts", "last_error",
        "created_at", "next_attempt_at", "relayed_at", "claimed_at", "sent_at",
    ]  # fmt: skip
    readonly_fields = fields

    @admin.display(description=gettext_lazy("last error"))
    def error(self, message):
        return Truncator(message.last_error).chars(80)


@admin.register(SiteConfiguration)
class SiteConfigurationAdmin(admin.ModelAdmin):
    """The one row of site settings: its change page, never a second row."""

    fields = ["review_by_second_person", "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        # The menu's link leads straight to the one row.
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        configuration = SiteConfiguration.current()
        return redirect(
            reverse("admin:ima_site_siteconfiguration_change", args=[configuration.pk])
        )

    def history_view(self, request, object_id, extra_context=None):
        # The audit log has each change with its old and new value; the admin's
        # own history only names the field.
        if request.user.has_perm("ima_site.view_auditentry"):
            return redirect(audit_text.history_url(SiteConfiguration.current()))
        return super().history_view(request, object_id, extra_context)

    def save_model(self, request, obj, form, change):
        saved = change_site_configuration(
            by=request.user,
            review_by_second_person=form.cleaned_data["review_by_second_person"],
        )
        obj.updated_at = saved.updated_at


class OrganizerProfileInline(admin.StackedInline):
    model = OrganizerProfile
    max_num = 1
    extra = 1
    verbose_name_plural = gettext_lazy("time zone and language")


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    inlines = [OrganizerProfileInline]

    def get_inlines(self, request, obj):
        # The add form asks for a username and password only; the profile after.
        return self.inlines if obj is not None else []


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        # The unique constraint involves the user, who is not a field of the form,
        # so the form would not check it: a clash would be an IntegrityError.
        name = self.cleaned_data["name"]
        if ApiToken.objects.filter(user=self.user, name=name).exists():
            raise forms.ValidationError(_("You already have a token with this name."))
        return name


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Organizers make and revoke their own tokens here; each sees only their own
    (superusers see everyone's). A token's value is shown once, when it is made."""

    form = ApiTokenForm
    list_display = ["name", "user", "created", "expiry"]
    list_select_related = ["user"]
    fields = ["name"]
    readonly_fields = ["name", "user", "created", "expiry"]
    actions = ["delete_selected"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundForm(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, user=request.user, **form_kwargs)

        return BoundForm

    def has_add_permission(self, request):
        return super().has_add_permission(request) and tokens.is_organizer(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # a token is never edited: revoke it and make another

    def _owns(self, request, obj) -> bool:
        return (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    def save_model(self, request, obj, form, change):
        token, request.new_api_token = tokens.create_api_token(
            user=request.user, name=form.cleaned_data["name"]
        )
        # The admin goes on with obj (its log entry, response_add): make it the
        # saved row.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        # The value exists only in this response: it is stored as a hash, and not
        # put in a message (those can live in a cookie).
        response = TemplateResponse(
            request,
            "admin/ima_site/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": obj,
                "value": request.new_api_token,
                "title": _("Your new API token"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request, obj):
        tokens.revoke_api_tokens(actor=request.user, tokens=[obj])

    def delete_queryset(self, request, queryset):
        tokens.revoke_api_tokens(actor=request.user, tokens=queryset)
