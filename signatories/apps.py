from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignatoriesConfig(AppConfig):
    name = "signatories"
    verbose_name = _("Signatories")

    def ready(self) -> None:
        from signatories import emails  # noqa: F401 - registers the email renderers
        from signatories.views import signing_part
        from statements.views import STATEMENT_PAGE_PARTS

        if signing_part not in STATEMENT_PAGE_PARTS:
            STATEMENT_PAGE_PARTS.append(signing_part)
