"""Sending alerts: one delivery row per contact, claimed, sent and marked once.

Alerts do not go through the outbox (ima_site/outbox.py): each email is rendered
for its contact with a calendar file and list headers, there is one unique row
per (alert, contact), and they go to a Celery queue of their own ("bulk") with
its own worker, so that signers' confirmations never wait behind a fan-out.

The life of a row: queued -> sending (claimed by one worker, attempts + 1) ->
sent | failed, or back to queued after a temporary failure (with a growing
delay) or after its worker died (ALERT_STALE_SECONDS). A row whose sending kills
its worker every time ends failed after ALERT_MAX_ATTEMPTS claims.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import smtplib
from collections import Counter
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.mail import get_connection
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ima_site.models import record_audit_entry
from ima_site.outbox import describe, is_transient
from ima_site.review import approval_refused_reason, may_approve
from signatories.models import Contact

from .alert_mail import send_alert_email
from .emails import (
    AlertContent,
    AlertRenderer,
    freeze_content,
    message_id,
    test_email,
)
from .localtime import local_moment
from .models import Alert, AlertDelivery, Mission
from .placeholders import misplaced_placeholders, unknown_placeholders
from .recipients import BOUNCING_AFTER, Recipient, audience
from .sent_marks import SentMarks

log = logging.getLogger(__name__)

Status = AlertDelivery.Status
# Rows that may still be sent: what "in progress" means.
OPEN = (Status.QUEUED, Status.SENDING)
INSERT_BATCH = 1000


class AlertError(ValueError):
    """What the organizer asked for cannot be done; the message says why."""


def _check_may_send(alert: Alert, by, *, stopping: bool = False) -> None:
    # by=None is the site itself: the send_alert command, run by whoever runs the
    # server, or beat. People go through the permission and the review rule.
    if by is None:
        return
    if not by.has_perm("campaigns.send_alert"):
        raise PermissionDenied(_("Only Publishers may send, pause or cancel alerts."))
    # Stopping is always safe: the alert's own author may pause or cancel it even
    # when a second person must approve what goes out.
    if not stopping and not may_approve(by, alert.created_by):
        raise PermissionDenied(approval_refused_reason(by, alert.created_by))


def _check_text(content: dict) -> None:
    problems = []
    for language, version in sorted(content["versions"].items()):
        unknown = unknown_placeholders(version["body"]) + unknown_placeholders(
            version["subject"]
        )
        if unknown:
            names = ", ".join("{" + name + "}" for name in dict.fromkeys(unknown))
            problems.append(f"{language}: {names}")
    if problems:
        raise AlertError(
            _("Unknown placeholders, fix them before sending: %(list)s")
            % {"list": "; ".join(problems)}
        )
    kind = content["action"].get("kind", "")
    misplaced = {
        name
        for version in content["versions"].values()
        for text in (version["subject"], version["body"])
        for name in misplaced_placeholders(text, kind)
    }
    if misplaced:
        raise AlertError(
            _(
                "%(names)s is only for an action that asks for a letter of concern: "
                "take it out, or change the action."
            )
            % {"names": ", ".join("{" + name + "}" for name in sorted(misplaced))}
        )


def _send_after(
    recipient: Recipient,
    *,
    at: datetime | None,
    local_date: date | None,
    local_time: time | None,
) -> datetime | None:
    if local_date is not None and local_time is not None:
        return local_moment(local_date, local_time, recipient.time_zone)
    return at


def start_alert(
    *,
    alert: Alert,
    by,
    at: datetime | None = None,
    local_time: time | None = None,
    local_date: date | None = None,
) -> Alert:
    """Freeze the alert's content and write one delivery per contact; send now, at
    `at`, or at local_time on local_date in each organization's own zone.

    Idempotent per contact: the rows are unique per (alert, contact) and inserted
    with ON CONFLICT DO NOTHING, so a resend after a cancel never reaches anyone
    who already got the alert. Unsubscribed and bouncing contacts get a skipped
    row. The fan-out is queued after the commit.
    """
    if at is not None and (local_time is not None or local_date is not None):
        raise AlertError(
            _("Choose one moment, or a local time in each zone, not both.")
        )
    if (local_time is None) != (local_date is None):
        raise AlertError(_("A local send time needs both a date and a time."))
    if at is not None and timezone.is_naive(at):
        raise AlertError(_("The moment to send at needs its time zone."))
    _check_may_send(alert, by)
    now = timezone.now()
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update(of=("self",))
            .select_related("action__campaign", "created_by")
            .get(pk=alert.pk)
        )
        if alert.status not in (Alert.Status.DRAFT, Alert.Status.CANCELLED):
            raise AlertError(
                _("This alert is already %(status)s: nothing more was sent.")
                % {"status": alert.get_status_display().lower()}
            )
        resend = alert.status == Alert.Status.CANCELLED
        try:
            content = freeze_content(alert)
        except ValueError as error:
            raise AlertError(str(error)) from None
        _check_text(content)
        recipients, skipped = audience(alert)
        if not recipients and not skipped:
            raise AlertError(_("No contact is in this alert's audience."))
        if resend:
            # Rows never sent are written again with the new content and timing;
            # sent and failed rows stay, and the unique constraint keeps them so.
            AlertDelivery.objects.filter(
                alert=alert, status__in=[Status.CANCELLED, Status.SKIPPED]
            ).delete()
        rows = [
            AlertDelivery(
                alert=alert,
                contact_id=r.contact_id,
                organization_id=r.organization_id,
                mission_id=r.mission_id,
                mission_abroad=r.mission_abroad,
                language=r.language,
                send_after=_send_after(
                    r, at=at, local_date=local_date, local_time=local_time
                ),
                message_id=message_id(alert.pk, r.contact_id),
            )
            for r in recipients
        ] + [
            AlertDelivery(
                alert=alert,
                contact_id=r.contact_id,
                organization_id=r.organization_id,
                mission_id=r.mission_id,
                mission_abroad=r.mission_abroad,
                language=r.language,
                status=Status.SKIPPED,
                skip_reason=reason,
            )
            for r, reason in skipped
        ]
        # INSERT ... ON CONFLICT DO NOTHING, in batches.
        AlertDelivery.objects.bulk_create(
            rows, batch_size=INSERT_BATCH, ignore_conflicts=True
        )
        due_now = any(
            row.send_after is None or row.send_after <= now
            for row in rows
            if row.status == Status.QUEUED
        )
        alert.status = Alert.Status.SENDING if due_now else Alert.Status.SCHEDULED
        alert.frozen_content = content
        alert.frozen_at = now
        alert.send_at = at
        alert.send_on_local_date = local_date
        alert.send_at_local_time = local_time
        alert.save(
            update_fields=[
                "status", "frozen_content", "frozen_at", "send_at",
                "send_on_local_date", "send_at_local_time", "updated_at",
            ]
        )  # fmt: skip
        reasons = Counter(reason for _recipient, reason in skipped)
        record_audit_entry(
            actor=by,
            action="alert.resend" if resend else "alert.send",
            obj=alert,
            details={
                "recipients": len(recipients),
                "skipped": dict(reasons),
                "at": at.isoformat() if at else None,
                "local_date": local_date.isoformat() if local_date else None,
                "local_time": local_time.isoformat() if local_time else None,
            },
        )
        if due_now:
            alert_id = alert.pk
            transaction.on_commit(lambda: start_senders(alert_id))
    return alert


def start_senders(alert_id: int) -> None:
    """Queue the fan-out on the bulk queue. Redis being away loses nothing: beat
    releases due rows again (release_due_deliveries)."""
    from .tasks import send_alert_deliveries

    try:
        for _n in range(settings.ALERT_SENDERS):
            send_alert_deliveries.delay(alert_id)
    except Exception as error:  # noqa: BLE001 - the rows are safe in the database
        log.warning("Alert %s: fan-out not queued now (%s); beat will", alert_id, error)


def send_test_alert(
    *, alert: Alert, to: str, by, contact_id: int | None = None
) -> None:
    """Send the alert as one recipient would get it (the first of the audience, or
    contact_id's) to `to`, now, with the text as it is now. Writes no delivery."""
    if by is not None and not (
        by.has_perm("campaigns.send_alert") or by.has_perm("campaigns.change_alert")
    ):
        raise PermissionDenied(_("You may not send tests of alerts."))
    try:
        validate_email(to)
    except Exception:  # noqa: BLE001 - Django's ValidationError, said in words
        raise AlertError(_("%(to)s is not an email address.") % {"to": to}) from None
    try:
        content = freeze_content(alert)
    except ValueError as error:
        raise AlertError(str(error)) from None
    _check_text(content)
    recipients, skipped = audience(alert)
    everyone = recipients + [r for r, _reason in skipped]
    if contact_id is not None:
        everyone = [r for r in everyone if r.contact_id == contact_id]
    if not everyone:
        raise AlertError(_("No contact in the audience to show the email as."))
    delivery = preview_delivery(alert, everyone[0])
    # A nonce no link accepts (never saved): the organizer's test must not carry the
    # contact's working links, or pressing "unsubscribe" in it would unsubscribe them.
    delivery.contact.link_nonce = "test-" + secrets.token_urlsafe(8)
    renderer = AlertRenderer(AlertContent.from_frozen(alert.pk, content))
    backend = get_connection()
    with backend:
        send_alert_email(
            backend, test_email(renderer.render(delivery, to=to), alert_id=alert.pk)
        )
    with transaction.atomic():
        record_audit_entry(
            actor=by,
            action="alert.test",
            obj=alert,
            details={"as_contact": delivery.contact_id},
        )


def preview_delivery(alert: Alert, recipient: Recipient) -> AlertDelivery:
    """An unsaved delivery for a recipient of the matching table: what the preview
    and the test send render."""
    contact = Contact.objects.select_related("organization").get(
        pk=recipient.contact_id
    )
    mission = (
        Mission.objects.filter(pk=recipient.mission_id).first()
        if recipient.mission_id
        else None
    )
    return AlertDelivery(
        alert=alert,
        contact=contact,
        organization=contact.organization,
        mission=mission,
        mission_abroad=recipient.mission_abroad,
        language=recipient.language,
    )


def _change_status(
    *, alert: Alert, by, allowed: tuple[str, ...], action: str, to_status=None
) -> Alert:
    _check_may_send(alert, by, stopping=action in ("paused", "cancelled"))
    with transaction.atomic():
        alert = Alert.objects.select_for_update(of=("self",)).get(pk=alert.pk)
        if alert.status not in allowed:
            raise AlertError(
                _("This alert is %(status)s: it cannot be %(verb)s.")
                % {"status": alert.get_status_display().lower(), "verb": action}
            )
        old = alert.status
        details: dict = {"from": old}
        if action == "cancelled":
            details["cancelled"] = AlertDelivery.objects.filter(
                alert=alert, status=Status.QUEUED
            ).update(status=Status.CANCELLED)
            alert.status = Alert.Status.CANCELLED
        elif action == "paused":
            alert.status = Alert.Status.PAUSED
        else:
            alert.status = (
                Alert.Status.SENDING
                if has_due_rows(alert_id=alert.pk)
                else Alert.Status.SCHEDULED
            )
        alert.save(update_fields=["status", "updated_at"])
        record_audit_entry(
            actor=by, action=f"alert.{action}", obj=alert, details=details
        )
        if alert.status == Alert.Status.SENDING:
            alert_id = alert.pk
            transaction.on_commit(lambda: start_senders(alert_id))
    return alert


def has_due_rows(*, alert_id: int) -> bool:
    """Are rows of the alert waiting to be claimed now?"""
    return _due(
        AlertDelivery.objects.filter(alert_id=alert_id), timezone.now()
    ).exists()


def pause_alert(*, alert: Alert, by) -> Alert:
    """Stop claiming the alert's rows (a batch being sent finishes)."""
    return _change_status(
        alert=alert,
        by=by,
        allowed=(Alert.Status.SENDING, Alert.Status.SCHEDULED),
        action="paused",
    )


def resume_alert(*, alert: Alert, by) -> Alert:
    """Claim the rows of a paused alert again, with the content frozen at start."""
    return _change_status(
        alert=alert, by=by, allowed=(Alert.Status.PAUSED,), action="resumed"
    )


def cancel_alert(*, alert: Alert, by) -> Alert:
    """Mark every row not yet claimed cancelled; a resend after an edit writes them
    again (start_alert), and only they get the new content."""
    return _change_status(
        alert=alert,
        by=by,
        allowed=(Alert.Status.SCHEDULED, Alert.Status.SENDING, Alert.Status.PAUSED),
        action="cancelled",
    )


def alert_progress(alert: Alert) -> dict:
    """Counts per status (one GROUP BY on the (alert, status) index), and total."""
    counts = dict(
        AlertDelivery.objects.filter(alert=alert)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    progress: dict[str, int | str] = {
        status: counts.get(status, 0) for status in Status.values
    }
    progress["total"] = sum(counts.values())
    progress["status"] = Alert.objects.values_list("status", flat=True).get(pk=alert.pk)
    return progress


# --- The workers' side ---------------------------------------------------------


def _due(queryset, now: datetime):
    return queryset.filter(status=Status.QUEUED).filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now),
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
    )


