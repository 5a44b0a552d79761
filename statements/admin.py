from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries as country_registry

from ima_site.languages import is_known_language
from ima_site.models import record_audit_entry
from statements import services
from statements.models import Link, MediaContact, Statement, StatementVersion, Topic


class LinesField(forms.CharField):
    """A list of short texts, typed one per line."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        lines = [line.strip() for line in (value or "").splitlines()]
        return [line for line in lines if line]

    def validate(self, value):
        for line in value:
            if len(line) > 300:
                raise ValidationError(_("Each line must be at most 300 characters."))


class CountriesField(forms.CharField):
    """ISO 3166-1 alpha-2 codes separated by commas or spaces: MY, PH."""

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        codes = (value or "").replace(",", " ").upper().split()
        return list(dict.fromkeys(codes))

    def validate(self, value):
        unknown = [code for code in value if code not in country_registry]
        if unknown:
            raise ValidationError(
                _("Not ISO 3166-1 country codes: %(codes)s")
                % {"codes": ", ".join(unknown)}
            )


class StatementForm(forms.ModelForm):
    slogans = LinesField(
        label=gettext_lazy("Slogans and demands"),
        required=False,
        help_text=gettext_lazy("One per line, in the order they are shown."),
    )
    countries = CountriesField(
        label=gettext_lazy("Countries"),
        required=False,
        help_text=gettext_lazy("Two-letter codes separated by commas: MY, PH, ID."),
    )

    class Meta:
        model = Statement
        fields = [
            "slug", "kind", "issued_on", "dateline", "issuer", "signed_by",
            "signed_by_role", "addressees", "slogans", "countries", "topics",
            "accepts_signatures", "signature_goal", "signers", "signing_closes_at",
            "signing_paused", "signatories_shown",
        ]  # fmt: skip


class VersionFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [
            form.cleaned_data
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if not kept:
            raise ValidationError(_("Add at least one language version."))
        originals = sum(1 for data in kept if data.get("is_original"))
        if originals != 1:
            raise ValidationError(
                _("Mark exactly one language version as the original.")
            )
        for data in kept:
            if not is_known_language(data.get("language", "")):
                raise ValidationError(
                    _("%(code)s is not a language code (en, es, fr, id, fil, ar…).")
                    % {"code": data.get("language")}
                )


LOCKED_STATUSES = {
    Statement.Status.SCHEDULED,
    Statement.Status.PUBLISHED,
    Statement.Status.ARCHIVED,
    Statement.Status.WITHDRAWN,
}


def locked_for(request, statement) -> bool:
    """Once a statement is scheduled or public, only publishers may change it."""
    return (
        statement is not None
        and statement.status in LOCKED_STATUSES
        and not request.user.has_perm(services.PUBLISH_PERMISSION)
    )


class LockedWithStatementInline:
    """Inlines follow their statement: read-only for editors once it is public."""

    def has_add_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_delete_permission(
            request, obj
        )


class StatementVersionInline(LockedWithStatementInline, admin.StackedInline):
    model = StatementVersion
    formset = VersionFormSet
    extra = 0
    min_num = 1
    fields = ["language", "is_original", "title", "subtitle", "summary", "body"]


class LinkInline(LockedWithStatementInline, admin.TabularInline):
    model = Link
    extra = 0
    fields = ["position", "title", "url", "source"]


class MediaContactInline(LockedWithStatementInline, admin.TabularInline):
    model = MediaContact
    extra = 0
    fields = ["position", "team", "name", "role", "organization", "phone", "email"]


WORKFLOW_ACTIONS = {
    "submit": (services.submit_for_review, gettext_lazy("Sent for review.")),
    "return_to_draft": (services.return_to_draft, gettext_lazy("Returned to draft.")),
    "publish": (services.publish_statement, gettext_lazy("Published.")),
    "schedule": (services.publish_statement, gettext_lazy("Scheduled.")),
    "withdraw": (services.withdraw_statement, gettext_lazy("Withdrawn.")),
    "archive": (services.archive_statement, gettext_lazy("Archived.")),
}


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    form = StatementForm
    change_form_template = "admin/statements/statement/change_form.html"
    inlines = [StatementVersionInline, LinkInline, MediaContactInline]
    list_display = ["title", "kind", "status", "issued_on", "publish_at", "languages"]
    list_filter = ["status", "kind", "topics", "accepts_signatures"]
    search_fields = ["slug", "versions__title"]
    date_hierarchy = "issued_on"
    readonly_fields = ["status", "publish_at", "created_by", "created_at", "updated_at"]
    filter_horizontal = ["topics"]
    fieldsets = [
        (None, {"fields": ["slug", "kind", "status", "publish_at"]}),
        (
            gettext_lazy("Issue"),
            {
                "fields": [
                    "issued_on", "dateline", "issuer", "signed_by", "signed_by_role",
                    "addressees",
                ]
            },
        ),
        (gettext_lazy("Message"), {"fields": ["slogans", "countries", "topics"]}),
        (
            gettext_lazy("Signatures"),
            {
                "fields": [
                    "accepts_signatures", "signing_paused", "signers",
                    "signing_closes_at", "signature_goal", "signatories_shown",
                ],
                "description": gettext_lazy(
                    "Times are in the site's time zone. Signers' names are erased "
                    "some time after signing closes: see the README."
                ),
            },
        ),
        (
            gettext_lazy("Record"),
            {
                "fields": ["created_by", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    def view_on_site(self, statement):
        # Drafts have no public page yet: the Preview button shows them instead.
        return statement.get_absolute_url() if statement.is_public() else None

    @admin.display(description=gettext_lazy("title"))
    def title(self, statement):
        return str(statement)

    @admin.display(description=gettext_lazy("languages"))
    def languages(self, statement):
        return ", ".join(statement.languages())

    def has_change_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        # Public statements are withdrawn, not deleted: their address answers 410.
        if obj is not None and obj.status in LOCKED_STATUSES - {
            Statement.Status.SCHEDULED
        }:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        statement = form.instance
        if change and statement.status in LOCKED_STATUSES:
            # Changes to what the public sees are on the record, field by field.
            changed = list(form.changed_data)
            for formset in formsets:
                name = formset.model._meta.model_name
                changed += [f"{name}: added" for _ in formset.new_objects]
                changed += [
                    f"{name}: {', '.join(f)}" for _, f in formset.changed_objects
                ]
                changed += [f"{name}: deleted" for _ in formset.deleted_objects]
            if changed:
                record_audit_entry(
                    actor=request.user,
                    action="statement.edit_public",
                    obj=statement,
                    details={"status": statement.status, "changed": changed},
                )

    def get_urls(self):
        return [
            path(
                "<path:object_id>/workflow/<str:action>/",
                self.admin_site.admin_view(self.workflow_view),
                name="statements_statement_workflow",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        extra_context["can_publish"] = request.user.has_perm(
            services.PUBLISH_PERMISSION
        )
        extra_context["now"] = timezone.localtime()
        extra_context["workflow_actions"] = list(WORKFLOW_ACTIONS)
        return super().change_view(request, object_id, form_url, extra_context)

    def workflow_view(self, request, object_id, action):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        statement = get_object_or_404(Statement, pk=object_id)
        if action not in WORKFLOW_ACTIONS or not self.has_change_permission(
            request, statement
        ):
            raise PermissionDenied
        service, done = WORKFLOW_ACTIONS[action]
        kwargs = {"statement": statement, "by": request.user}
        if action == "schedule":
            at = parse_datetime(request.POST.get("publish_at", ""))
            if at is None:
                self.message_user(request, _("Give a date and time."), messages.ERROR)
                return self._back(statement)
            if timezone.is_naive(at):
                at = timezone.make_aware(at)
            if at <= timezone.now():
                self.message_user(
                    request,
                    _("That time has passed: publish now instead."),
                    messages.ERROR,
                )
                return self._back(statement)
            kwargs["at"] = at
        if action == "withdraw":
            kwargs["reason"] = request.POST.get("reason", "")[:500]
        try:
            service(**kwargs)
        except (services.WorkflowError, PermissionDenied) as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(request, done, messages.SUCCESS)
        return self._back(statement)

    @staticmethod
    def _back(statement):
        return HttpResponseRedirect(
            reverse("admin:statements_statement_change", args=[statement.pk])
        )


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    """Editors add topics; once a public statement shows one, only publishers change
    or delete it, and the service records it."""

    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def _locked(self, request, topic) -> bool:
        return topic is not None and not services.may_change_topic(request.user, topic)

    def has_change_permission(self, request, obj=None):
        return not self._locked(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not self._locked(request, obj) and super().has_delete_permission(
            request, obj
        )

    def save_model(self, request, obj, form, change):
        if change:
            services.change_topic(topic=obj, by=request.user)
        else:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.delete_topic(topic=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # The bulk action checks the permission without an object: the service
        # checks each topic, and one refusal undoes the whole batch.
        with transaction.atomic():
            for topic in queryset:
                services.delete_topic(topic=topic, by=request.user)
