from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from campaigns.importer import import_files
from campaigns.letter_delivery import add_mission_targets, add_target
from campaigns.mission_import import import_missions
from campaigns.models import Action, Alert, AlertVersion, Campaign, Letter, LetterCover
from signatories.csv_import import FileProblem
from signatories.models import Signature
from signatories.registry_import import import_organizations
from signatories.services.counts import count_event
from statements.models import Statement

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


LETTER_SLUG = "open-letter-stop-ops-mega"
COVER_SUBJECT = "Open letter: stop Ops Mega now"
COVER_TEXT = """\
Your Excellency,

Please find attached an open letter to the Prime Minister and the Government of
Malaysia about the immigration raids called "Ops Mega", with the organizations and
people who signed it.

We would be grateful if your mission forwarded it to the Government, and we look
forward to its answer.

Respectfully,
the secretariat of the International Migrants Alliance
"""
# (name, kind, organization, country, city, how shown): written for the demo. An
# organization signs through a person, whose name the letter does not show.
DEMO_SIGNATORIES = [
    ("Liza Manalo", "organization", "Kalayaan Domestic Workers Union", "HK",
     "Hong Kong", "full"),
    ("Sri Wahyuni", "organization", "Serikat Buruh Migran Nusantara", "ID",
     "Jakarta", "full"),
    ("Ramil Dizon", "organization", "Bagong Alyansa ng Manggagawang Migrante",
     "PH", "Quezon City", "full"),
    ("Bishnu Karki", "organization", "Nepal Returnee Workers Forum", "NP",
     "Kathmandu", "full"),
    ("Marisol Dagohoy", "person", "Kalayaan Domestic Workers Union", "HK",
     "Hong Kong", "full"),
    ("Wahyu Pranoto", "person", "", "ID", "Surabaya", "initials"),
    ("Rashida Begum", "person", "", "BD", "Dhaka", "full"),
    ("Anjali Thapa", "person", "", "NP", "Pokhara", "count_only"),
    ("Tomás Villareal", "person", "", "ES", "Madrid", "full"),
    ("Hnin Aye", "person", "", "MM", "Yangon", "initials"),
]  # fmt: skip


CONCERN_SLUG = "letter-of-concern"
CONCERN_SUBJECT = "Stop Ops Mega: send your letter of concern to {mission_name}"
CONCERN_BODY = """\
Dear friends of {organization},

Before the global day of action, we ask every member organization to send its own
letter of concern to the Malaysian mission nearest to it: {mission_name},
{mission_address}.

We have written a model letter for you. Open your personal link, change the letter
as you wish or upload your own on your letterhead, and send it for approval: the
secretariat sends it to the mission for you, with you in copy.

{letter_link}

In solidarity,
the IMA secretariat
"""


class Command(BaseCommand):
    help = (
        "Load the demo campaign 'Stop Ops Mega 3.0', Malaysia's missions, demo "
        "members and contacts, two alerts ready to send and a sign-on letter ready "
        "to deliver. Run after load_demo; safe to run again."
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
        letter = self._letter()
        self.stdout.write(
            f"Demo campaign: {missions.summary('missions')}; "
            f"{members.summary('members and contacts')}; "
            f"{len(campaigns.created)} campaign(s) new, "
            f"{len(campaigns.updated)} refreshed; "
            f"alert {'made' if created else 'kept as it is'}; "
            f"sign-on letter {'made' if letter else 'kept as it is'}"
        )

    def _alert(self) -> bool:
        """The demo's draft alerts, each made once: one for the day of action, one
        asking for letters of concern. An alert that exists (edited, sent or
        cancelled since) is left as it is."""
        made = False
        for slug, subject, body in (
            (ACTION_SLUG, ALERT_SUBJECT, ALERT_BODY),
            (CONCERN_SLUG, CONCERN_SUBJECT, CONCERN_BODY),
        ):
            made = self._alert_for(slug, subject, body) or made
        return made

    @transaction.atomic
    def _alert_for(self, slug: str, subject: str, body: str) -> bool:
        action = (
            Action.objects.select_for_update()
            .filter(campaign__slug=CAMPAIGN_SLUG, slug=slug)
            .first()
        )
        if action is None or action.alerts.exists():
            return False
        alert = Alert.objects.create(action=action, members_only=True)
        AlertVersion.objects.create(
            alert=alert, language="en", is_original=True, subject=subject, body=body
        )
        return True

    @transaction.atomic
    def _letter(self) -> bool:
        """The demo sign-on letter's delivery: a cover, Malaysia's missions and the
        Home Ministry as targets, and demo signatories. Made once: a letter that
        exists (delivered since, say) is left as it is."""
        statement = Statement.objects.filter(slug=LETTER_SLUG).first()
        campaign = Campaign.objects.filter(slug=CAMPAIGN_SLUG).first()
        if statement is None or Letter.objects.filter(statement=statement).exists():
            return False
        letter = Letter.objects.create(statement=statement, campaign=campaign)
        LetterCover.objects.create(
            letter=letter, language="en", subject=COVER_SUBJECT, text=COVER_TEXT
        )
        add_mission_targets(letter=letter, country="MY", by=None)
        add_target(
            letter=letter,
            by=None,
            name="Ministry of Home Affairs of Malaysia (demo address)",
            email="home-ministry@example.org",
        )
        now = timezone.now()
        signatures = Signature.objects.bulk_create(
            Signature(
                statement=statement,
                name=name,
                kind=kind,
                organization=organization,
                country=country,
                city=city,
                display=display,
                status=Signature.Status.CONFIRMED,
                confirmed_at=now,
                source=Signature.Source.IMPORT,
                collected_by="demo",
            )
            for name, kind, organization, country, city, display in DEMO_SIGNATORIES
        )
        # Counted as any confirmed signature: the next batch adds them.
        for signature in signatures:
            count_event(signature, 1)
        return True
