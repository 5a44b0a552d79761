from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from ima_site import tasks

pytestmark = pytest.mark.django_db


def test_expired_sessions_are_deleted_nightly_and_live_ones_kept():
    live = SessionStore()
    live["paper_file"] = "names"
    live.create()
    expired = SessionStore()
    expired["paper_file"] = "names of signers"
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    assert tasks.clear_expired_sessions() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        live.session_key
    ]
    assert tasks.clear_expired_sessions() == 0
