from signatories.csv_import import CsvImportCommand
from signatories.registry_import import COLUMNS, import_organizations


class Command(CsvImportCommand):
    help = (
        "Import registry organizations and their contacts from a CSV file with the "
        "columns " + ", ".join(COLUMNS) + " (one row per contact). Safe to run again."
    )
    columns = COLUMNS
    what = "Organizations and contacts"

    def import_file(self, path, progress):
        return import_organizations(path, progress=progress)
