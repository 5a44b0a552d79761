from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ImaSiteConfig(AppConfig):
    name = "ima_site"
    verbose_name = _("Site")

    def ready(self) -> None:
        from django.conf.locale import LANG_INFO

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
