"""Organizers' changes to an alert before (or between) sends: the mission chosen for
an organization, and edits of an alert whose sending had started and was cancelled.

Sending itself (start, pause, resume, cancel, tests) is campaigns/sending.py.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ima_site.models import record_audit_entry
from signatories.models import Organization

from .models import Alert, Mission, MissionChoice
from .sending import AlertError

# An alert's audience, texts and mission choices change only while nothing is
# being sent: a draft, or an alert cancelled on purpose to be changed and resent.
EDITABLE = (Alert.Status.DRAFT, Alert.Status.CANCELLED)


def is_editable(alert: Alert) -> bool:
    return alert.status in EDITABLE


def may_choose_missions(user) -> bool:
    return user.has_perm("campaigns.add_missionchoice") and user.has_perm(
        "campaigns.change_missionchoice"
    )


def choose_mission(
    *, alert: Alert, organization: Organization, mission: Mission | None, by
) -> MissionChoice | None:
    """Send `organization`'s contacts to `mission` in this alert (None: back to the
    nearest, as matching finds it). Repeating the same choice changes nothing and
    writes no entry; a change is audited with the old and new mission."""
    if by is not None and not may_choose_missions(by):
        raise PermissionDenied(_("You may not choose missions for alerts."))
    with transaction.atomic():
        locked = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("action__campaign")
            .get(pk=alert.pk)
        )
        if not is_editable(locked):
            raise AlertError(
                _("This alert is being sent: cancel it first, then change it.")
            )
        target = locked.action.campaign.target_country
        if mission is not None and mission.represented_country != target:
            raise AlertError(
                _("%(mission)s is not a mission of %(country)s.")
                % {"mission": mission.name, "country": target}
            )
        current = (
            MissionChoice.objects.select_related("mission")
            .filter(alert=locked, organization=organization)
            .first()
        )
        old = current.mission if current is not None else None
        if old == mission:
            return current
        choice: MissionChoice | None
        if mission is None:
            MissionChoice.objects.filter(
                alert=locked, organization=organization
            ).delete()
            choice = None
        else:
            choice, _created = MissionChoice.objects.update_or_create(
                alert=locked, organization=organization, defaults={"mission": mission}
            )
        nearest = _("the nearest")
        record_audit_entry(
            actor=by,
            action="alert.choose_mission",
            obj=locked,
            details={
                "changes": [
                    {
                        "field": _("Mission of %(organization)s")
                        % {"organization": organization.name},
                        "old": old.name if old is not None else nearest,
                        "new": mission.name if mission is not None else nearest,
                    }
                ]
            },
        )
    return choice


def record_sending_edit(*, alert: Alert, by, changes: list[dict]) -> None:
    """Audit an edit of an alert whose sending had started (and was cancelled): it
    reaches only the contacts a resend will reach. Call inside the save's
    transaction; changes are [{"field", "old", "new"}]."""
    if not changes:
        return
    record_audit_entry(
        actor=by, action="alert.edit_sending", obj=alert, details={"changes": changes}
    )
