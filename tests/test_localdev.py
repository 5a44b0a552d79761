import stat
import subprocess
from pathlib import Path

from django.conf import settings

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
