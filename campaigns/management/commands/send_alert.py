import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaigns import sending
from campaigns.models import Alert

FINISHED = {Alert.Status.SENT, Alert.Status.CANCELLED, Alert.Status.PAUSED}


class Command(BaseCommand):
    help = (
        "Send an alert as the Send button does: freeze its text, write one delivery "
        "per contact, and let the bulk worker send them, with a progress bar. "
        "--test EMAIL sends one test email instead. Run as the site (no user): "
        "whoever may run this command on the server may send."
    )

    def add_arguments(self, parser):
        parser.add_argument("alert_id", type=int)
        parser.add_argument("--test", metavar="EMAIL", help="send one test email here")
        parser.add_argument(
            "--here",
            action="store_true",
            help="send from this process instead of the bulk worker (no worker needed)",
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="start the send and return at once"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, alert_id, test, here, no_wait, no_progress, **options):
        alert = Alert.objects.filter(pk=alert_id).first()
        if alert is None:
            raise CommandError(f"There is no alert {alert_id}.")
        try:
            if test:
                sending.send_test_alert(alert=alert, to=test, by=None)
                self.stdout.write(self.style.SUCCESS(f"Test sent to {test}."))
                return
            alert = sending.start_alert(alert=alert, by=None)
        except sending.AlertError as error:
            raise CommandError(str(error)) from None
        progress = sending.alert_progress(alert)
        if alert.status == Alert.Status.SCHEDULED or no_wait:
            self.stdout.write(self._summary(progress))
            return
        with tqdm(
            total=progress["total"], unit="email", disable=no_progress,
            file=self.stderr._out,
        ) as bar:  # fmt: skip
            while True:
                if here:
                    sending.send_batch(alert_id=alert.pk)
                    sending.finish_if_done(alert_id=alert.pk)
                else:
                    time.sleep(1)
                progress = sending.alert_progress(alert)
                done = progress["total"] - progress["queued"] - progress["sending"]
                bar.update(done - bar.n)
                if progress["status"] in FINISHED:
                    break
                if here and not sending.has_due_rows(alert_id=alert.pk):
                    # Only retries waiting for their time are left: beat has them.
                    break
        self.stdout.write(self.style.SUCCESS(self._summary(progress)))

    @staticmethod
    def _summary(progress: dict) -> str:
        return (
            "Alert {status}: {sent} sent, {failed} failed, {skipped} skipped, "
            "{queued} waiting, {cancelled} cancelled of {total}."
        ).format(**progress)
