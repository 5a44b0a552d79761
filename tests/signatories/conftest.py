import re

import pytest
from django.core import mail

from ima_site import outbox
from tests.factories import make_statement


@pytest.fixture
def open_statement(db):
    return make_statement(
        slug="sign-me", status="published", accepts_signatures=True, signature_goal=100
    )


def form_data(client, statement, **overrides) -> dict:
    """What a person's browser posts: the form's own hidden fields included."""
    page = client.get(statement.get_absolute_url()).content.decode()
    started = re.search(r'name="started" value="([^"]+)"', page).group(1)
    data = {
        "kind": "person", "name": "Ana Reyes", "email": "ana@example.org",
        "country": "PH", "display": "full", "language": "en", "started": started,
        "website": "",
    }  # fmt: skip
    data.update(overrides)
    return data


def send_outbox() -> list:
    """Run the relay and the sender inline; returns the emails sent."""
    before = len(mail.outbox)
    for message_id in outbox.due_message_ids():
        outbox.send_message(message_id)
    return mail.outbox[before:]


def link_from(email, action: str) -> str:
    return re.search(rf"http://[^\s]+/s/{action}/[^\s]+/", email.body).group(0)
