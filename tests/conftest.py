import pytest

from tests.factories import make_statement, make_user


@pytest.fixture(autouse=True)
def plain_static_files(settings):
    # Production serves hashed names from a manifest made by collectstatic; the
    # tests read the files as they are in static/.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }


@pytest.fixture(autouse=True)
def forced_logins_pass_two_factor():
    """`client.force_login(user)` stands for a whole login, second step included.

    Django's test client logs in on a bare request with no `user`; a login through
    the site's pages always has one, and goes through the code page instead.
    """
    from django.contrib.auth.signals import user_logged_in
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    def verify(sender, request, user, **kwargs):
        if hasattr(request, "user"):
            return
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            request.session[DEVICE_ID_SESSION_KEY] = device.persistent_id

    user_logged_in.connect(verify, dispatch_uid="tests-force-login-two-factor")
    yield
    user_logged_in.disconnect(dispatch_uid="tests-force-login-two-factor")


@pytest.fixture
def publisher(db):
    """An organizer of the secretariat who may publish."""
    return make_user("publisher", groups=["Publishers"])


@pytest.fixture
def editor(db):
    """An organizer who drafts and translates but may not publish."""
    return make_user("editor", groups=["Editors"])


@pytest.fixture
def outsider(db):
    """Someone with an account but no role on the site."""
    return make_user("outsider", staff=False)


@pytest.fixture
def published(db):
    return make_statement(slug="published-statement", status="published")


@pytest.fixture
def draft(db):
    return make_statement(
        slug="draft-statement", status="draft", title="Secret draft about Malaysia"
    )


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker process on the test database, on a queue of its own.

    Yields the queue name; tasks sent there run in the worker, which sees what the
    test committed.
    """
    import os
    import subprocess
    import sys
    import time
    import uuid

    from django.conf import settings
    from django.db import connection

    from ima_site.celery import app

    database = connection.settings_dict
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}:{database['PASSWORD']}"
            f"@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
    }
    worker = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "ima_site", "worker",
            "--pool", "solo", "--queues", queue, "--hostname", f"{queue}@%h",
            "--loglevel", "WARNING",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            if worker.poll() is not None:
                pytest.fail(f"The Celery worker exited with {worker.returncode}")
            if time.monotonic() > deadline:
                pytest.fail("The Celery worker did not answer a ping within 30 s")
            replies = app.control.ping(timeout=0.5) or []
            if any(name.startswith(f"{queue}@") for reply in replies for name in reply):
                break
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=20)
