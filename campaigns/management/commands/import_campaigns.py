from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaigns.importer import import_files
from statements.importer import collect_files


class Command(BaseCommand):
    help = (
        "Import campaigns and their actions from Markdown files with YAML front "
        "matter. Safe to run again: a campaign is updated by its slug."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths", nargs="+", help="Markdown files or folders of them"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, paths, no_progress, **options):
        files = collect_files(paths)
        if not files:
            raise CommandError("No Markdown files found in: " + ", ".join(paths))
        with tqdm(
            total=len(files), unit="file", disable=no_progress, file=self.stderr._out
        ) as bar:
            report = import_files(files, progress=bar.update)
        for path, problem in report.failed:
            self.stderr.write(f"{path}: {problem}")
        summary = (
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.failed)} failed"
        )
        if report.failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
