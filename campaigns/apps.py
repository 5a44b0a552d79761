from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Registers the email renderers: an outbox worker renders a row of these
        # kinds without ever importing the views that queue them.
        from campaigns import concern_link, contact_emails  # noqa: F401
        from campaigns.letter_public import letter_delivery_part
        from statements.views import STATEMENT_PAGE_PARTS

        # A sign-on letter's page shows its delivery, as the signing block shows
        # signing: statements never imports campaigns.
        if letter_delivery_part not in STATEMENT_PAGE_PARTS:
            STATEMENT_PAGE_PARTS.append(letter_delivery_part)
