"""Many signers at once, against the real PostgreSQL (each thread its own connection)."""

import threading

import pytest
from django.db import connection

from signatories import links, services
from signatories.models import CountEvent, Signature
from signatories.services import SignerData
from tests.factories import make_statement

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(function, arguments: list) -> list:
    """Call function once per argument, each in its own thread and connection, all
    released together by a barrier so that the calls really overlap."""
    barrier = threading.Barrier(len(arguments))
    results: list = [None] * len(arguments)
    errors: list = []

    def run(index, argument):
        try:
            barrier.wait(timeout=30)
            results[index] = function(argument)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, argument))
        for i, argument in enumerate(arguments)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


def sign(statement, email, ip="203.0.113.9"):
    services.sign_statement(
        statement=statement,
        data=SignerData(name="Ana", email=email, country="PH"),
        client_ip=ip,
    )


THREADS = 12  # each holds a PostgreSQL connection; the machine is shared


def test_parallel_posts_of_one_email_make_one_signature(settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="race", accepts_signatures=True)
    at_once(lambda _: sign(statement, "same@example.org"), list(range(THREADS)))
    assert Signature.objects.filter(statement=statement).count() == 1


def test_parallel_signers_none_lost_none_doubled_all_confirmable(settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="viral", accepts_signatures=True)
    emails = [f"signer{i}@example.org" for i in range(60)]
    for batch in range(0, len(emails), THREADS):
        at_once(
            lambda e: sign(statement, e, f"198.51.{len(e)}.1"),
            emails[batch : batch + THREADS],
        )
    signatures = list(Signature.objects.filter(statement=statement))
    assert len(signatures) == 60
    assert len({s.email_hash for s in signatures}) == 60

    def confirm(signature):
        found = links.read_token(links.make_token(signature, "confirm"), "confirm")
        return services.confirm_signature(signature=found)

    results = []
    for batch in range(0, len(signatures), THREADS):
        results += at_once(confirm, signatures[batch : batch + THREADS])
    assert all(results)
    services.apply_count_events()
    assert services.statement_counts(statement)["total"] == 60
    assert services.reconcile_counts() == []


def one_pending_signature(statement) -> Signature:
    sign(statement, "one@example.org")
    return Signature.objects.get(statement=statement)


def test_one_signature_confirmed_from_many_threads_at_once_counts_once(settings):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="double-click", accepts_signatures=True)
    signature = one_pending_signature(statement)
    token = links.make_token(signature, "confirm")
    # Every request got past the link check before any of them confirmed.
    found = [links.read_token(token, "confirm") for _ in range(THREADS)]
    assert all(found)
    results = at_once(lambda s: services.confirm_signature(signature=s), found)
    assert results.count(True) == 1, results
    assert sum(CountEvent.objects.values_list("delta", flat=True)) == 1
    services.apply_count_events()
    assert services.statement_counts(statement)["total"] == 1


def test_one_signature_withdrawn_from_many_threads_at_once_leaves_the_count_once(
    settings,
):
    settings.SIGNING_LIMITS = dict.fromkeys(settings.SIGNING_LIMITS, 10**6)
    statement = make_statement(slug="double-withdraw", accepts_signatures=True)
    signature = one_pending_signature(statement)
    assert services.confirm_signature(signature=signature)
    signature.refresh_from_db()
    services.apply_count_events()
    token = links.make_token(signature, "withdraw")
    found = [links.read_token(token, "withdraw") for _ in range(THREADS)]
    assert all(found)
    at_once(lambda s: services.withdraw_signature(signature=s), found)
    assert sum(CountEvent.objects.values_list("delta", flat=True)) == -1
    services.apply_count_events()
    assert services.statement_counts(statement)["total"] == 0
    assert Signature.objects.get(statement=statement).status == "withdrawn"
