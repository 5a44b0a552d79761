"""The shape every Markdown import command shares: files or folders in, a progress
bar, one line per bad file, a summary, and a non-zero exit when any file failed."""

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from statements.importer import Report, collect_files


class MarkdownImportCommand(BaseCommand):
    def import_files(
        self, files: list[Path], progress: Callable[[int], object]
    ) -> Report:
        raise NotImplementedError

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
            report = self.import_files(files, bar.update)
        for path, problem in report.failed:
            self.stderr.write(f"{path}: {problem}")
        summary = (
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.failed)} failed"
        )
        if report.failed:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
