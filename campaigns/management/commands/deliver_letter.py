import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaigns import letter_delivery, letter_sending
from campaigns.models import Letter


class Command(BaseCommand):
    help = (
        "Deliver a sign-on letter now, as its deadline would: close signing on it, "
        "compile it once and send it to every target that has not had it, from this "
        "process, with a progress bar. Run again, it sends only what is still due. "
        "--test --to EMAIL sends one test copy there instead. Run as the site (no "
        "user): whoever may run this command on the server may deliver."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the sign-on letter's statement slug")
        parser.add_argument(
            "--test", action="store_true", help="send one test copy (needs --to)"
        )
        parser.add_argument("--to", metavar="EMAIL", help="where the test goes")
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, slug, test, to, no_progress, **options):
        letter = (
            Letter.objects.select_related("statement")
            .filter(statement__slug=slug)
            .first()
        )
        if letter is None:
            raise CommandError(
                f"No letter delivery for a statement {slug!r}: make one in the admin "
                "(Campaigns › Letter deliveries)."
            )
        if test and not to:
            raise CommandError("--test needs --to EMAIL: a command has no user.")
        if to and not test:
            raise CommandError("--to is for --test only: a delivery goes to targets.")
        try:
            if test:
                letter_delivery.start_delivery(
                    letter=letter, by=None, test=True, to=to, here=True
                )
                self.stdout.write(self.style.SUCCESS(f"Test sent to {to}."))
                return
            if letter.status == Letter.Status.GATHERING:
                letter = letter_delivery.start_delivery(
                    letter=letter, by=None, here=True
                )
        except letter_delivery.LetterError as error:
            raise CommandError(str(error)) from None
        progress = letter_sending.delivery_progress(letter)
        with tqdm(
            total=progress["targets"], unit="email", disable=no_progress,
            file=self.stderr._out, desc="Compiling",
        ) as bar:  # fmt: skip

            def advance() -> None:
                bar.set_description("Sending")
                counts = letter_sending.delivery_progress(letter)
                bar.update(counts["sent"] + counts["failed"] - bar.n)

            letter_sending.deliver_now(letter_id=letter.pk, progress=advance)
            # The bulk worker may be sending it (one sender per letter): watch it
            # finish. Retries waiting for their time are left to beat.
            while letter_sending.is_busy(letter_id=letter.pk):
                time.sleep(1)
                letter_sending.deliver_now(letter_id=letter.pk, progress=advance)
                advance()
            advance()
        letter.refresh_from_db()
        progress = letter_sending.delivery_progress(letter)
        self.stdout.write(
            self.style.SUCCESS(
                "Letter {status}: {sent} sent, {failed} failed, {queued} waiting for "
                "a retry, {sending} being sent elsewhere, of {targets} targets.".format(
                    status=letter.get_status_display().lower(), **progress
                )
            )
        )
