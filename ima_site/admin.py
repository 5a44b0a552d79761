from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ima_site.models import AuditEntry

admin.site.site_header = _("IMA campaign site")
admin.site.site_title = _("IMA campaign site")
admin.site.index_title = _("Organizers' desk")


class RecordAdmin(admin.ModelAdmin):
    """For records the site writes itself: shown, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    # The log is evidence: nobody edits or deletes it from the admin.
    list_display = ["at", "actor", "action", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor__username", "action"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
