"""The campaigns' panels on the organizers' desk (ima_site.desk): alerts going out
now, alerts scheduled, and members' reports waiting for approval."""

from django.db.models import Count, OuterRef, Q, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from campaigns.models import Alert, AlertDelivery, AlertVersion, Pledge
from ima_site import desk

Status = Alert.Status
Delivery = AlertDelivery.Status


def _with_subjects(alerts):
    """The original version's subject in the same query (str() asks per row)."""
    return alerts.annotate(
        subject=Subquery(
            AlertVersion.objects.filter(alert=OuterRef("pk"))
            .order_by("-is_original", "language")
            .values("subject")[:1]
        )
    )


def _total(queryset, rows: list) -> int:
    """How many there are: the rows shown when they are not cut (no second query,
    the desk's usual case), else a count."""
    return len(rows) if len(rows) < desk.ROWS else queryset.count()


def _list_url(status: str) -> str:
    return f"{reverse('admin:campaigns_alert_changelist')}?status__exact={status}"


@desk.register(
    name="alerts_sending",
    title=_("Alerts going out"),
    order=25,
    template="admin/campaigns/desk/alerts_sending.html",
    permission="campaigns.view_alert",
)
def alerts_sending(request: HttpRequest) -> dict:
    """Sending and paused alerts with their counts: one query for the rows (the
    counts grouped on the (alert, status) index)."""
    going = Alert.objects.filter(status__in=[Status.SENDING, Status.PAUSED])
    rows = list(
        _with_subjects(going)
        .annotate(
            total=Count("deliveries"),
            sent=Count("deliveries", filter=Q(deliveries__status=Delivery.SENT)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.FAILED)),
        )
        .order_by("-updated_at", "-id")[: desk.ROWS]
    )
    return {
        "total": _total(going, rows),
        "rows": rows,
        "list_url": _list_url(Status.SENDING),
    }


@desk.register(
    name="alerts_scheduled",
    title=_("Alerts scheduled"),
    order=26,
    template="admin/campaigns/desk/alerts_scheduled.html",
    permission="campaigns.view_alert",
)
def alerts_scheduled(request: HttpRequest) -> dict:
    coming = Alert.objects.filter(status=Status.SCHEDULED)
    rows = list(
        _with_subjects(coming).order_by(
            "send_at", "send_on_local_date", "send_at_local_time", "id"
        )[: desk.ROWS]
    )
    return {
        "total": _total(coming, rows),
        "rows": rows,
        "list_url": _list_url(Status.SCHEDULED),
    }


@desk.register(
    name="reports_waiting",
    title=_("Reports waiting for approval"),
    order=45,
    template="admin/campaigns/desk/reports_waiting.html",
    permission="campaigns.change_pledge",
)
def reports_waiting(request: HttpRequest) -> dict:
    waiting = Pledge.objects.filter(reported_at__isnull=False, approved_at__isnull=True)
    rows = list(
        waiting.select_related("organization", "action").order_by("reported_at", "id")[
            : desk.ROWS
        ]
    )
    url = reverse("admin:campaigns_pledge_changelist")
    return {
        "total": _total(waiting, rows),
        "rows": rows,
        "list_url": f"{url}?report=waiting",
    }
