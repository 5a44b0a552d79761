"""Start-up with bad environment variables stops with a message naming the variable."""

import os
import subprocess
import sys

import pytest
from django.conf import settings

GOOD = {
    "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "DJANGO_SECRET_KEY": "k" * 50,
    "DJANGO_DEBUG": "0",
    "DJANGO_ALLOWED_HOSTS": "ima.example.org",
    "SITE_URL": "https://ima.example.org",
    "SIGNER_DATA_KEYS": "aW1hLXNpdGUtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE=",
    "SIGNER_HASH_KEY": "h" * 40,
}


def start(**overrides) -> subprocess.CompletedProcess:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "EMAIL_", "SITE_", "SIGNER_"))
    }
    env.update(GOOD)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "ima_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_good_environment_starts():
    result = start()
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG='maybe' is not a boolean"),
        ("DJANGO_SECRET_KEY", None, "DJANGO_SECRET_KEY is not set"),
        ("DJANGO_SECRET_KEY", "short", "DJANGO_SECRET_KEY must be at least"),
        ("DATABASE_URL", None, "DATABASE_URL is not set"),
        ("DATABASE_URL", "mysql://u@h/x", "DATABASE_URL must point to PostgreSQL"),
        ("REDIS_URL", "http://x", "REDIS_URL='http://x' must start with redis://"),
        ("EMAIL_URL", "pigeon://coop", "EMAIL_URL='pigeon://coop': the scheme"),
        ("EMAIL_URL", "smtp://", "EMAIL_URL='smtp://' has no host"),
        (
            "DJANGO_HSTS_SECONDS",
            "a year",
            "DJANGO_HSTS_SECONDS='a year' is not a whole",
        ),
        ("SITE_URL", "example.org", "SITE_URL='example.org' must start with http"),
        ("SITE_URL", None, "SITE_URL is not set"),
        ("DJANGO_ALLOWED_HOSTS", None, "DJANGO_ALLOWED_HOSTS is not set"),
        ("SIGNER_DATA_KEYS", None, "SIGNER_DATA_KEYS is not set"),
        ("SIGNER_DATA_KEYS", "not-a-key", "not a Fernet key"),
        ("SIGNER_HASH_KEY", "short", "SIGNER_HASH_KEY is not set or shorter"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL='LOUD' must be"),
    ],
)
def test_bad_value_stops_start_up_naming_the_variable(name, value, message):
    result = start(**{name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_debug_without_secret_key_starts_for_local_work():
    result = start(
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=None,
        DJANGO_ALLOWED_HOSTS=None,
        SITE_URL=None,
        SIGNER_DATA_KEYS=None,
        SIGNER_HASH_KEY=None,
    )
    assert result.returncode == 0, result.stderr


def test_smtp_url_becomes_smtp_settings():
    from ima_site.env import parse_email_url

    parsed = parse_email_url(
        "EMAIL_URL", "smtp://me:p%40ss@mail.example.org:587?tls=1", "/"
    )
    assert parsed["EMAIL_HOST"] == "mail.example.org"
    assert parsed["EMAIL_PORT"] == 587
    assert parsed["EMAIL_HOST_PASSWORD"] == "p@ss"
    assert parsed["EMAIL_USE_TLS"] is True
