"""What the public sees of a sign-on letter's delivery: the same record for the
campaign page, the letter's statement page (a part) and the API.

Only deliveries that went count: a queued or failed one is the organizers' business.
Never an email address, never a signer: targets by name, replies only once an
organizer published them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import F, Prefetch, QuerySet
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from campaigns.models import (
    Campaign,
    Letter,
    LetterCompilation,
    LetterDelivery,
    LetterTarget,
    TargetReply,
)
from campaigns.public import country_name
from statements.models import Statement
from statements.parts import PagePart, Slot

SENT = LetterDelivery.Status.SENT


@dataclass
class PublicTarget:
    name: str
    kind: str  # "mission" or "authority"
    country: str  # a mission's host country; "" for another authority
    country_name: str
    city: str
    delivered_at: datetime | None
    reply: str  # "none", "replied" or "refused"
    replied_on: date | None


@dataclass
class PublicReply:
    target: str
    kind: str
    received_on: date
    text: str
    attachment_url: str | None


@dataclass
class LetterRecord:
    letter: Letter
    statement: Statement
    title: str
    url: str
    first_sent_at: datetime | None
    missions: int
    others: int
    targets: list[PublicTarget]
    replies: list[PublicReply]
    signatures: int | None
    download_url: str | None
    pages: int | None

    @property
    def delivered(self) -> bool:
        return bool(self.targets)

    @property
    def headline(self) -> str:
        """ "Delivered to 3 missions and 1 other target on 29 November 2026"."""
        if self.first_sent_at is None:
            return ""
        on = formats.date_format(timezone.localtime(self.first_sent_at), "DATE_FORMAT")
        missions = ngettext(
            "%(count)d mission", "%(count)d missions", self.missions
        ) % {"count": self.missions}
        others = ngettext(
            "%(count)d other target", "%(count)d other targets", self.others
        ) % {"count": self.others}
        if self.missions and self.others:
            return _("Delivered to %(missions)s and %(others)s on %(date)s") % {
                "missions": missions,
                "others": others,
                "date": on,
            }
        if self.missions:
            return _("Delivered to %(missions)s on %(date)s") % {
                "missions": missions,
                "date": on,
            }
        return ngettext(
            "Delivered to %(count)d target on %(date)s",
            "Delivered to %(count)d targets on %(date)s",
            self.others,
        ) % {"count": self.others, "date": on}


def public_letters(*, only_public: bool = True) -> QuerySet[Letter]:
    """Letters of public statements (every letter for a preview), with what their
    records need prefetched: a fixed number of queries however many letters,
    targets and replies."""
    published = TargetReply.objects.filter(published=True).order_by(
        "-received_on", "-id"
    )
    sent_targets = (
        LetterTarget.objects.filter(delivery__status=SENT)
        .select_related("mission", "delivery")
        .prefetch_related(Prefetch("replies", published, to_attr="published"))
        .order_by("name", "id")
    )
    letters = Letter.objects.all()
    if only_public:
        letters = letters.filter(statement__in=Statement.objects.public())
    return (
        letters.select_related("statement")
        .prefetch_related(
            "statement__versions",
            Prefetch("targets", sent_targets, to_attr="sent_targets"),
            Prefetch(
                "compilations",
                LetterCompilation.objects.filter(test=False),
                to_attr="finals",
            ),
        )
        .order_by(F("delivered_at").desc(nulls_last=True), "-id")
    )


def downloadable(letter: Letter) -> LetterCompilation | None:
    """The final compilation the public may download: only once the letter was
    delivered, and only until retention erased its file (it holds names)."""
    if letter.status != Letter.Status.DELIVERED:
        return None
    compilation = next(iter(letter.finals), None)  # type: ignore[attr-defined]
    if compilation is None or compilation.erased_at or not compilation.pdf:
        return None
    return compilation


def _reply_status(replies: list[TargetReply]) -> tuple[str, date | None]:
    if not replies:
        return "none", None
    latest = replies[0]
    if latest.kind == TargetReply.Kind.REFUSAL:
        return "refused", latest.received_on
    return "replied", latest.received_on


def letter_record(letter: Letter, language: str) -> LetterRecord:
    """The public record of one letter from public_letters()."""
    statement = letter.statement
    version = statement.version_for(language)
    targets, replies, sent = [], [], []
    missions = others = 0
    for target in letter.sent_targets:  # type: ignore[attr-defined]
        mission = target.mission
        sent_at = target.delivery.sent_at
        if sent_at:
            sent.append(sent_at)
        reply, replied_on = _reply_status(target.published)
        if mission is not None:
            missions += 1
        else:
            others += 1
        targets.append(
            PublicTarget(
                name=target.name,
                kind="mission" if mission is not None else "authority",
                country=mission.host_country if mission else "",
                country_name=country_name(mission.host_country) if mission else "",
                city=mission.city if mission else "",
                delivered_at=sent_at,
                reply=reply,
                replied_on=replied_on,
            )
        )
        for answer in target.published:
            replies.append(
                PublicReply(
                    target=target.name,
                    kind=answer.kind,
                    received_on=answer.received_on,
                    text=answer.text,
                    attachment_url=(
                        reverse("campaigns:letter_reply_pdf", args=[answer.pk])
                        if answer.attachment
                        else None
                    ),
                )
            )
    replies.sort(key=lambda r: r.received_on, reverse=True)
    final = next(iter(letter.finals), None)  # type: ignore[attr-defined]
    compilation = downloadable(letter)
    return LetterRecord(
        letter=letter,
        statement=statement,
        title=version.title if version else statement.slug,
        url=version.get_absolute_url() if version else "",
        first_sent_at=min(sent) if sent else None,
        missions=missions,
        others=others,
        targets=targets,
        replies=replies,
        signatures=final.signatures if final else None,
        download_url=(
            reverse("campaigns:letter_pdf", args=[statement.slug])
            if compilation
            else None
        ),
        pages=compilation.pages if compilation else None,
    )


def campaign_letter_records(campaign: Campaign, language: str) -> list[LetterRecord]:
    """The campaign's letters that went to at least one target."""
    records = [
        letter_record(letter, language)
        for letter in public_letters().filter(campaign=campaign)
    ]
    return [record for record in records if record.delivered]


def letter_delivery_part(request, statement: Statement, preview: bool) -> list:
    """The statement page's part: the letter's delivery, once it went."""
    if statement.kind != Statement.Kind.SIGN_ON_LETTER:
        return []
    letter = public_letters(only_public=not preview).filter(statement=statement).first()
    if letter is None:
        return []
    record = letter_record(letter, get_language())
    if not record.delivered:
        return []
    return [
        PagePart(
            name="letter-delivery",
            slot=Slot.RECORD,
            template="campaigns/parts/letter_delivery.html",
            context={"record": record},
        )
    ]
