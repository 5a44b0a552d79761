import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from campaigns.letter_compile import write_letter_pdf
from campaigns.models import Letter
from statements.models import Statement


class Command(BaseCommand):
    help = (
        "Write a sign-on letter as it is now, with its signatories, to a PDF file, "
        "with a progress bar. Stores nothing and sends nothing: the compilation "
        "delivered to the targets is made by delivering (deliver_letter). Works "
        "before the letter's delivery is set up."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the sign-on letter's statement slug")
        parser.add_argument(
            "--out", required=True, metavar="FILE.pdf", help="where to write the PDF"
        )
        parser.add_argument(
            "--no-progress", action="store_true", help="do not show the progress bar"
        )

    def handle(self, *args, slug, out, no_progress, **options):
        statement = (
            Statement.objects.prefetch_related("versions").filter(slug=slug).first()
        )
        if statement is None:
            raise CommandError(f"There is no statement {slug!r}.")
        if statement.kind != Statement.Kind.SIGN_ON_LETTER:
            raise CommandError(
                f"The statement {slug!r} is not a sign-on letter "
                f"(it is a {statement.get_kind_display().lower()})."
            )
        if statement.original_version() is None:
            raise CommandError(f"The statement {slug!r} has no text yet.")
        letter = Letter.objects.filter(statement=statement).first()
        target = Path(out)
        if not target.parent.is_dir():
            raise CommandError(f"There is no folder {str(target.parent)!r}.")
        # Written beside the target and renamed at the end: an interrupted run
        # never leaves half a PDF under the name asked for. Readable by its owner
        # only (mkstemp's mode): it holds the signatories' names.
        handle, partial = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part"
        )
        try:
            with (
                os.fdopen(handle, "wb") as file,
                tqdm(unit="name", disable=no_progress, file=self.stderr._out) as bar,
            ):

                def advance(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                info = write_letter_pdf(letter or statement, file, progress=advance)
            os.replace(partial, target)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {target}: {info.pages} pages, {info.signatures} signatures "
                f"counted, {info.named} signatories named."
            )
        )
