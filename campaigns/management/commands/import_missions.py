from campaigns.mission_import import COLUMNS, import_missions
from signatories.csv_import import CsvImportCommand


class Command(CsvImportCommand):
    help = (
        "Import diplomatic missions from a CSV file with the columns "
        + ", ".join(COLUMNS)
        + ". Safe to run again."
    )
    columns = COLUMNS
    what = "Missions"

    def import_file(self, path, progress):
        return import_missions(path, progress=progress)
