import time
from base64 import b32encode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = (
        "Print the current two-factor code of an organizer's authenticator app, "
        "for the demo of `make run` (DJANGO_DEBUG=1 only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        # On a real site the code must come from the organizer's phone alone.
        if not settings.DEBUG:
            raise CommandError(
                "totp_code only runs with DJANGO_DEBUG=1, for a local demo: on a real "
                "site the code comes from the organizer's authenticator app."
            )
        user = get_user_model().objects.filter(username=username).first()
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if user is None or device is None:
            raise CommandError(f"{username!r} has no confirmed authenticator app.")
        oath = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        oath.time = now = time.time()
        left = device.step - int(now - device.t0) % device.step
        self.stdout.write(f"{oath.token():0{device.digits}d}  (good for {left} s more)")
        secret = b32encode(device.bin_key).decode()
        self.stdout.write(
            f"To use an authenticator app instead, add the secret {secret} "
            f"(time-based, {device.digits} digits, {device.step} s)."
        )
