import secrets
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from ima_site.roles import ensure_roles
from statements.importer import collect_files, import_files
from statements.models import Statement
from statements.services import move_statement_as_site

DEMO_FOLDER = Path(settings.BASE_DIR) / "demo" / "statements"
# The demo statement that shows a scheduled publication, a few days ahead.
SCHEDULED_SLUG = "no-more-deaths-in-detention-in-saudi-arabia"
ORGANIZER = "organizer"


class Command(BaseCommand):
    help = "Load the demo statements and make an organizer login. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password-file",
            default=str(Path(settings.BASE_DIR) / "var" / "organizer-password"),
            help="where the organizer's password is kept between runs",
        )

    def handle(self, *args, password_file, **options):
        report = import_files(collect_files([str(DEMO_FOLDER)]))
        for path, problem in report.failed:
            self.stderr.write(f"{path}: {problem}")
        self.stdout.write(
            f"Demo statements: {len(report.created)} new, "
            f"{len(report.updated)} refreshed"
        )
        created = {Path(path).name for path in report.created}
        self._schedule_demo_statement(first_time=f"{SCHEDULED_SLUG}-en.md" in created)
        self._organizer(Path(password_file))

    @transaction.atomic
    def _schedule_demo_statement(self, first_time: bool) -> None:
        # Imported as a draft the first time only; later runs leave it as it is,
        # published by beat in the meantime or not. It takes the workflow's path
        # (review, then schedule) with the site as actor, as an organizer's would.
        statement = Statement.objects.filter(slug=SCHEDULED_SLUG).first()
        if statement is None or not first_time or statement.status != "draft":
            return
        statement = move_statement_as_site(
            statement=statement, to=Statement.Status.IN_REVIEW, source="demo"
        )
        move_statement_as_site(
            statement=statement,
            to=Statement.Status.SCHEDULED,
            source="demo",
            at=timezone.now() + timedelta(days=3),
        )

    def _organizer(self, password_file: Path) -> None:
        # The password is kept in var/ (ignored by git) so that every run can print it.
        User = get_user_model()
        user = User.objects.filter(username=ORGANIZER).first()
        if user is None or not password_file.exists():
            password = secrets.token_urlsafe(12)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password)
            password_file.chmod(0o600)
            user = user or User(username=ORGANIZER, email="organizer@example.org")
            user.is_staff = True
            user.set_password(password)
            user.save()
            ensure_roles(Group, Permission)
            user.groups.set(Group.objects.filter(name__in=["Editors", "Publishers"]))
        # Publishers must log in with a second factor. The demo organizer gets an
        # authenticator app of its own (kept if one was set up from the admin), and
        # a command prints its codes, so a newcomer needs no phone to look around.
        if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
            TOTPDevice.objects.create(user=user, name="Demo app", confirmed=True)
        password = password_file.read_text().strip()
        # One line: the two-factor step is part of the login it describes.
        self.stdout.write(
            self.style.SUCCESS(
                f"Organizer login: {ORGANIZER} / {password}  (editor and publisher), "
                "then a two-factor code from `.venv/bin/python -m ima_site.localdev "
                f"manage totp_code {ORGANIZER}`"
            )
        )
