import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_pages_carry_a_strict_content_security_policy(client, published):
    for url in ["/", f"/statements/{published.slug}/", "/statements/", "/admin/login/"]:
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in policy
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_public_pages_have_no_inline_script(client, published):
    import re

    for url in ["/", f"/statements/{published.slug}/", "/statements/"]:
        body = client.get(url).content.decode()
        for tag in re.findall(r"<script[^>]*>", body):
            assert "src=" in tag, tag
        assert " style=" not in body


def test_admin_forms_need_a_csrf_token(publisher, published):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(publisher)
    response = strict.post(
        f"/admin/statements/statement/{published.pk}/workflow/archive/"
    )
    assert response.status_code == 403
    published.refresh_from_db()
    assert published.status == "published"


def test_check_deploy_passes_with_production_settings():
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "1",
        "DJANGO_SECRET_KEY": "a-production-like-secret-key-" + "q8Zr" * 10,
        "DJANGO_ALLOWED_HOSTS": "ima.example.org",
        "SITE_URL": "https://ima.example.org",
        "SIGNER_DATA_KEYS": "aW1hLXNpdGUtdGVzdC1rZXktMzItYnl0ZXMtbG9uZyE=",
        "SIGNER_HASH_KEY": "production-like-hash-key-" + "x" * 20,
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_health_check_answers_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.content == b"ok\n"


def database_dump() -> dict[str, bytes]:
    """Every row of every table, as the bytes a dump of the database would hold.

    Binary columns come back as memoryview, whose repr shows no content: they are
    turned into their bytes, the rest into text, so a search sees everything.
    """
    from django.db import connection

    def as_bytes(value) -> bytes:
        if isinstance(value, memoryview | bytes | bytearray):
            return bytes(value)
        return repr(value).encode()

    dump = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        for schema, table in cursor.fetchall():
            cursor.execute(
                f"SELECT * FROM {connection.ops.quote_name(schema)}."  # noqa: S608
                f"{connection.ops.quote_name(table)}"
            )
            dump[table] = b"\x00".join(
                as_bytes(value) for row in cursor.fetchall() for value in row
            )
    return dump


def found_in(dump: dict[str, bytes], needle: str) -> list[str]:
    """The tables holding needle, in any case, as text or as hex."""
    forms = [needle.lower().encode(), needle.lower().encode().hex().encode()]
    return [
        table for table, data in dump.items() if any(f in data.lower() for f in forms)
    ]


def test_no_email_or_network_in_plain_text_in_a_dump_of_every_table(client, settings):
    from django.contrib.auth.models import Permission

    from signatories.models import Signature
    from tests.factories import make_statement, make_user
    from tests.signatories.conftest import form_data, link_from, send_outbox

    settings.SIGNING_MIN_SECONDS = 0
    open_statement = make_statement(slug="dump", accepts_signatures=True)
    address = "203.0.113.77"  # its network is 203.0.113.0/24
    canary, keeper = "canary.7731@example.org", "keeper.5521@example.org"
    secrets = [canary, keeper, "canary.7731", "keeper.5521", "203.0.113."]
    url = f"/statements/{open_statement.slug}/sign/"
    for email, name in ((canary, "Canary"), (keeper, "Keeper")):
        data = form_data(client, open_statement, email=email, name=name, consent="on")
        assert client.post(url, data, REMOTE_ADDR=address).status_code == 303
    emails = {email.to[0]: email for email in send_outbox()}
    assert set(emails) == {canary, keeper}
    for email in emails.values():
        link = link_from(email, "confirm").split("8000", 1)[-1]
        assert client.post(link).status_code == 200

    dump = database_dump()
    assert {"signatories_signature", "ima_site_outboxmessage",
            "ima_site_auditentry", "signatories_signingattempt"} <= set(dump)  # fmt: skip
    # The dump shows the bytes of binary columns (the kept, encrypted emails) and
    # the keyed network hash: what is stored is there to be searched.
    signatures = Signature.objects.filter(status="confirmed")
    assert len(signatures) == 2
    for signature in signatures:
        assert bytes(signature.email_encrypted) in dump["signatories_signature"]
        assert signature.network_hash.encode() in dump["signatories_signature"]
    for secret in secrets:
        assert found_in(dump, secret) == [], secret

    # Then the canary withdraws and an organizer exports.
    withdraw = link_from(emails[canary], "withdraw").split("8000", 1)[-1]
    assert client.post(withdraw).status_code == 200
    exporter = make_user("exporter", groups=["Publishers"])
    exporter.user_permissions.add(Permission.objects.get(codename="export_signatures"))
    client.force_login(exporter)
    export = client.post(
        "/admin/signatories/signature/export/",
        {"statement": open_statement.pk, "only_counted": "on"},
    )
    assert b"Keeper" in b"".join(export.streaming_content)
    dump = database_dump()
    assert b"signatures.export" in dump["ima_site_auditentry"]
    assert b"withdrawn" in dump["signatories_signature"]
    for secret in secrets:
        assert found_in(dump, secret) == [], secret
