"""Pledges and reports in the admin: organizers read them, Publishers approve
reports (approval is what makes a report and its photos public)."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy, ngettext

from campaigns import pledges
from campaigns.models import Pledge


class ApprovedFilter(admin.SimpleListFilter):
    title = gettext_lazy("report")
    parameter_name = "report"

    def lookups(self, request, model_admin):
        return [
            ("waiting", gettext_lazy("Waiting for approval")),
            ("approved", gettext_lazy("Approved")),
            ("none", gettext_lazy("No report yet")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(reported_at__isnull=False, approved_at__isnull=True)
        if self.value() == "approved":
            return queryset.filter(approved_at__isnull=False)
        if self.value() == "none":
            return queryset.filter(reported_at__isnull=True)
        return queryset


@admin.register(Pledge)
class PledgeAdmin(admin.ModelAdmin):
    list_display = [
        "organization",
        "action",
        "status",
        "expected_people",
        "people",
        "reported_at",
        "approved",
    ]
    list_filter = [ApprovedFilter, "status", "action"]
    list_select_related = ["organization", "action"]
    search_fields = ["organization__name", "action__title"]
    actions = ["approve_reports"]
    fields = [
        "action",
        "organization",
        "mission",
        "status",
        "expected_people",
        "people",
        "account",
        "press_links_shown",
        "photos_shown",
        "pledged_at",
        "reported_at",
        "approved_at",
        "approved_by",
    ]
    readonly_fields = fields

    @admin.display(boolean=True, description=gettext_lazy("approved"))
    def approved(self, pledge):
        return pledge.approved_at is not None

    @admin.display(description=gettext_lazy("press links"))
    def press_links_shown(self, pledge):
        # Typed by a member: shown as text links, never as markup.
        return format_html_join(
            "",
            '<p><a href="{}" rel="noopener noreferrer">{}</a></p>',
            ((link, link) for link in pledge.press_links),
        )

    @admin.display(description=gettext_lazy("photos"))
    def photos_shown(self, pledge):
        try:
            urls = [
                reverse("campaigns:report_photo", args=[photo.pk])
                for photo in pledge.photos.all()
            ]
        except NoReverseMatch:
            count = pledge.photos.count()
            return ngettext("%(count)d photo", "%(count)d photos", count) % {
                "count": count
            }
        return format_html_join(
            "",
            '<p><a href="{}"><img src="{}" alt="" width="240" loading="lazy"></a></p>',
            ((url, url) for url in urls),
        )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_approve_permission(self, request):
        return request.user.has_perm("campaigns.change_pledge")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(
        description=gettext_lazy("Approve the reports (make them public)"),
        permissions=["approve"],
    )
    def approve_reports(self, request, queryset):
        approved = skipped = 0
        for pledge in queryset:
            try:
                pledges.approve_report(pledge=pledge, by=request.user)
            except ValidationError:
                skipped += 1
            else:
                approved += 1
        if approved:
            self.message_user(
                request,
                ngettext(
                    "%(count)d report approved.",
                    "%(count)d reports approved.",
                    approved,
                )
                % {"count": approved},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(count)d pledge has no report yet and was left as it is.",
                    "%(count)d pledges have no report yet and were left as they are.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )
