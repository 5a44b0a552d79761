"""The organizers' desk, the admin's first page: a registry of panels.

ima_site knows nothing of statements or signatures (dependencies point the other
way), so each app fills its panels from its own `desk` module, imported when the
apps are ready (ImaSiteConfig.ready). A panel is shown only to those who hold its
permission, and its loader runs a fixed number of queries, however much waits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ima_site.models import OutboxMessage

# How many rows a panel lists; the rest is behind its link to the full list.
ROWS = 10

Loader = Callable[[HttpRequest], dict]


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    order: int
    template: str
    permission: str
    load: Loader


PANELS: dict[str, Panel] = {}


def register(
    *, name: str, title, order: int, template: str, permission: str
) -> Callable[[Loader], Loader]:
    """Add a panel to the desk; its loader returns the context of its template."""

    def decorator(load: Loader) -> Loader:
        PANELS[name] = Panel(
            name=name,
            title=title,
            order=order,
            template=template,
            permission=permission,
            load=load,
        )
        return load

    return decorator


def panels_for(request: HttpRequest) -> list[dict]:
    """The panels this organizer may see, in order, each with its loaded context."""
    shown = []
    for panel in sorted(PANELS.values(), key=lambda p: (p.order, p.name)):
        if not request.user.has_perm(panel.permission):
            continue
        shown.append(
            {
                "name": panel.name,
                "title": panel.title,
                "template": panel.template,
                **panel.load(request),
            }
        )
    return shown


def start_of_today(now: datetime | None = None) -> datetime:
    """Midnight of today in the active time zone: the organizer's, on the desk."""
    zone = timezone.get_current_timezone()
    today = timezone.localtime(now or timezone.now(), zone).date()
    return datetime.combine(today, time.min, tzinfo=zone)


@register(
    name="failed_emails",
    title=_("Failed emails"),
    order=50,
    template="admin/ima_site/desk/failed_emails.html",
    permission="ima_site.view_outboxmessage",
)
def failed_emails(request: HttpRequest) -> dict:
    failed = OutboxMessage.objects.filter(status=OutboxMessage.Status.FAILED)
    url = reverse("admin:ima_site_outboxmessage_changelist")
    return {
        "total": failed.count(),
        "rows": list(failed.order_by("-created_at")[:ROWS]),
        "list_url": f"{url}?status__exact={OutboxMessage.Status.FAILED}",
    }
