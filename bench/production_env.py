"""What the benchmark scripts share: the site's production settings on a database of
their own, on the embedded servers (or DATABASE_URL's), with limits lifted."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from ima_site import localdev  # noqa: E402

# All the load comes from this machine: the limits that would hold it are lifted,
# so that the normal path is measured (a held signature costs the same work).
NO_LIMIT = "100000000"


def log(message: str) -> None:
    print(message, flush=True)


def bench_env(database: str, **extra: str) -> dict[str, str]:
    """Environment of a gunicorn (or manage.py) run with production settings."""
    env = dict(os.environ)
    localdev.DataStores(env).start()
    base = env["DATABASE_URL"].rsplit("/", 1)[0]
    env.update(
        {
            "DATABASE_URL": f"{base}/{database}",
            "DJANGO_DEBUG": "0",
            "DJANGO_HTTPS": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SITE_URL": "http://127.0.0.1",
            "SIGNER_DATA_KEYS": localdev.test_fernet_key(),
            "SIGNER_HASH_KEY": secrets.token_urlsafe(40),
            "SIGNING_MIN_SECONDS": "0",
            "LOG_LEVEL": "WARNING",
            "EMAIL_URL": "locmem:",
            **{
                f"SIGNING_LIMIT_{name}": NO_LIMIT
                for name in [
                    "NETWORK_MINUTE",
                    "NETWORK_DAY",
                    "DOMAIN_MINUTE",
                    "DOMAIN_HOUR",
                    "STATEMENT_MINUTE",
                    "STATEMENT_HOUR",
                ]
            },  # fmt: skip
            **extra,
        }
    )
    env.pop("DJANGO_BEHIND_PROXY", None)
    return env
