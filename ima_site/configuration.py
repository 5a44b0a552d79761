"""Changing the one-row site settings, on the record."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ima_site.models import SiteConfiguration, record_audit_entry

CHANGE_PERMISSION = "ima_site.change_siteconfiguration"
FIELDS = ["review_by_second_person"]


def change_site_configuration(
    *, by, review_by_second_person: bool
) -> SiteConfiguration:
    """Save the settings and write one audit entry with each old -> new value;
    saving the same values again writes nothing."""
    if by is None or not by.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied(_("You do not have permission to do this."))
    new = {"review_by_second_person": review_by_second_person}
    SiteConfiguration.current()  # the row exists before it is locked
    with transaction.atomic():
        configuration = SiteConfiguration.objects.select_for_update().get(pk=1)
        changes = [
            {"field": name, "old": getattr(configuration, name), "new": new[name]}
            for name in FIELDS
            if getattr(configuration, name) != new[name]
        ]
        if not changes:
            return configuration
        for change in changes:
            setattr(configuration, change["field"], change["new"])
        configuration.save()
        record_audit_entry(
            actor=by,
            action="site_settings.change",
            obj=configuration,
            details={"changes": changes},
        )
    return configuration
