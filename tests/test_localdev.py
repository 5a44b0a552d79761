import http.client
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from ima_site import localdev


def test_find_python_picks_a_312_or_newer_interpreter():
    script = Path(settings.BASE_DIR) / "bin" / "find-python"
    path = subprocess.run([script], capture_output=True, text=True, check=True).stdout
    version = subprocess.run(
        [path.strip(), "-c", "import sys; print(sys.version_info[:2] >= (3, 12))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.strip() == "True"


def test_a_home_folder_closed_to_others_is_detected(tmp_path):
    closed = tmp_path / "home"
    (closed / "project").mkdir(parents=True)
    closed.chmod(0o700)
    try:
        assert not localdev.others_can_traverse(closed / "project")
    finally:
        closed.chmod(0o755)
    assert localdev.others_can_traverse(Path("/usr/bin"))


def test_embedded_postgres_in_a_closed_folder_leaves_its_permissions_alone(tmp_path):
    """Run as root, PostgreSQL must run as another user; no parent gets opened up."""
    import shutil

    import psycopg2

    closed = tmp_path / "private"
    checkout = closed / "checkout"
    checkout.mkdir(parents=True)
    closed.chmod(0o700)
    server = localdev.EmbeddedPostgres(base_dir=checkout)
    try:
        url = server.start()
        connection = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('server_version_num')::int")
            assert cursor.fetchone()[0] >= 180000
        connection.close()
    finally:
        server.stop()
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700
        assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
        if server.home != checkout / "var" / "postgres":
            shutil.rmtree(server.home, ignore_errors=True)


def settings_under(env_overrides: dict[str, str | None], *, argv: str = "") -> dict:
    """The settings a fresh process reads from this environment, as JSON."""
    env = localdev.run_environment(
        {
            name: value
            for name, value in os.environ.items()
            if name not in {"SITE_URL", "DJANGO_DEBUG", "DJANGO_HTTPS", "PORT"}
        }
    )
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    code = (
        "import json, sys; sys.argv = ['manage.py', *sys.argv[1:]]; import django; "
        "django.setup(); from django.conf import settings as s; print(json.dumps("
        "{'site_url': s.SITE_URL, 'conn_max_age': s.DATABASES['default']"
        "['CONN_MAX_AGE']}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *argv.split()],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "ima_site.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_make_run_on_another_port_puts_that_port_in_links_and_emails():
    assert settings_under({"PORT": "8411"})["site_url"] == "http://127.0.0.1:8411"
    assert settings_under({})["site_url"] == "http://127.0.0.1:8000"
    # An address given on purpose wins over the port.
    given = settings_under({"PORT": "8411", "SITE_URL": "https://ima.example.org/"})
    assert given["site_url"] == "https://ima.example.org"


def test_only_the_dev_server_closes_database_connections_after_each_request():
    assert settings_under({}, argv="runserver 127.0.0.1:8411")["conn_max_age"] == 0
    assert settings_under({})["conn_max_age"] == 60
    assert (
        settings_under({"DATABASE_CONN_MAX_AGE": "5"}, argv="runserver")["conn_max_age"]
        == 5
    )


class Forms(HTMLParser):
    """The named inputs of each form on a page, with their values, by form class."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append((attributes.get("class") or "", {}))
        elif (
            tag == "input"
            and self.forms
            and attributes.get("name")
            and attributes.get("type") not in {"radio", "checkbox"}
        ):
            fields = self.forms[-1][1]
            fields.setdefault(attributes["name"], attributes.get("value") or "")


def form_fields(html: str, form_class: str = "") -> dict[str, str]:
    parser = Forms()
    parser.feed(html)
    return next(fields for css, fields in parser.forms if form_class in css)


def server_connections(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_the_dev_server_of_make_run_serves_fifty_people_at_once_without_errors(
    tmp_path,
):
    """A room signing and confirming at once: 0 errors, no connection kept per thread."""
    from signatories import links
    from signatories.models import Signature
    from signatories.services import sign_statement
    from signatories.services.signing import SignerData
    from tests.factories import make_statement

    statement = make_statement(slug="room", accepts_signatures=True)
    confirmers, signers = 25, 25
    for number in range(confirmers):
        sign_statement(
            statement=statement,
            data=SignerData(
                name=f"Person {number}", email=f"p{number}@example.org", country="PH"
            ),
            client_ip=None,
        )
    confirm_paths = [
        links.link_path(signature, "confirm")
        for signature in Signature.objects.filter(statement=statement)
    ]
    assert len(confirm_paths) == confirmers

    database = connection.settings_dict
    name = f"ima-devserver-{secrets.token_hex(4)}"
    port = localdev.free_port(8470)
    env = localdev.run_environment(
        {
            key: value
            for key, value in os.environ.items()
            if key not in {"SITE_URL", "DJANGO_DEBUG", "DJANGO_HTTPS", "PORT"}
        }
    )
    env.update(
        PORT=str(port),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=(
            f"postgres://{quote(database['USER'])}:{quote(database['PASSWORD'] or '')}"
            f"@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
            f"/{database['NAME']}?application_name={name}"
        ),
    )
    env.pop("DATABASE_CONN_MAX_AGE", None)
    log = tmp_path / "server.log"
    server = subprocess.Popen(
        # Without the reloader: files edited during the test would restart it.
        localdev.web_server_command(port, reload=False),
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
        start_new_session=True,
    )
    sign_path = reverse("signatories:sign", args=[statement.slug])
    people = confirmers + signers
    errors: list[str] = []
    start_together = threading.Barrier(people, timeout=60)
    # Like browsers, every person keeps their HTTP connection open after the last
    # answer; the dev server keeps a thread per open connection meanwhile.
    all_done = threading.Barrier(people + 1, timeout=120)
    leave = threading.Event()

    class Browser:
        """One person's keep-alive connection to the server, with its cookies."""

        def __init__(self):
            self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            self.cookies: dict[str, str] = {}

        def visit(self, path: str, data: dict | None = None) -> tuple[int, str]:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if data is not None:
                body = urlencode(data)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            self.http.request("POST" if body else "GET", path, body, headers)
            response = self.http.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, rest = header.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
            return response.status, response.read().decode()

    def expect(status: int, wanted: int, what: str) -> None:
        if status != wanted:
            errors.append(f"{what}: {status}")

    def confirm(browser: Browser, path: str) -> None:
        start_together.wait()
        status, page = browser.visit(path)
        expect(status, 200, "confirm page")
        status, _ = browser.visit(path, form_fields(page))
        expect(status, 200, "confirm")

    def read_and_sign(browser: Browser, number: int) -> None:
        start_together.wait()
        status, page = browser.visit(statement.get_absolute_url())
        expect(status, 200, "statement page")
        fields = form_fields(page, "sign-form")
        fields.update(
            kind="person", name=f"Signer {number}", country="PH",
            email=f"s{number}@example.org", display="full", language="en",
        )  # fmt: skip
        status, _ = browser.visit(sign_path, fields)
        expect(status, 303, "sign")

    def person(work, argument) -> None:
        browser = Browser()
        try:
            work(browser, argument)
        except Exception as error:  # noqa: BLE001 - every failure is counted
            errors.append(f"{work.__name__}: {error!r}")
        finally:
            all_done.wait()
            leave.wait(timeout=120)
            browser.http.close()

    threads = [
        threading.Thread(target=person, args=[confirm, p]) for p in confirm_paths
    ]
    threads += [
        threading.Thread(target=person, args=[read_and_sign, n]) for n in range(signers)
    ]
    try:
        localdev.wait_for_port(port, "The dev server", seconds=60)
        for thread in threads:
            thread.start()
        all_done.wait()
        # With every browser still connected, the server holds no database
        # connection for them: each request gave its own back.
        time.sleep(0.5)
        held = server_connections(name)
        leave.set()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == [], log.read_text()[-3000:]
        assert held <= 1, f"{held} database connections held by idle request threads"
        assert (
            Signature.objects.filter(statement=statement, status="confirmed").count()
            == confirmers
        )
        assert Signature.objects.filter(statement=statement).count() == people
    finally:
        leave.set()
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.mark.django_db
def test_pages_and_confirmation_emails_link_to_the_port_make_run_serves_on(
    client, settings
):
    from signatories.services import sign_statement
    from signatories.services.signing import SignerData
    from tests.factories import make_statement
    from tests.signatories.conftest import send_outbox

    settings.SITE_URL = settings_under({"PORT": "8411"})["site_url"]
    statement = make_statement(slug="on-8411", accepts_signatures=True)
    body = client.get("/statements/on-8411/").content.decode()
    assert (
        '<link rel="canonical" href="http://127.0.0.1:8411/statements/on-8411/">'
        in (body)
    )
    assert 'hreflang="en" href="http://127.0.0.1:8411/statements/on-8411/"' in body

    sign_statement(
        statement=statement,
        data=SignerData(name="Ana Reyes", email="ana@example.org", country="PH"),
        client_ip=None,
    )
    [email] = send_outbox()
    assert "http://127.0.0.1:8411/s/confirm/" in email.body
