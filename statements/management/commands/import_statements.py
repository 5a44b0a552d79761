from statements.import_command import MarkdownImportCommand
from statements.importer import import_files


class Command(MarkdownImportCommand):
    help = "Import statements from Markdown files with YAML front matter."

    def import_files(self, files, progress):
        return import_files(files, progress=progress)
