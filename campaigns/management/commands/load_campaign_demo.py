from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.importer import import_files
from campaigns.mission_import import import_missions
from campaigns.models import Action, Alert, AlertVersion
from signatories.csv_import import FileProblem
from signatories.registry_import import import_organizations

DEMO = Path(settings.BASE_DIR) / "demo"
CAMPAIGN_SLUG = "stop-ops-mega-3"
ACTION_SLUG = "day-of-action-at-malaysian-missions"
ALERT_SUBJECT = "Stop Ops Mega: protest at a Malaysian mission near you on 18 January"
# The placeholders are those of campaigns.placeholders, filled in per recipient.
ALERT_BODY = """\
Dear friends of {organization},

The Government of Malaysia has launched a third wave of mass raids against
undocumented migrant workers ("Ops Mega 3.0"). The International Migrants Alliance
calls on all its member organizations to hold an action in front of Malaysia's
embassies and consulates on the same day, at the same local time.

**Your nearest Malaysian mission:** {mission_name}, {mission_address}
([map]({mission_map_link}))

**When:** {date}, {time}

Please bring banners with the campaign's demands and the hashtag #StopOpsMega,
and keep undocumented participants out of photos.

Will you be there? Tell us, and afterwards tell us how it went:
{pledge_link}

In solidarity,
the IMA secretariat
"""


class Command(BaseCommand):
    help = (
        "Load the demo campaign 'Stop Ops Mega 3.0', Malaysia's missions, demo "
        "members and contacts, and one alert ready to send. Run after load_demo; "
        "safe to run again."
    )

    def handle(self, *args, **options):
        try:
            missions = import_missions(DEMO / "missions.csv")
            members = import_organizations(DEMO / "organizations.csv")
        except FileProblem as problem:
            raise CommandError(str(problem)) from None
        campaigns = import_files(sorted((DEMO / "campaigns").glob("*.md")))
        problems = [*missions.errors, *members.errors]
        problems += [f"{path}: {error}" for path, error in campaigns.failed]
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError("The demo campaign data has errors (see above).")
        created = self._alert()
        self.stdout.write(
            f"Demo campaign: {missions.summary('missions')}; "
            f"{members.summary('members and contacts')}; "
            f"{len(campaigns.created)} campaign(s) new, "
            f"{len(campaigns.updated)} refreshed; "
            f"alert {'made' if created else 'kept as it is'}"
        )

    @transaction.atomic
    def _alert(self) -> bool:
        """One draft alert for the day of action, made once: an alert that exists
        (edited, sent or cancelled since) is left as it is."""
        action = (
            Action.objects.select_for_update()
            .filter(campaign__slug=CAMPAIGN_SLUG, slug=ACTION_SLUG)
            .first()
        )
        if action is None or action.alerts.exists():
            return False
        alert = Alert.objects.create(action=action, members_only=True)
        AlertVersion.objects.create(
            alert=alert,
            language="en",
            is_original=True,
            subject=ALERT_SUBJECT,
            body=ALERT_BODY,
        )
        return True
