"""Campaigns, their actions and the directory of missions in the admin; alerts are in
admin_alerts, pledges and reports in admin_reports."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy

from campaigns import (  # noqa: F401
    admin_alerts,
    admin_concern,
    admin_letters,
    admin_reports,
)
from campaigns.admin_forms import ActionForm, CampaignForm, MissionForm
from campaigns.models import Action, AlertDelivery, Campaign, CampaignStatement, Mission


class CampaignStatementInline(admin.TabularInline):
    model = CampaignStatement
    extra = 0
    fields = ["position", "role", "statement"]
    autocomplete_fields = ["statement"]
    verbose_name_plural = gettext_lazy("Timeline: launch statement, letters, updates")


class ActionInline(admin.TabularInline):
    """The campaign's actions at a glance; each is written on its own page, where
    the place fields and their checks are."""

    model = Action
    extra = 0
    fields = ["title", "kind", "date", "starts", "ends", "where"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    change_form_template = "admin/campaigns/campaign/change_form.html"
    inlines = [CampaignStatementInline, ActionInline]
    list_display = ["title", "status", "target_country", "starts_on", "ends_on"]
    list_filter = ["status", "target_country"]
    search_fields = ["title", "slug", "hashtag"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["created_by", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["title", "slug", "status", "language", "summary", "body"]}),
        (
            gettext_lazy("Target and demands"),
            {"fields": ["target_country", "target_authority", "demands", "hashtag"]},
        ),
        (gettext_lazy("Period"), {"fields": ["starts_on", "ends_on"]}),
        (
            gettext_lazy("Record"),
            {"fields": ["created_by", "created_at", "updated_at"]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None):
        # A campaign the public has seen stays: close it instead.
        if obj is not None and obj.status != Campaign.Status.DRAFT:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_add_action": self.admin_site._registry[Action].has_add_permission(
                request
            ),
        }
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    form = ActionForm
    change_form_template = "admin/campaigns/action/change_form.html"
    list_display = ["title", "campaign", "kind", "date", "starts", "ends", "where"]
    list_filter = ["kind", "where", "campaign"]
    list_select_related = ["campaign"]
    search_fields = ["title", "slug", "campaign__title"]
    date_hierarchy = "date"
    prepopulated_fields = {"slug": ["title"]}
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "campaign",
                    "title",
                    "slug",
                    "kind",
                    "instructions",
                    "letter_template",
                ]
            },
        ),  # fmt: skip
        (
            gettext_lazy("When (local wall-clock time)"),
            {"fields": ["date", "starts", "ends"]},
        ),
        (gettext_lazy("Where"), {"fields": ["where"]}),
        (
            gettext_lazy("The named place"),
            {
                "classes": ["action-place"],
                "description": gettext_lazy(
                    "Only for an action at one named place: its times are read in "
                    "the place's zone."
                ),
                "fields": [
                    "place_name",
                    "place_address",
                    "place_city",
                    "place_country",
                    "place_latitude",
                    "place_longitude",
                    "place_time_zone",
                ],
            },
        ),  # fmt: skip
    ]


@admin.register(Mission)
class MissionAdmin(admin.ModelAdmin):
    form = MissionForm
    list_display = [
        "name", "kind", "represented_country", "host_country", "city", "time_zone",
    ]  # fmt: skip
    list_filter = ["represented_country", "host_country", "kind"]
    search_fields = ["name", "city", "address", "email"]
    readonly_fields = ["updated_at"]


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """Read-only: the rows are the senders' record of who got what."""

    list_display = [
        "id", "alert_link", "organization", "language", "status", "skip_reason",
        "attempts", "sent_at",
    ]  # fmt: skip
    list_filter = ["status", "skip_reason"]
    list_select_related = ["alert", "organization"]
    search_fields = ["organization__name"]
    search_help_text = gettext_lazy("The organization's name.")
    show_full_result_count = False

    def get_fields(self, request, obj=None):
        fields = [
            "alert", "organization", "mission", "mission_abroad", "language",
            "status", "skip_reason", "send_after", "attempts", "next_attempt_at",
            "claimed_at", "sent_at", "message_id",
        ]  # fmt: skip
        # A server's refusal can quote the address: only for those who may see
        # contacts.
        if request.user.has_perm("signatories.view_contact"):
            fields.append("last_error")
        return fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=gettext_lazy("alert"), ordering="alert")
    def alert_link(self, delivery):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:campaigns_alert_change", args=[delivery.alert_id]),
            f"#{delivery.alert_id}",
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
