from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class OrganizersAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the organizers' site as admin.site, so that every
    app's @admin.register lands on it. Named in INSTALLED_APPS, never "ima_site"'s
    own config."""

    default = False
    default_site = "ima_site.admin_site.OrganizersAdminSite"


class ImaSiteConfig(AppConfig):
    default = True
    name = "ima_site"
    verbose_name = _("Site")

    def ready(self) -> None:
        from django.conf.locale import LANG_INFO
        from django.utils.module_loading import autodiscover_modules

        # Filipino has no ISO 639-1 code and Django ships no entry for it; the
        # interface is translated into it, so Django must know its name.
        LANG_INFO.setdefault(
            "fil",
            {
                "bidi": False,
                "code": "fil",
                "name": "Filipino",
                "name_local": "Filipino",
            },
        )
        # Each app's desk.py registers its panels on the desk (ima_site.desk).
        autodiscover_modules("desk")
