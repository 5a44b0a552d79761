"""The publishing workflow: every change of status goes through here.

Each function checks the permission, moves the statement along the allowed path,
and writes the audit entry in the same transaction.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.models import record_audit_entry
from statements.models import Statement, Topic

Status = Statement.Status
PUBLISH_PERMISSION = "statements.publish_statement"
EDIT_PERMISSION = "statements.change_statement"
CHANGE_TOPIC_PERMISSION = "statements.change_topic"
DELETE_TOPIC_PERMISSION = "statements.delete_topic"

# Which status may follow which. Withdrawn is final for the public; an organizer
# may take a withdrawn or archived statement back to draft to rework it.
TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.IN_REVIEW},
    Status.IN_REVIEW: {Status.DRAFT, Status.SCHEDULED, Status.PUBLISHED},
    Status.SCHEDULED: {Status.DRAFT, Status.SCHEDULED, Status.PUBLISHED},
    Status.PUBLISHED: {Status.ARCHIVED, Status.WITHDRAWN},
    Status.ARCHIVED: {Status.PUBLISHED, Status.WITHDRAWN, Status.DRAFT},
    Status.WITHDRAWN: {Status.DRAFT},
}


class WorkflowError(Exception):
    """A change of status that the workflow does not allow, with the reason."""


def _require(user, permission: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do this."))


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().get(pk=statement.pk)


def _move(statement: Statement, to: str, *, by, action: str, details=None) -> Statement:
    """The one writer of a statement's status: the table, the row, the audit entry.

    `by` is None when the site moves the statement on its own (an import, beat, the
    demo); the audit entry then has no actor and its details name the source.
    Callers hold the row lock and the transaction.
    """
    if to not in TRANSITIONS[statement.status]:
        raise WorkflowError(
            _("A statement that is “%(current)s” cannot become “%(target)s”.")
            % {
                "current": Status(statement.status).label,
                "target": Status(to).label,
            }
        )
    previous = statement.status
    statement.status = to
    statement.save(update_fields=["status", "publish_at", "updated_at"])
    record_audit_entry(
        actor=by,
        action=action,
        obj=statement,
        details={"from": previous, "to": to, **(details or {})},
    )
    return statement


def _submit(statement: Statement, *, by, details=None) -> Statement:
    if not statement.versions.exists():
        raise WorkflowError(_("Add at least one language version first."))
    return _move(
        statement, Status.IN_REVIEW, by=by, action="statement.submit", details=details
    )


def _publish(
    statement: Statement, *, by, at: datetime | None = None, details=None
) -> Statement:
    now = timezone.now()
    if not statement.versions.filter(is_original=True).exists():
        raise WorkflowError(_("Mark one language version as the original first."))
    if at is not None and at > now:
        statement.publish_at = at
        return _move(
            statement,
            Status.SCHEDULED,
            by=by,
            action="statement.schedule",
            details={"publish_at": at.isoformat(), **(details or {})},
        )
    if statement.status != Status.ARCHIVED:
        statement.publish_at = now
    return _move(
        statement, Status.PUBLISHED, by=by, action="statement.publish", details=details
    )


def submit_for_review(*, statement: Statement, by) -> Statement:
    """Ask a publisher to review a draft."""
    _require(by, EDIT_PERMISSION)
    with transaction.atomic():
        return _submit(_locked(statement), by=by)


def return_to_draft(*, statement: Statement, by) -> Statement:
    """Send a statement back to its authors; a scheduled one is unscheduled."""
    _require(by, EDIT_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        if statement.status in (Status.SCHEDULED, Status.ARCHIVED, Status.WITHDRAWN):
            _require(by, PUBLISH_PERMISSION)
        if statement.status == Status.SCHEDULED:
            statement.publish_at = None
        return _move(statement, Status.DRAFT, by=by, action="statement.return_to_draft")


def publish_statement(
    *, statement: Statement, by, at: datetime | None = None
) -> Statement:
    """Publish now, or schedule for `at` when it lies in the future."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        return _publish(_locked(statement), by=by, at=at)


