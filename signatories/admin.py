from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries as country_registry

from ima_site.admin import RecordAdmin
from ima_site.crypto import keyed_hash
from ima_site.models import record_audit_entry
from signatories import admin_sheets, services
from signatories.canonical import canonical_email
from signatories.exports import csv_response
from signatories.models import (
    CountCheck,
    OfflineCount,
    Organization,
    Signature,
    SigningSwitch,
)
from statements.models import Statement

REVIEW = "signatories.review_signatures"
EXPORT = "signatories.export_signatures"


class CountryFilter(admin.SimpleListFilter):
    title = gettext_lazy("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = (
            Signature.objects.order_by().values_list("country", flat=True).distinct()
        )
        return sorted(
            ((c, country_registry.name(c) or c) for c in codes), key=lambda x: x[1]
        )

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


class FindForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))


class ExportForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"),
        queryset=Statement.objects.filter(accepts_signatures=True),
    )
    only_counted = forms.BooleanField(
        label=gettext_lazy("Only confirmed signatures that are not held"),
        required=False,
        initial=True,
    )
    excel = forms.BooleanField(
        label=gettext_lazy("For Excel (adds a byte order mark)"), required=False
    )


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    list_display = [
        "name", "organization", "country", "kind", "status", "is_held", "hold_reason",
        "source", "created_at", "statement_slug",
    ]  # fmt: skip
    list_filter = [
        "status", "is_held", "source", "kind", CountryFilter, "created_at", "statement",
    ]  # fmt: skip
    search_fields = ["name", "organization"]
    date_hierarchy = "created_at"
    list_select_related = ["statement"]
    list_per_page = 100
    actions = ["hold", "release", "reject", "erase", "link_registry"]
    readonly_fields = [
        "statement", "kind", "name", "organization", "member_organization", "role",
        "country", "city", "display", "language", "consent", "status", "is_held",
        "hold_reason", "source", "collected_by", "created_at", "confirmed_at",
    ]  # fmt: skip
    exclude = ["email_hash", "network_hash", "link_nonce", "withdraw_nonce"]
    change_list_template = "admin/signatories/signature/change_list.html"

    @admin.display(description=gettext_lazy("statement"), ordering="statement__slug")
    def statement_slug(self, signature):
        return signature.statement.slug

    def lookup_allowed(self, lookup, value, request=None):
        # The "find by email" form redirects to the list filtered by ids.
        return lookup == "id__in" or super().lookup_allowed(lookup, value, request)

    def find_view(self, request):
        """Find a signer's signatures by email, for an erasure request, say.

        The address is posted, never put in a URL (which access logs and browser
        histories keep), and compared by its keyed hash: it is not stored in clear.
        """
        if not request.user.has_perm("signatories.view_signature"):
            raise PermissionDenied
        form = FindForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            email_hash = keyed_hash(
                "email", canonical_email(form.cleaned_data["email"])
            )
            ids = list(
                Signature.objects.filter(email_hash=email_hash).values_list(
                    "id", flat=True
                )
            )
            record_audit_entry(
                actor=request.user, action="signatures.find_by_email", obj=request.user,
                details={"found": len(ids)},
            )  # fmt: skip
            if not ids:
                self.message_user(request, _("No signature with that email."))
                return redirect("admin:signatories_signature_find")
            url = reverse("admin:signatories_signature_changelist")
            return redirect(f"{url}?id__in={','.join(map(str, ids))}")
        return render(
            request,
            "admin/signatories/signature/form_page.html",
            {**self.admin_site.each_context(request), "form": form,
             "title": _("Find signatures by email"), "opts": self.model._meta},
        )  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _ids(self, queryset):
        return list(queryset.values_list("id", flat=True))

    @admin.action(description=gettext_lazy("Hold for review"), permissions=["review"])
    def hold(self, request, queryset):
        count = services.hold_signatures(ids=self._ids(queryset), by=request.user)
        self.message_user(request, _("%(count)d held.") % {"count": count})

    @admin.action(
        description=gettext_lazy("Release (count and list)"), permissions=["review"]
    )
    def release(self, request, queryset):
        count = services.release_signatures(ids=self._ids(queryset), by=request.user)
        self.message_user(request, _("%(count)d released.") % {"count": count})

    @admin.action(
        description=gettext_lazy("Reject as not genuine"), permissions=["review"]
    )
    def reject(self, request, queryset):
        count = services.reject_signatures(ids=self._ids(queryset), by=request.user)
        self.message_user(request, _("%(count)d rejected.") % {"count": count})

    @admin.action(description=gettext_lazy("Erase completely"), permissions=["review"])
    def erase(self, request, queryset):
        count = services.erase_signatures(ids=self._ids(queryset), by=request.user)
        self.message_user(request, _("%(count)d erased.") % {"count": count})

    @admin.action(
        description=gettext_lazy("Link organizations to the member registry"),
        permissions=["review"],
    )
    def link_registry(self, request, queryset):
        count = services.link_to_registry(ids=self._ids(queryset), by=request.user)
        self.message_user(request, _("%(count)d linked.") % {"count": count})

    def get_urls(self):
        return [
            path("export/", self.admin_site.admin_view(self.export_view),
                 name="signatories_signature_export"),
            *admin_sheets.urls(self),
            path("find/", self.admin_site.admin_view(self.find_view),
                 name="signatories_signature_find"),
            *super().get_urls(),
        ]  # fmt: skip

    def export_view(self, request):
        if not request.user.has_perm(EXPORT):
            raise PermissionDenied
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            export = services.export_signatures(
                statement=form.cleaned_data["statement"],
                by=request.user,
                via="admin",
                only_counted=form.cleaned_data["only_counted"],
                excel=form.cleaned_data["excel"],
            )
            return csv_response(export)
        return render(
            request,
            "admin/signatories/signature/form_page.html",
            {**self.admin_site.each_context(request), "form": form,
             "title": _("Export signatories"), "opts": self.model._meta},
        )  # fmt: skip


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "acronym",
        "country",
        "city",
        "sector",
        "is_member",
        "verified",
    ]
    list_filter = ["is_member", "verified", "country", "sector"]
    search_fields = ["name", "acronym", "city"]


@admin.register(OfflineCount)
class OfflineCountAdmin(admin.ModelAdmin):
    list_display = ["statement", "count", "note", "added_at"]
    list_filter = ["statement"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit_entry(
            actor=request.user,
            action="signatures.offline_count",
            obj=obj.statement,
            details={"count": obj.count, "note": obj.note},
        )


@admin.register(CountCheck)
class CountCheckAdmin(RecordAdmin):
    list_display = ["at", "statement", "found", "expected"]


@admin.register(SigningSwitch)
class SigningSwitchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "changed_at"]

    def has_add_permission(self, request):
        # One switch at most, and only for those allowed to add it.
        return (
            super().has_add_permission(request) and not SigningSwitch.objects.exists()
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit_entry(
            actor=request.user,
            action="signing.pause_all" if obj.paused else "signing.resume_all",
            obj=obj,
        )
        if obj.paused:
            self.message_user(
                request, _("Signing is paused on every statement."), messages.WARNING
            )
