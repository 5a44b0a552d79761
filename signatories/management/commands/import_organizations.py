from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from signatories.csv_import import FileProblem, read_rows
from signatories.registry_import import COLUMNS, import_organizations


class Command(BaseCommand):
    help = (
        "Import registry organizations and their contacts from a CSV file with the "
        "columns " + ", ".join(COLUMNS) + " (one row per contact). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file")
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, file, no_progress, **options):
        path = Path(file)
        try:
            total = len(read_rows(path, COLUMNS))
            with tqdm(
                total=total, unit="row", disable=no_progress, file=self.stderr._out
            ) as bar:
                report = import_organizations(path, progress=bar.update)
        except FileProblem as problem:
            raise CommandError(str(problem)) from None
        for error in report.errors:
            self.stderr.write(f"{path}: {error}")
        summary = report.summary("Organizations and contacts")
        if report.errors:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
