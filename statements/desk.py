"""The statements' panels on the organizers' desk (ima_site.desk)."""

from django.db.models import CharField, OuterRef, Subquery
from django.db.models.functions import Cast
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ima_site import desk
from ima_site.models import AuditEntry
from statements.models import Statement, StatementVersion

Status = Statement.Status


def with_titles(statements):
    """The original version's title in the same query (str() would ask per row)."""
    return statements.annotate(
        title=Subquery(
            StatementVersion.objects.filter(
                statement=OuterRef("pk"), is_original=True
            ).values("title")[:1]
        )
    )


def _list_url(status: str) -> str:
    return f"{reverse('admin:statements_statement_changelist')}?status__exact={status}"


@desk.register(
    name="in_review",
    title=_("Waiting for review"),
    order=10,
    template="admin/ima_site/desk/in_review.html",
    permission="statements.view_statement",
)
def in_review(request: HttpRequest) -> dict:
    waiting = Statement.objects.filter(status=Status.IN_REVIEW)
    # Who sent each one, and when: its newest "submit" entry in the audit log.
    submitted = AuditEntry.objects.filter(
        object_type=Statement._meta.label_lower,
        object_id=Cast(OuterRef("pk"), CharField()),
        action="statement.submit",
    ).order_by("-at", "-id")
    rows = list(
        with_titles(waiting)
        .annotate(submit_entry=Subquery(submitted.values("id")[:1]))
        .order_by("updated_at", "id")[: desk.ROWS]
    )
    entries = AuditEntry.objects.select_related("actor").in_bulk(
        [row.submit_entry for row in rows if row.submit_entry]
    )
    for row in rows:
        entry = entries.get(row.submit_entry)
        row.submitted_at = entry.at if entry else None
        row.submitted_by = (
            (entry.actor.get_full_name() or entry.actor.get_username())
            if entry and entry.actor
            else ""
        )
    return {
        "total": waiting.count(),
        "rows": rows,
        "list_url": _list_url(Status.IN_REVIEW),
    }


@desk.register(
    name="scheduled",
    title=_("Scheduled"),
    order=20,
    template="admin/ima_site/desk/scheduled.html",
    permission="statements.view_statement",
)
def scheduled(request: HttpRequest) -> dict:
    coming = Statement.objects.filter(status=Status.SCHEDULED)
    return {
        "total": coming.count(),
        "rows": list(with_titles(coming).order_by("publish_at", "id")[: desk.ROWS]),
        "list_url": _list_url(Status.SCHEDULED),
    }
