"""The publishing workflow: every change of status goes through here.

Each function checks the permission, moves the statement along the allowed path,
and writes the audit entry in the same transaction.
"""

from datetime import datetime

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.models import AuditEntry, record_audit_entry
from ima_site.review import approval_refused_reason, second_person_required
from statements import emails
from statements.models import Statement, StatementVersion, Topic

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
# A small secretariat skips review: with "review by a second person" off, a
# publisher may publish or schedule a draft straight away. Never the site itself.
PUBLISHER_SHORTCUTS: dict[str, set[str]] = {
    Status.DRAFT: {Status.SCHEDULED, Status.PUBLISHED},
}
# Moves that approve a text for the public: the second-person rule applies to them.
APPROVING_FROM = {Status.DRAFT, Status.IN_REVIEW, Status.SCHEDULED}


class WorkflowError(Exception):
    """A change of status that the workflow does not allow, with the reason."""


def _require(user, permission: str) -> None:
    if user is None or not user.has_perm(permission):
        raise PermissionDenied(_("You do not have permission to do this."))


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().get(pk=statement.pk)


def allowed_moves(statement: Statement, *, by) -> set[str]:
    """The statuses `by` (None: the site) may move this statement to, by the table."""
    allowed = set(TRANSITIONS[statement.status])
    if (
        by is not None
        and by.has_perm(PUBLISH_PERMISSION)
        and not second_person_required()
    ):
        allowed |= PUBLISHER_SHORTCUTS.get(statement.status, set())
    return allowed


def submitted_by(statement: Statement, *, before: AuditEntry | None = None):
    """The author: whoever last sent the statement for review (None: nobody, or the
    site). `before` looks only at entries older than that one."""
    entries = AuditEntry.objects.filter(
        action="statement.submit",
        object_type=statement._meta.label_lower,
        object_id=str(statement.pk),
    )
    if before is not None:
        entries = entries.filter(id__lt=before.id)
    entry = entries.select_related("actor").order_by("-id").first()
    return entry.actor if entry is not None else None


def approval_refusal(statement: Statement, *, by) -> str:
    """Why `by` may not publish or schedule this statement now; "" when they may."""
    if by is None or statement.status not in APPROVING_FROM:
        return ""
    return approval_refused_reason(by, submitted_by(statement))


def _move(
    statement: Statement, to: str, *, by, action: str, details=None
) -> AuditEntry:
    """The one writer of a statement's status: the table, the row, the audit entry.

    `by` is None when the site moves the statement on its own (an import, beat, the
    demo); the audit entry then has no actor and its details name the source.
    Callers hold the row lock and the transaction. Returns the audit entry, which
    the emails about the move point to.
    """
    if to not in allowed_moves(statement, by=by):
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
    return record_audit_entry(
        actor=by,
        action=action,
        obj=statement,
        details={"from": previous, "to": to, **(details or {})},
    )


NOTE_MAX_LENGTH = 2000


def _note(note: str) -> dict:
    note = (note or "").strip()
    return {"note": note[:NOTE_MAX_LENGTH]} if note else {}


def _submit(statement: Statement, *, by, details=None) -> AuditEntry:
    if not statement.versions.exists():
        raise WorkflowError(_("Add at least one language version first."))
    return _move(
        statement, Status.IN_REVIEW, by=by, action="statement.submit", details=details
    )


def _publish(
    statement: Statement, *, by, at: datetime | None = None, details=None
) -> AuditEntry:
    now = timezone.now()
    if not statement.versions.filter(is_original=True).exists():
        raise WorkflowError(_("Mark one language version as the original first."))
    refusal = approval_refusal(statement, by=by)
    if refusal:
        raise WorkflowError(refusal)
    if (
        statement.status == Status.DRAFT
        and by is not None
        and by.has_perm(PUBLISH_PERMISSION)
        and second_person_required()
    ):
        raise WorkflowError(
            _("Review by a second person is on: send the draft for review first.")
        )
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


def create_statement(
    *, statement: Statement, title: str, body: str, language: str, by
) -> Statement:
    """Save a new statement (unsaved `statement`) with its original version, both or
    neither. The statement starts as a draft, whatever `statement.status` says."""
    _require(by, "statements.add_statement")
    with transaction.atomic():
        statement.status = Status.DRAFT
        statement.publish_at = None
        statement.created_by = by
        statement.save()
        StatementVersion.objects.create(
            statement=statement,
            language=language,
            is_original=True,
            title=title,
            body=body,
        )
    return statement


def submit_for_review(*, statement: Statement, by, note: str = "") -> Statement:
    """Ask a publisher to review a draft; every publisher but `by` gets an email."""
    _require(by, EDIT_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        entry = _submit(statement, by=by, details=_note(note))
        emails.queue_review_requests(entry=entry, statement=statement)
        return statement


def return_to_draft(*, statement: Statement, by, note: str = "") -> Statement:
    """Send a statement back to its authors; a scheduled one is unscheduled. The
    author (unless that is `by`) gets an email with the note."""
    _require(by, EDIT_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        if statement.status in (Status.SCHEDULED, Status.ARCHIVED, Status.WITHDRAWN):
            _require(by, PUBLISH_PERMISSION)
        if statement.status == Status.SCHEDULED:
            statement.publish_at = None
        author = submitted_by(statement)
        entry = _move(
            statement,
            Status.DRAFT,
            by=by,
            action="statement.return_to_draft",
            details=_note(note),
        )
        emails.queue_author_notice(entry=entry, author=author)
        return statement


def publish_statement(
    *, statement: Statement, by, at: datetime | None = None, note: str = ""
) -> Statement:
    """Publish now, or schedule for `at` when it lies in the future. The author
    (unless that is `by`) gets an email with the note."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        author = submitted_by(statement)
        entry = _publish(statement, by=by, at=at, details=_note(note))
        emails.queue_author_notice(entry=entry, author=author)
        return statement


def withdraw_statement(*, statement: Statement, by, reason: str = "") -> Statement:
    """Take a statement off the public site; its address answers 410 Gone."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        _move(
            statement,
            Status.WITHDRAWN,
            by=by,
            action="statement.withdraw",
            details={"reason": reason},
        )
        return statement


def archive_statement(*, statement: Statement, by) -> Statement:
    """Keep a statement public but out of the latest lists."""
    _require(by, PUBLISH_PERMISSION)
    with transaction.atomic():
        statement = _locked(statement)
        _move(statement, Status.ARCHIVED, by=by, action="statement.archive")
        return statement


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
            _submit(statement, by=None, details=extra)
            return statement
        if to == Status.SCHEDULED and (at is None or at <= timezone.now()):
            raise WorkflowError(_("Give a date and time."))
        if to in (Status.PUBLISHED, Status.SCHEDULED):
            _publish(
                statement, by=None, at=at if to == Status.SCHEDULED else None,
                details=extra,
            )  # fmt: skip
            return statement
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


def record_public_changes(*, statement: Statement, by, changes: list[dict]) -> None:
    """Put an edit of a public (or scheduled) statement on the record: each change
    as {"field", "old", "new"}, in words. Call inside the transaction of the save."""
    if not changes:
        return
    record_audit_entry(
        actor=by,
        action="statement.edit_public",
        obj=statement,
        details={"status": statement.status, "changes": changes},
    )
