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
