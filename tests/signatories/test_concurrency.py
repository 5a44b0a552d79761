"""Many signers at once, against the real PostgreSQL (each thread its own connection)."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from signatories import links, services
from signatories.models import Signature
from signatories.services import SignerData
from tests.factories import make_statement

pytestmark = pytest.mark.django_db(transaction=True)


def in_thread(function):
    def run(*args):
        try:
            return function(*args)
        finally:
            connection.close()

    return run


def sign(statement, email, ip="203.0.113.9"):
    services.sign_statement(
        statement=statement,
        data=SignerData(name="Ana", email=email, country="PH"),
        client_ip=ip,
    )


def test_fifty_parallel_posts_of_one_email_make_one_signature(settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="race", accepts_signatures=True)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                in_thread(lambda _: sign(statement, "same@example.org")), range(50)
            )
        )
    assert Signature.objects.filter(statement=statement).count() == 1


def test_two_hundred_parallel_signers_none_lost_none_doubled_all_confirmable(settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="viral", accepts_signatures=True)
    emails = [f"signer{i}@example.org" for i in range(200)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(
            pool.map(
                in_thread(lambda e: sign(statement, e, f"198.51.{len(e)}.1")), emails
            )
        )
    signatures = list(Signature.objects.filter(statement=statement))
    assert len(signatures) == 200
    assert len({s.email_hash for s in signatures}) == 200

    def confirm(signature):
        found = links.read_token(links.make_token(signature, "confirm"), "confirm")
        return services.confirm_signature(signature=found)

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(in_thread(confirm), signatures))
    assert all(results)
    services.apply_count_events()
    assert services.statement_counts(statement)["total"] == 200
    assert services.reconcile_counts() == []