def claim_batch(*, alert_id: int, size: int | None = None) -> list[int]:
    """Take up to `size` due rows of a sending alert for this worker.

    SKIP LOCKED lets several workers claim side by side without waiting or
    overlapping; each claim counts an attempt, so a row that kills its worker
    every time runs out of attempts.
    """
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _due(
                AlertDelivery.objects.filter(
                    alert_id=alert_id, alert__status=Alert.Status.SENDING
                ),
                now,
            )
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("id")
            .values_list("id", flat=True)[: size or settings.ALERT_BATCH_SIZE]
        )
        AlertDelivery.objects.filter(pk__in=ids).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return ids


def send_batch(*, alert_id: int) -> int:
    """Claim one batch and send it over one SMTP connection; the number claimed.

    Each row is marked sent right after the server's answer (campaigns.sent_marks:
    the mark is on its way before the next email goes): a worker killed mid-batch
    can duplicate at most the one email in flight, never the batch.
    """
    ids = claim_batch(alert_id=alert_id)
    if not ids:
        return 0
    renderer = _renderer(Alert.objects.get(pk=alert_id))
    _make_link_nonces(ids)
    deliveries = list(
        AlertDelivery.objects.filter(pk__in=ids)
        .select_related("contact", "organization", "mission")
        .order_by("id")
    )
    smtp = get_connection()
    is_open = False
    with contextlib.ExitStack() as stack:
        # Closed last to first: the marks (the last one waited for), then the
        # SMTP connection.
        stack.callback(_close, smtp)
        marks = stack.enter_context(contextlib.closing(SentMarks()))
        for index, delivery in enumerate(deliveries):
            contact = delivery.contact
            if reason := _skip_reason(contact):
                _mark(delivery, status=Status.SKIPPED, skip_reason=reason)
                continue
            try:
                message = renderer.render(delivery)
            except Exception as error:  # noqa: BLE001 - recorded on the row
                log.exception("Alert delivery %s could not be rendered", delivery.pk)
                _failed(delivery, error, permanent=True)
                continue
            if not is_open:
                try:
                    smtp.open()
                    is_open = True
                except Exception as error:  # noqa: BLE001 - recorded on the rows
                    # The server is away: no row of this batch can go now.
                    for rest in deliveries[index:]:
                        _failed(rest, error)
                    return len(ids)
            try:
                send_alert_email(smtp, message)
            except Exception as error:  # noqa: BLE001 - recorded on the row
                _failed(delivery, error)
                if not isinstance(
                    error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
                ):
                    _close(smtp)
                    is_open = False
                continue
            marks.mark(delivery.pk)
    return len(ids)


