from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Registers the email renderers: an outbox worker renders a row of these
        # kinds without ever importing the views that queue them.
        from campaigns import contact_emails  # noqa: F401
