from campaigns.importer import import_files
from statements.import_command import MarkdownImportCommand


class Command(MarkdownImportCommand):
    help = (
        "Import campaigns and their actions from Markdown files with YAML front "
        "matter. Safe to run again: a campaign is updated by its slug."
    )

    def import_files(self, files, progress):
        return import_files(files, progress=progress)
