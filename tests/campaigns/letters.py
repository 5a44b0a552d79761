"""Sign-on letters for the letter tests: a letter on a campaign against Malaysia
with missions as its targets, and small PDFs (clean or carrying JavaScript)."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

from campaigns import letter_delivery
from campaigns.models import Campaign, Letter, LetterCover, Mission
from statements.models import Statement
from tests.factories import make_statement

SUBJECT = "Open letter: stop the raids on migrant workers"
COVER = "Excellency,\n\nPlease find attached our open letter."


def target_email(number: int) -> str:
    return f"mission{number}@missions.example.org"


def make_letter(*, missions: int = 3, slug: str = "stop-the-raids") -> Letter:
    """A sign-on letter on a campaign against Malaysia, with an English cover and
    `missions` missions of Malaysia (each with an email) as its targets."""
    statement = make_statement(
        slug=slug,
        kind=Statement.Kind.SIGN_ON_LETTER,
        accepts_signatures=True,
        addressees="To the Government of Malaysia",
    )
    campaign = Campaign.objects.create(
        slug=f"{slug}-campaign",
        title="Stop Ops Mega",
        target_country="MY",
        status=Campaign.Status.ACTIVE,
    )
    for number in range(missions):
        Mission.objects.create(
            represented_country="MY",
            host_country="PH",
            city=f"City {number}",
            kind=Mission.Kind.EMBASSY,
            name=f"Embassy of Malaysia {number:03d}",
            email=target_email(number),
            time_zone="Asia/Manila",
        )
    letter = Letter.objects.create(statement=statement, campaign=campaign)
    LetterCover.objects.create(
        letter=letter, language="en", subject=SUBJECT, text=COVER
    )
    letter_delivery.add_mission_targets(letter=letter, by=None)
    return letter


def pdf_bytes(*, javascript: bool = False) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(200, 200)
    if javascript:
        action = DictionaryObject(
            {
                NameObject("/S"): NameObject("/JavaScript"),
                NameObject("/JS"): TextStringObject("app.alert('hi')"),
            }
        )
        writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
