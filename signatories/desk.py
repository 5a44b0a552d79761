"""The signatures' panels on the organizers' desk (ima_site.desk)."""

from django.db.models import Count, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ima_site import desk
from signatories.models import OfflineCount, Signature, SignatureCount
from statements.desk import with_titles
from statements.models import Statement


def _signatures_url(**filters) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return f"{reverse('admin:signatories_signature_changelist')}?{query}"


@desk.register(
    name="open_for_signing",
    title=_("Open for signing"),
    order=30,
    template="admin/ima_site/desk/open_for_signing.html",
    permission="statements.view_statement",
)
def open_for_signing(request: HttpRequest) -> dict:
    """Today's and the total count of each statement taking signatures.

    The totals come from the batched counts (as the public sees them); today's
    from the counted signatures made since midnight in the organizer's zone, a
    range on the indexed created_at of those few statements.
    """
    statements = Statement.objects.public().taking_signatures()
    rows = list(with_titles(statements).order_by("-publish_at", "-id")[: desk.ROWS])
    ids = [row.pk for row in rows]
    totals = dict(
        # Only positive rows, as statement_counts() adds them for the public page.
        SignatureCount.objects.filter(statement_id__in=ids, count__gt=0)
        .values("statement_id")
        .annotate(n=Sum("count"))
        .values_list("statement_id", "n")
    )
    offline = dict(
        OfflineCount.objects.filter(statement_id__in=ids)
        .values("statement_id")
        .annotate(n=Sum("count"))
        .values_list("statement_id", "n")
    )
    today = dict(
        Signature.objects.counted()
        .filter(statement_id__in=ids, created_at__gte=desk.start_of_today())
        .values("statement_id")
        .annotate(n=Count("id"))
        .values_list("statement_id", "n")
    )
    may_see_signatures = request.user.has_perm("signatories.view_signature")
    for row in rows:
        row.count_total = (totals.get(row.pk) or 0) + (offline.get(row.pk) or 0)
        row.count_today = today.get(row.pk, 0)
        row.signatures_url = (
            _signatures_url(statement__id__exact=row.pk) if may_see_signatures else ""
        )
    return {
        "total": statements.count(),
        "rows": rows,
        "list_url": (
            f"{reverse('admin:statements_statement_changelist')}"
            "?accepts_signatures__exact=1&status__exact=published"
        ),
    }


@desk.register(
    name="held_signatures",
    title=_("Signatures held for review"),
    order=40,
    template="admin/ima_site/desk/held_signatures.html",
    permission="signatories.view_signature",
)
def held_signatures(request: HttpRequest) -> dict:
    # Held and still undecided: a rejected or withdrawn one waits for nobody.
    waiting = [Signature.Status.PENDING, Signature.Status.CONFIRMED]
    held = Signature.objects.filter(is_held=True, status__in=waiting)
    statuses = ",".join(waiting)
    per_statement = list(
        held.values("statement_id")
        .annotate(n=Count("id"))
        .order_by("-n", "statement_id")[: desk.ROWS]
    )
    titles = {
        statement.pk: statement.title or statement.slug
        for statement in with_titles(
            Statement.objects.filter(
                pk__in=[row["statement_id"] for row in per_statement]
            )
        )
    }
    rows = [
        {
            "title": titles.get(row["statement_id"], ""),
            "count": row["n"],
            "url": _signatures_url(
                is_held__exact=1,
                status__in=statuses,
                statement__id__exact=row["statement_id"],
            ),
        }
        for row in per_statement
    ]
    return {
        "total": held.count(),
        "rows": rows,
        "list_url": _signatures_url(is_held__exact=1, status__in=statuses),
    }
