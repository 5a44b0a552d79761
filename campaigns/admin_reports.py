"""Pledges and reports in the admin: organizers read them, Publishers approve
reports (approval is what makes a report and its photos public)."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from campaigns import pledges
from campaigns.models import Pledge

# Each report is read on the confirmation page before it is approved.
MAX_APPROVED_AT_ONCE = 50


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
    actions = ["approve_reports", "withdraw_approvals"]
    change_form_template = "admin/campaigns/pledge/change_form.html"
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

    def _confirm_approval(self, request, queryset):
        """The page where the organizer reads each report before approving it; each
        goes back with the version read (pledges.report_version)."""
        reports = [p for p in queryset if p.reported_at is not None]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Approve these reports?"),
            "reports": [
                {
                    "pledge": pledge,
                    "version": pledges.report_version(pledge),
                    "photos": self.photos_shown(pledge),
                    "links": self.press_links_shown(pledge),
                }
                for pledge in reports
            ],
            "without_report": len(queryset) - len(reports),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": reverse("admin:campaigns_pledge_changelist"),
        }
        return TemplateResponse(
            request, "admin/campaigns/pledge/confirm_approve.html", context
        )

    @admin.action(
        description=gettext_lazy("Approve the reports (make them public)…"),
        permissions=["approve"],
    )
    def approve_reports(self, request, queryset):
        queryset = queryset.select_related("organization", "action").prefetch_related(
            "photos"
        )
        if queryset.count() > MAX_APPROVED_AT_ONCE:
            self.message_user(
                request,
                _(
                    "Select at most %(count)d reports at a time: each is read "
                    "before it is approved."
                )
                % {"count": MAX_APPROVED_AT_ONCE},
                messages.ERROR,
            )
            return None
        if request.POST.get("post") != "yes":
            return self._confirm_approval(request, queryset)
        approved = changed = skipped = 0
        for pledge in queryset:
            try:
                pledges.approve_report(
                    pledge=pledge,
                    by=request.user,
                    seen=request.POST.get(f"version_{pledge.pk}", ""),
                )
            except ValidationError as error:
                if error.code == "changed":
                    changed += 1
                else:
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
        if changed:
            self.message_user(
                request,
                ngettext(
                    "%(count)d report changed while you read it and was not "
                    "approved: read it again.",
                    "%(count)d reports changed while you read them and were not "
                    "approved: read them again.",
                    changed,
                )
                % {"count": changed},
                messages.WARNING,
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
        return None

    @admin.action(
        description=gettext_lazy("Withdraw the approval (take them off the site)"),
        permissions=["approve"],
    )
    def withdraw_approvals(self, request, queryset):
        withdrawn = sum(
            pledges.withdraw_approval(pledge=pledge, by=request.user)
            for pledge in queryset.filter(approved_at__isnull=False)
        )
        self.message_user(
            request,
            ngettext(
                "%(count)d report taken off the site.",
                "%(count)d reports taken off the site.",
                withdrawn,
            )
            % {"count": withdrawn},
            messages.SUCCESS,
        )