def withdraw_statement(*, statement: Statement, by, reason: str = "") -> Statement:
    """Take a statement off the public site; its address answers 410 Gone."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        return _move(
            statement,
            Status.WITHDRAWN,
            by=by,
            action="statement.withdraw",
            details={"reason": reason},
        )


def archive_statement(*, statement: Statement, by) -> Statement:
    """Keep a statement public but out of the latest lists."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        return _move(statement, Status.ARCHIVED, by=by, action="statement.archive")


def move_statement_as_site(
    *,
    statement: Statement,
    to: str,
    source: str,
    at: datetime | None = None,
    details: dict | None = None,
) -> Statement:
    """A move no organizer made (import, demo): to review, to published, or to
    scheduled (`at` in the future), along the organizers' own path with no actor.

    Raises WorkflowError for a move the table forbids, as for organizers: a draft goes
    to review before it is published or scheduled.
    """
    extra = {"source": source, **(details or {})}
    with transaction.atomic():
        statement = _locked(statement)
        if to == Status.IN_REVIEW:
            return _submit(statement, by=None, details=extra)
        if to == Status.SCHEDULED and (at is None or at <= timezone.now()):
            raise WorkflowError(_("Give a date and time."))
        if to in (Status.PUBLISHED, Status.SCHEDULED):
            return _publish(
                statement, by=None, at=at if to == Status.SCHEDULED else None,
                details=extra,
            )  # fmt: skip
        raise WorkflowError(f"The site does not move statements to {to!r}.")


def publish_due_statements(*, now: datetime | None = None) -> int:
    """Flip scheduled statements whose time has come; safe to run again and again.

    Idempotent: only rows still scheduled are picked, each under its row lock.
    """
    now = now or timezone.now()
    count = 0
    with transaction.atomic():
        due = (
            Statement.objects.select_for_update(skip_locked=True)
            .filter(status=Status.SCHEDULED, publish_at__lte=now)
            .order_by("publish_at")
        )
        for statement in due:
            _move(
                statement,
                Status.PUBLISHED,
                by=None,
                action="statement.publish",
                details={"source": "beat", "scheduled_for": str(statement.publish_at)},
            )
            count += 1
    return count


def may_change_topic(user, topic: Topic) -> bool:
    """The rule for topics: one that public statements show is a publisher's."""
    return user.has_perm(PUBLISH_PERMISSION) or not topic.is_public()


def _require_topic(user, topic: Topic) -> None:
    if not may_change_topic(user, topic):
        raise PermissionDenied(_("You do not have permission to do this."))


def change_topic(*, topic: Topic, by) -> Topic:
    """Save an edited topic. One that public statements show needs a publisher and
    gets an audit entry with the old and new values."""
    _require(by, CHANGE_TOPIC_PERMISSION)
    with transaction.atomic():
        before = Topic.objects.select_for_update().get(pk=topic.pk)
        _require_topic(by, before)
        public = before.is_public()
        changed = {
            name: [getattr(before, name), getattr(topic, name)]
            for name in ("slug", "name")
            if getattr(before, name) != getattr(topic, name)
        }
        topic.save()
        if public and changed:
            record_audit_entry(
                actor=by,
                action="topic.edit_public",
                obj=topic,
                details={"changed": changed, "statements": before.public_slugs()},
            )
    return topic


def delete_topic(*, topic: Topic, by) -> None:
    """Delete a topic; one that public statements show needs a publisher and is
    audited, since it leaves their pages, filters and feeds."""
    _require(by, DELETE_TOPIC_PERMISSION)
    with transaction.atomic():
        topic = Topic.objects.select_for_update().get(pk=topic.pk)
        _require_topic(by, topic)
        if topic.is_public():
            record_audit_entry(
                actor=by,
                action="topic.delete",
                obj=topic,
                details={"slug": topic.slug, "statements": topic.public_slugs()},
            )
        topic.delete()