_renderers: dict[tuple, AlertRenderer] = {}


def _renderer(alert: Alert) -> AlertRenderer:
    """The renderer of the alert's frozen content, kept for this worker's next
    batches: what the emails share is rendered once per worker, not per batch.
    A resend freezes the content anew (frozen_at): a new renderer."""
    key = (alert.pk, alert.frozen_at, settings.SITE_URL, settings.SITE_NAME)
    renderer = _renderers.get(key)
    if renderer is None:
        _renderers.clear()
        renderer = _renderers[key] = AlertRenderer(AlertContent.of(alert))
    return renderer


def _make_link_nonces(delivery_ids: list[int]) -> None:
    """Give the batch's contacts their link nonce in one statement, where the links
    would otherwise make them one contact at a time (campaigns.links.nonce_of).
    Only where there is none yet: a nonce already mailed in links stays."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE signatories_contact SET link_nonce ="
            " left(translate(encode(uuid_send(gen_random_uuid())"
            " || uuid_send(gen_random_uuid()), 'base64'), '+/=', '-_'), 22)"
            " WHERE link_nonce = '' AND id IN (SELECT contact_id FROM"
            " campaigns_alertdelivery WHERE id = ANY(%s))",
            [delivery_ids],
        )


def _close(smtp) -> None:
    # A connection that died mid-conversation closes as well as it can.
    with contextlib.suppress(Exception):
        smtp.close()


def _skip_reason(contact) -> str:
    """Why the contact gets no alert now ("" if it does)."""
    if contact.unsubscribed_at is not None:
        return "unsubscribed"
    return "bouncing" if contact.bounces >= BOUNCING_AFTER else ""


def _mark(delivery: AlertDelivery, **fields) -> None:
    # Only a row this worker still holds: a row taken back as stale and sent by
    # another worker meanwhile keeps that worker's outcome.
    AlertDelivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(**fields)


def _failed(
    delivery: AlertDelivery, error: Exception, *, permanent: bool = False
) -> None:
    retry = (
        not permanent
        and is_transient(error)
        and delivery.attempts < settings.ALERT_MAX_ATTEMPTS
    )
    text = describe(error)
    log.warning(
        "Alert delivery %s failed (%s): %s",
        delivery.pk,
        "retry" if retry else "final",
        text,
    )
    if retry:
        delay = timedelta(
            seconds=settings.ALERT_RETRY_SECONDS * 2 ** max(delivery.attempts - 1, 0)
        )
        _mark(
            delivery,
            status=Status.QUEUED,
            next_attempt_at=timezone.now() + delay,
            last_error=text,
        )
    else:
        _mark(delivery, status=Status.FAILED, last_error=text)


def finish_if_done(*, alert_id: int) -> bool:
    """Mark a sending alert sent once no row of it is queued or being sent."""
    open_rows = AlertDelivery.objects.filter(alert_id=OuterRef("pk"), status__in=OPEN)
    return bool(
        Alert.objects.filter(pk=alert_id, status=Alert.Status.SENDING)
        .exclude(Exists(open_rows))
        .update(status=Alert.Status.SENT, updated_at=timezone.now())
    )


def release_due_deliveries() -> list[int]:
    """Beat's part: take back rows dead workers left, start scheduled alerts whose
    time has come, and return the ids of alerts with rows due now."""
    now = timezone.now()
    stale = AlertDelivery.objects.filter(
        status=Status.SENDING,
        claimed_at__lt=now - timedelta(seconds=settings.ALERT_STALE_SECONDS),
    )
    stale.filter(attempts__gte=settings.ALERT_MAX_ATTEMPTS).update(
        status=Status.FAILED,
        last_error=(
            f"The worker stopped while sending, {settings.ALERT_MAX_ATTEMPTS} times."
        ),
    )
    stale.update(status=Status.QUEUED, next_attempt_at=now)
    # Retries and rows taken back after a cancel are not sent.
    AlertDelivery.objects.filter(
        status=Status.QUEUED, alert__status=Alert.Status.CANCELLED
    ).update(status=Status.CANCELLED)
    due_rows = _due(AlertDelivery.objects.filter(alert_id=OuterRef("pk")), now)
    Alert.objects.filter(status=Alert.Status.SCHEDULED).filter(Exists(due_rows)).update(
        status=Alert.Status.SENDING, updated_at=now
    )
    sending = list(
        Alert.objects.filter(status=Alert.Status.SENDING).values_list("pk", flat=True)
    )
    due = []
    for alert_id in sending:
        if (
            not finish_if_done(alert_id=alert_id)
            and _due(AlertDelivery.objects.filter(alert_id=alert_id), now).exists()
        ):
            due.append(alert_id)
    return due
