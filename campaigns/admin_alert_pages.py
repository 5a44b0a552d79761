"""The pages of an alert beside its form: the matching table and the mission chosen
per organization, the preview for any recipient and the test send. The pages that
send are in admin_alert_sending.

Each page parses, checks permission and calls campaigns.sending or
campaigns.alert_edits, where the rules live. AlertAdmin (admin_alerts) mixes
these in.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from smtplib import SMTPException

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from signatories.models import Organization

from . import alert_edits, sending
from .admin_alert_sending import (
    AlertSendingPages,
)
from .admin_forms import MissionChoiceForm
from .emails import AlertContent, freeze_content, render_delivery_email
from .localtime import action_window
from .models import Action, Alert, AlertDelivery, Mission
from .recipients import Recipient, audience, nearest_missions

# Organizations per page of the matching table.
ROWS_PER_PAGE = 50
# The address a preview is rendered for: never the contact's own.
PREVIEW_ADDRESS = "contact@preview.invalid"
# The strict policy of the email preview: its own markup and inline styles, no
# script, no request anywhere, shown only inside the admin's own page.
PREVIEW_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'none'; sandbox"
)


@dataclass
class MatchRow:
    """One organization of the matching table."""

    organization_id: int
    name: str
    mission_id: int | None
    abroad: bool
    chosen: bool
    time_zone: str
    first_contact_id: int
    contacts: int = 0
    skipped: int = 0
    # Filled for the rows of the page shown.
    country: str = ""
    city: str = ""
    mission: Mission | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    zone_name: str = ""


def matching_rows(
    recipients: list[Recipient], skipped: list[tuple[Recipient, str]]
) -> list[MatchRow]:
    """The audience by organization, by name: contacts to send and skipped."""
    rows: dict[int, MatchRow] = {}
    everyone = [(r, True) for r in recipients] + [(r, False) for r, _why in skipped]
    for recipient, counted in everyone:
        row = rows.get(recipient.organization_id)
        if row is None:
            row = rows[recipient.organization_id] = MatchRow(
                organization_id=recipient.organization_id,
                name=recipient.organization_name,
                mission_id=recipient.mission_id,
                abroad=recipient.mission_abroad,
                chosen=recipient.mission_chosen,
                time_zone=recipient.time_zone,
                first_contact_id=recipient.contact_id,
            )
        if counted:
            row.contacts += 1
        else:
            row.skipped += 1
    return sorted(rows.values(), key=lambda r: (r.name.casefold(), r.organization_id))


MATCH_FILTERS = {
    "abroad": (gettext_lazy("Mission abroad"), lambda row: row.abroad),
    "none": (gettext_lazy("No mission"), lambda row: row.mission_id is None),
    "chosen": (gettext_lazy("Chosen by an organizer"), lambda row: row.chosen),
}


def _fill_page(rows: list[MatchRow], action: Action) -> None:
    """Country, city, mission and local action time of the rows shown: two
    queries, whatever the size of the audience."""
    places = {
        org["id"]: org
        for org in Organization.objects.filter(
            pk__in=[row.organization_id for row in rows]
        ).values("id", "country", "city")
    }
    missions = Mission.objects.in_bulk(
        [row.mission_id for row in rows if row.mission_id is not None]
    )
    for row in rows:
        place = places.get(row.organization_id, {})
        row.country, row.city = place.get("country", ""), place.get("city", "")
        row.mission = missions.get(row.mission_id) if row.mission_id else None
        row.starts, row.ends, row.zone_name = action_window(
            action, row.mission, time_zone=row.time_zone
        )


def _dead_links(recipient_delivery: AlertDelivery) -> AlertDelivery:
    # A nonce the contact does not have: the personal links in a preview are built
    # as for the real email but open nothing, so showing them reveals none that
    # work. The contact row is never saved from here.
    recipient_delivery.contact.link_nonce = "preview-" + secrets.token_urlsafe(8)
    return recipient_delivery


def _content(alert: Alert) -> AlertContent:
    """What a send would use now: the live text while the alert may change, the
    frozen one while it is being sent."""
    if alert_edits.is_editable(alert):
        return AlertContent.from_frozen(alert.pk, freeze_content(alert))
    return AlertContent.of(alert)


def render_preview(alert: Alert, recipient: Recipient):
    """The email as `recipient` would get it, addressed to nobody, with dead links.
    Raises ValueError (unknown placeholders, no text) with the reason."""
    delivery = _dead_links(sending.preview_delivery(alert, recipient))
    return render_delivery_email(delivery, content=_content(alert), to=PREVIEW_ADDRESS)


def _html_of(message) -> str:
    for alternative in message.alternatives:
        content, mimetype = alternative[0], alternative[1]
        if mimetype == "text/html":
            return str(content)
    return ""


def _attachment_names(message) -> list[str]:
    names = []
    for attachment in message.attachments:
        if hasattr(attachment, "get_filename"):
            names.append(attachment.get_filename() or "")
        else:
            names.append(attachment[0] or "")
    return names


class AlertPages(AlertSendingPages):
    """The alert's own pages; mixed into AlertAdmin, whose get_urls routes them."""

    # --- the matching table -------------------------------------------------------

    def recipients_view(self, request, object_id):
        alert = self._alert(request, object_id)
        recipients, skipped = audience(alert)
        rows = matching_rows(recipients, skipped)
        shown_filter = request.GET.get("show", "")
        if shown_filter in MATCH_FILTERS:
            keep = MATCH_FILTERS[shown_filter][1]
            shown = [row for row in rows if keep(row)]
        else:
            shown_filter, shown = "", rows
        page = Paginator(shown, ROWS_PER_PAGE).get_page(request.GET.get("page"))
        _fill_page(list(page.object_list), alert.action)
        reasons = Counter(reason for _r, reason in skipped)
        return self._page(
            request,
            alert,
            "recipients.html",
            _("Recipients"),
            page=page,
            rows=page.object_list,
            organizations=len(rows),
            contacts=len(recipients),
            unsubscribed=reasons.get("unsubscribed", 0),
            bouncing=reasons.get("bouncing", 0),
            abroad=sum(1 for row in rows if row.abroad),
            without_mission=sum(1 for row in rows if row.mission_id is None),
            chosen=sum(1 for row in rows if row.chosen),
            filters=[
                {"value": key, "label": label, "active": key == shown_filter}
                for key, (label, _keep) in MATCH_FILTERS.items()
            ],
            shown_filter=shown_filter,
            at_place=alert.action.where == Action.Where.PLACE,
            may_choose=alert_edits.may_choose_missions(request.user)
            and alert_edits.is_editable(alert),
        )

    def mission_choice_view(self, request, object_id, organization_id):
        alert = self._alert(request, object_id)
        if not alert_edits.may_choose_missions(request.user):
            raise PermissionDenied
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise Http404
        back = reverse("admin:campaigns_alert_recipients", args=[alert.pk])
        if not alert_edits.is_editable(alert):
            self.message_user(
                request,
                _("This alert is being sent: cancel it first, then change it."),
                messages.ERROR,
            )
            return HttpResponseRedirect(back)
        target = alert.action.campaign.target_country
        current = alert.mission_choices.filter(organization=organization).first()
        form = MissionChoiceForm(
            request.POST if request.method == "POST" else None,
            target_country=target,
            initial={"mission": current.mission_id if current else None},
        )
        if request.method == "POST" and form.is_valid():
            try:
                alert_edits.choose_mission(
                    alert=alert,
                    organization=organization,
                    mission=form.cleaned_data["mission"],
                    by=request.user,
                )
            except sending.AlertError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(
                    request,
                    _("The mission of %(organization)s is saved.")
                    % {"organization": organization.name},
                    messages.SUCCESS,
                )
            return HttpResponseRedirect(back)
        nearest_id, abroad = nearest_missions([organization], target)[organization.pk]
        nearest = Mission.objects.filter(pk=nearest_id).first() if nearest_id else None
        return self._page(
            request,
            alert,
            "mission_choice.html",
            _("Mission of %(organization)s") % {"organization": organization.name},
            form=form,
            organization=organization,
            nearest=nearest,
            nearest_abroad=abroad,
            recipients_url=back,
        )

    # --- preview and test ----------------------------------------------------------

    def _chosen_recipient(self, request, alert: Alert):
        """(everyone in the audience, the recipient asked for or the first)."""
        recipients, skipped = audience(alert)
        everyone = recipients + [r for r, _why in skipped]
        wanted = request.GET.get("contact", request.POST.get("contact", ""))
        recipient = None
        if wanted.isdigit():
            recipient = next((r for r in everyone if r.contact_id == int(wanted)), None)
        if recipient is None and everyone:
            recipient = everyone[0]
        return everyone, recipient

    def preview_view(self, request, object_id):
        alert = self._alert(request, object_id)
        everyone, recipient = self._chosen_recipient(request, alert)
        query = request.GET.get("q", "").strip()[:100]
        found: dict[int, Recipient] = {}
        if query:
            needle = query.casefold()
            for r in everyone:
                if needle in r.organization_name.casefold():
                    found.setdefault(r.organization_id, r)
                if len(found) >= 20:
                    break
        context: dict = {
            "query": query,
            "found": list(found.values()),
            "recipient": recipient,
            "audience_size": len(everyone),
        }
        if recipient is not None:
            context["contacts"] = [
                r for r in everyone if r.organization_id == recipient.organization_id
            ]
            try:
                message = render_preview(alert, recipient)
            except ValueError as error:
                context["error"] = str(error)
            else:
                mission = (
                    Mission.objects.filter(pk=recipient.mission_id).first()
                    if recipient.mission_id
                    else None
                )
                context.update(
                    subject=message.subject,
                    from_email=message.from_email,
                    reply_to=", ".join(message.reply_to),
                    text=message.body,
                    attachments=_attachment_names(message),
                    mission=mission,
                    email_url=reverse(
                        "admin:campaigns_alert_preview_email", args=[alert.pk]
                    )
                    + "?"
                    + urlencode({"contact": recipient.contact_id}),
                )
        context["may_test"] = self.may_test(request)
        context["user_email"] = request.user.email
        return self._page(request, alert, "preview.html", _("Preview"), **context)

    def preview_email_view(self, request, object_id):
        """The email's HTML on its own, for the preview's sandboxed frame."""
        alert = self._alert(request, object_id)
        _everyone, recipient = self._chosen_recipient(request, alert)
        if recipient is None:
            raise Http404
        try:
            html = _html_of(render_preview(alert, recipient))
        except ValueError as error:
            response = HttpResponse(
                str(error), content_type="text/plain; charset=utf-8"
            )
        else:
            response = HttpResponse(html, content_type="text/html; charset=utf-8")
        # Set here, so that the site's own policy and frame rule do not replace
        # them: this page may be framed by the admin, and nothing in it runs.
        response.headers["Content-Security-Policy"] = PREVIEW_POLICY
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        response.headers["Cache-Control"] = "no-store"
        return response

    def test_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        alert = self._alert(request, object_id)
        if not self.may_test(request):
            raise PermissionDenied
        return self._send_test(request, alert)

    def _send_test(self, request, alert: Alert):
        contact = request.POST.get("contact", "")
        back = self._back(alert)
        if request.POST.get("back") == "preview" and contact.isdigit():
            back = HttpResponseRedirect(
                reverse("admin:campaigns_alert_preview", args=[alert.pk])
                + "?"
                + urlencode({"contact": contact})
            )
        if not request.user.email:
            self.message_user(
                request,
                _(
                    "Your account has no email address to send the test to: ask "
                    "an administrator to add it."
                ),
                messages.ERROR,
            )
            return back
        try:
            sending.send_test_alert(
                alert=alert,
                to=request.user.email,
                by=request.user,
                contact_id=int(contact) if contact.isdigit() else None,
            )
        except sending.AlertError as error:
            self.message_user(request, str(error), messages.ERROR)
        except (OSError, SMTPException) as error:
            self.message_user(
                request,
                _("The test could not be sent: %(error)s") % {"error": error},
                messages.ERROR,
            )
        else:
            self.message_user(
                request,
                _("A test was sent to %(email)s.") % {"email": request.user.email},
                messages.SUCCESS,
            )
        return back
