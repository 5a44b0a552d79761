"""Alert delivery as in production: a Redis of the test's own, the bulk worker, the
default worker and beat as processes (as `make run` starts them), and a real SMTP
server. Workers are killed and Redis restarted mid fan-out."""

from __future__ import annotations

import time

import pytest

from campaigns import sending
from campaigns.models import Alert, AlertDelivery
from signatories import services
from tests.campaigns.conftest import contact_email, make_alert
from tests.campaigns.processes import POOL, running_site
from tests.factories import make_statement
from tests.signatories.test_redis_outage import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CONTACTS = 1000


@pytest.fixture
def site(tmp_path):
    """Yields (site, sink)."""
    # Seconds where production has minutes, so a dead worker's rows come back
    # within the test.
    env = {
        "ALERT_STALE_SECONDS": "3",
        "ALERT_RELEASE_SECONDS": "1",
        "ALERT_RETRY_SECONDS": "1",
        "ALERT_BATCH_SIZE": "10",
    }
    with running_site(tmp_path, env) as running:
        yield running


def finished(alert: Alert) -> bool:
    return Alert.objects.get(pk=alert.pk).status == Alert.Status.SENT


def report(sink, count: int) -> tuple[int, int]:
    """(missing, duplicates) among contacts 0..count-1, as the sink counted them."""
    counts = sink.inbox.count_by_recipient()
    missing = sum(1 for n in range(count) if counts[contact_email(n)] == 0)
    duplicates = sum(max(counts[contact_email(n)] - 1, 0) for n in range(count))
    return missing, duplicates


def test_an_alert_to_1000_contacts_reaches_each_exactly_once(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    started = time.monotonic()
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: finished(alert), 120), sending.alert_progress(alert)
    seconds = time.monotonic() - started
    assert report(sink, CONTACTS) == (0, 0)
    print(f"\n{CONTACTS} alerts in {seconds:.1f} s, 0 missing, 0 duplicates")
    # Sending again is refused, and nothing the workers do meanwhile adds any.
    with pytest.raises(sending.AlertError):
        sending.start_alert(alert=alert, by=sender)
    sending.start_senders(alert.pk)
    time.sleep(3)
    assert len(sink.inbox.messages) == CONTACTS
    assert AlertDelivery.objects.filter(status="sent").count() == CONTACTS


def test_a_confirmation_is_not_held_up_by_a_fan_out(site, sender):
    processes, sink = site
    statement = make_statement(slug="urgent", accepts_signatures=True)
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: len(sink.inbox.messages) >= 50, 60)
    signed = time.monotonic()
    services.sign_statement(
        statement=statement,
        data=services.SignerData(name="Ana", email="ana@example.org", country="PH"),
        client_ip="192.0.2.1",
    )

    def confirmation_sent():
        return sink.inbox.count_by_recipient()["ana@example.org"] == 1

    assert wait_for(confirmation_sent, 10), "no confirmation within 10 s"
    latency = time.monotonic() - signed
    progress = sending.alert_progress(alert)
    print(
        f"\nconfirmation after {latency:.1f} s, with {progress['queued']} alerts queued"
    )
    assert wait_for(lambda: finished(alert), 120)
    assert report(sink, CONTACTS) == (0, 0)


def test_killing_the_bulk_worker_loses_nobody(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    kills = 0
    for threshold in (150, 400, 650):
        assert wait_for(lambda t=threshold: len(sink.inbox.messages) >= t, 120)
        processes.kill("bulk")
        kills += 1
        processes.start("bulk")
    assert wait_for(lambda: finished(alert), 180), sending.alert_progress(alert)
    missing, duplicates = report(sink, CONTACTS)
    print(f"\n{kills} kills: {missing} missing, {duplicates} duplicates")
    assert missing == 0
    assert duplicates <= kills * POOL
    assert AlertDelivery.objects.filter(status="sent").count() == CONTACTS


def test_the_send_finishes_by_itself_after_redis_restarts(site, sender):
    processes, sink = site
    alert = make_alert(contacts=CONTACTS)
    sending.start_alert(alert=alert, by=sender)
    assert wait_for(lambda: len(sink.inbox.messages) >= 200, 120)
    processes.redis.stop()
    time.sleep(2)
    processes.redis.start()
    assert wait_for(lambda: finished(alert), 180), sending.alert_progress(alert)
    assert report(sink, CONTACTS) == (0, 0)
