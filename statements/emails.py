"""The emails organizers get about the publishing workflow, sent through the outbox.

Each row points to the audit entry of the move (object_id): the entry holds the
statement, who moved it and the note they typed, so the email says what happened
even if the statement moves on before the worker sends it.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ima_site.models import AuditEntry
from ima_site.outbox import RenderedEmail, queue_email, register
from ima_site.profiles import preferences_for
from statements.models import Statement

REVIEW_REQUESTED = "statement.review_requested"
AUTHOR_NOTICE = "statement.author_notice"
# The moves the author hears about, and the subject of each email.
NOTICE_ACTIONS = {
    "statement.publish": "published",
    "statement.schedule": "scheduled",
    "statement.return_to_draft": "returned",
}


def _reachable(user) -> bool:
    return bool(user is not None and user.is_active and user.email)


def publishers():
    """Organizers who may publish and can be written to: active staff with an email."""
    return (
        get_user_model()
        ._default_manager.with_perm(
            "statements.publish_statement",
            is_active=True,
            include_superusers=True,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .filter(is_staff=True)
        .exclude(email="")
        .select_related("organizer_profile")
        .order_by("pk")
    )


def queue_review_requests(*, entry: AuditEntry, statement: Statement) -> int:
    """One email per publisher about a statement sent for review, never to the one
    who sent it. Call inside the transaction of the move."""
    if entry.actor_id is None:
        # The site's own moves (imports, the demo) ask nobody to look.
        return 0
    count = 0
    for publisher in publishers().exclude(pk=entry.actor_id):
        queue_email(
            kind=REVIEW_REQUESTED,
            object_id=entry.pk,
            to=publisher.email,
            language=preferences_for(publisher).language,
        )
        count += 1
    return count


def queue_author_notice(*, entry: AuditEntry, author) -> bool:
    """Tell the author that their statement was published, scheduled or sent back,
    unless they did it themselves. Call inside the transaction of the move."""
    if entry.action not in NOTICE_ACTIONS or entry.actor_id is None:
        return False
    if not _reachable(author) or author.pk == entry.actor_id:
        return False
    queue_email(
        kind=AUTHOR_NOTICE,
        object_id=entry.pk,
        to=author.email,
        language=preferences_for(author).language,
    )
    return True


def _one_line(text: str) -> str:
    # A subject is a header: a line break in a typed title must not end it.
    return " ".join(str(text).split())


def _name(user) -> str:
    if user is None:
        return _("The site")
    return user.get_full_name() or user.get_username()


def _entry_and_statement(entry_id: int):
    entry = AuditEntry.objects.select_related("actor").filter(pk=entry_id).first()
    if entry is None or entry.object_type != Statement._meta.label_lower:
        return None, None
    statement = (
        Statement.objects.prefetch_related("versions")
        .filter(pk=entry.object_id)
        .first()
    )
    return entry, statement


def _render(template: str, subject: str, context: dict) -> RenderedEmail:
    context = {"site_name": settings.SITE_NAME, "language": get_language(), **context}
    return RenderedEmail(
        subject=_one_line(subject),
        text=render_to_string(f"emails/{template}.txt", context),
        html=render_to_string(f"emails/{template}.html", context),
    )


def _common(entry: AuditEntry, statement: Statement) -> dict:
    version = statement.version_for(get_language() or settings.LANGUAGE_CODE)
    return {
        "title": version.title if version else statement.slug,
        "actor": _name(entry.actor),
        "note": entry.details.get("note", ""),
        "admin_url": settings.SITE_URL
        + reverse("admin:statements_statement_change", args=[statement.pk]),
    }


@register(REVIEW_REQUESTED)
def review_requested(entry_id: int) -> RenderedEmail | None:
    entry, statement = _entry_and_statement(entry_id)
    if statement is None or statement.status != Statement.Status.IN_REVIEW:
        # Already published or sent back by someone else: nothing to review.
        return None
    context = _common(entry, statement)
    return _render(
        "statement_review_requested",
        _("For review: %(title)s") % {"title": context["title"]},
        context,
    )


@register(AUTHOR_NOTICE)
def author_notice(entry_id: int) -> RenderedEmail | None:
    from statements.services import submitted_by

    entry, statement = _entry_and_statement(entry_id)
    if statement is None or entry.action not in NOTICE_ACTIONS:
        return None
    author = submitted_by(statement, before=entry)
    context = _common(entry, statement)
    what = NOTICE_ACTIONS[entry.action]
    context["what"] = what
    if what == "published":
        context["public_url"] = settings.SITE_URL + statement.get_absolute_url()
        subject = _("Published: %(title)s")
    elif what == "scheduled":
        zone = preferences_for(author).time_zone
        at = datetime.fromisoformat(entry.details["publish_at"])
        context["publish_at"] = formats.date_format(
            timezone.localtime(at, zone), "DATETIME_FORMAT"
        )
        context["time_zone"] = str(zone)
        context["public_url"] = settings.SITE_URL + statement.get_absolute_url()
        subject = _("Scheduled: %(title)s")
    else:
        subject = _("Sent back to draft: %(title)s")
    return _render(
        "statement_author_notice", subject % {"title": context["title"]}, context
    )
