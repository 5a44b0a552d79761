"""Audit entries in words: "Ana published “Stop the crackdown”".

Object names and details are typed by organizers and signers, so every value goes
through format_html: the table's sentences are the only markup.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from django.apps import apps
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site.models import AuditEntry

# One sentence per action code. {actor} is a name or "The site"; {object} the
# object's name (a link to it while it exists). Unknown codes use FALLBACK.
SENTENCES = {
    "organization.import": gettext_lazy(
        "{actor} imported the organization “{object}” from a file"
    ),
    "mission.import": gettext_lazy(
        "{actor} imported the mission “{object}” from a file"
    ),
    "campaign.import": gettext_lazy("{actor} imported “{object}” from a file"),
    "pledge.pledge": gettext_lazy("{actor} recorded a pledge: “{object}”"),
    "pledge.report": gettext_lazy("{actor} recorded a report: “{object}”"),
    "pledge.add_photo": gettext_lazy(
        "{actor} changed the photos of the report “{object}”"
    ),
    "pledge.remove_photo": gettext_lazy(
        "{actor} changed the photos of the report “{object}”"
    ),
    "pledge.approve_report": gettext_lazy("{actor} approved the report “{object}”"),
    "pledge.withdraw_approval": gettext_lazy(
        "{actor} withdrew the approval of the report “{object}”"
    ),
    "alert.create": gettext_lazy("{actor} wrote the alert “{object}”"),
    "alert.send": gettext_lazy("{actor} sent the alert “{object}”"),
    "alert.schedule": gettext_lazy("{actor} scheduled the alert “{object}”"),
    "alert.resend": gettext_lazy(
        "{actor} sent the alert “{object}” again, to the contacts it had not reached"
    ),
    "alert.test": gettext_lazy("{actor} sent a test of the alert “{object}”"),
    "alert.paused": gettext_lazy("{actor} paused the alert “{object}”"),
    "alert.resumed": gettext_lazy("{actor} resumed the alert “{object}”"),
    "alert.cancelled": gettext_lazy("{actor} cancelled the alert “{object}”"),
    "alert.edit_sending": gettext_lazy(
        "{actor} changed the alert “{object}” after sending had started"
    ),
    "alert.choose_mission": gettext_lazy(
        "{actor} chose the mission of an organization for the alert “{object}”"
    ),
    "letter.add_missions": gettext_lazy(
        "{actor} added {count} mission(s) as targets of the letter “{object}”"
    ),
    "letter.test": gettext_lazy("{actor} sent a test of the letter “{object}”"),
    "letter.deliver": gettext_lazy(
        "{actor} started delivering the letter “{object}” to {count} target(s)"
    ),
    "letter.deadline_missed": gettext_lazy(
        "The letter “{object}” could not be delivered at its deadline"
    ),
    "letter.delivered": gettext_lazy(
        "The letter “{object}” was delivered: {count} target(s) reached"
    ),
    "letter.retry": gettext_lazy(
        "{actor} sent the letter “{object}” again to a target where it had failed"
    ),
    "letter.reply": gettext_lazy("{actor} recorded the answer of a target: “{object}”"),
    "letter.reply_edit": gettext_lazy(
        "{actor} changed the answer of a target: “{object}”"
    ),
    "statement.close_signing": gettext_lazy(
        "{actor} closed signing on “{object}” to deliver it"
    ),
    "contact.unsubscribe": gettext_lazy(
        "A contact of “{object}” stopped action alerts"
    ),
    "contact.correct": gettext_lazy("A contact of “{object}” corrected its details"),
    "statement.submit": gettext_lazy("{actor} sent “{object}” for review"),
    "statement.publish": gettext_lazy("{actor} published “{object}”"),
    "statement.schedule": gettext_lazy(
        "{actor} scheduled “{object}” to be published on {publish_at}"
    ),
    "statement.return_to_draft": gettext_lazy("{actor} returned “{object}” to draft"),
    "statement.withdraw": gettext_lazy("{actor} withdrew “{object}”"),
    "statement.archive": gettext_lazy("{actor} archived “{object}”"),
    "statement.edit_public": gettext_lazy("{actor} changed the public “{object}”"),
    "statement.import": gettext_lazy("{actor} imported “{object}” from a file"),
    "statement.import_translation": gettext_lazy(
        "{actor} imported a translation ({language}) of “{object}”"
    ),
    "topic.edit_public": gettext_lazy(
        "{actor} changed the topic “{object}”, shown on public statements"
    ),
    "topic.delete": gettext_lazy("{actor} deleted the topic “{object}”"),
    "signatures.hold": gettext_lazy(
        "{actor} held {count} signature(s) of “{object}” for review"
    ),
    "signatures.release": gettext_lazy(
        "{actor} released {count} held signature(s) of “{object}”"
    ),
    "signatures.reject": gettext_lazy(
        "{actor} rejected {count} signature(s) of “{object}”"
    ),
    "signatures.erase": gettext_lazy(
        "{actor} erased {count} signature(s) of “{object}”"
    ),
    "signatures.link_registry": gettext_lazy(
        "{actor} linked {count} signature(s) of “{object}” to registered organizations"
    ),
    "signatures.export": gettext_lazy("{actor} exported the signatories of “{object}”"),
    "signatures.export_emails": gettext_lazy(
        "{actor} exported the signatories of “{object}” with {addresses} email "
        "address(es)"
    ),
    "signatures.find_by_email": gettext_lazy(
        "{actor} looked up signatures by an email address ({found} found)"
    ),
    "signatures.offline_count": gettext_lazy(
        "{actor} added {count} signatures gathered offline to “{object}”"
    ),
    "signatures.paper_import": gettext_lazy(
        "{actor} imported {count} paper signature(s) into “{object}”"
    ),
    "signing.pause_all": gettext_lazy("{actor} paused signing on every statement"),
    "signing.resume_all": gettext_lazy("{actor} resumed signing on every statement"),
    "api_token.create": gettext_lazy("{actor} made the API token “{object}”"),
    "api_token.revoke": gettext_lazy("{actor} revoked the API token “{object}”"),
    "two_factor.set_up": gettext_lazy("{actor} set up two-factor login"),
    "two_factor.recovery_code_used": gettext_lazy(
        "{actor} logged in with a recovery code ({left} left)"
    ),
    "two_factor.refused": gettext_lazy("{actor} gave a wrong two-factor code"),
    "two_factor.recovery_codes_renewed": gettext_lazy(
        "{actor} made new recovery codes"
    ),
    "site_settings.change": gettext_lazy("{actor} changed the site settings"),
    "login.failed": gettext_lazy("A login as “{object}” failed"),
    "login.lock_out": gettext_lazy("Logins as “{object}” were locked out"),
    "login.refused": gettext_lazy(
        "A login as “{object}” was refused during its lock-out"
    ),
    "login.unlock": gettext_lazy("{actor} lifted the lock-out of “{object}”"),
}
FALLBACK = gettext_lazy("{actor} did {code} on “{object}”")


def actor_name(entry: AuditEntry) -> str:
    if entry.actor_id is None or entry.actor is None:
        return _("The site")
    return entry.actor.get_full_name() or entry.actor.get_username()


def _details(entry: AuditEntry) -> dict:
    return entry.details if isinstance(entry.details, dict) else {}


def _when(value) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return str(value or "?")
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return formats.date_format(moment, "DATETIME_FORMAT")


def _values(entry: AuditEntry) -> dict:
    """What the sentences fill in besides actor and object; "?" when missing."""
    details = _details(entry)
    signatures = details.get("signatures")
    count = len(signatures) if isinstance(signatures, list) else details.get("count")
    return {
        "code": entry.action,
        "count": "?" if count is None else count,
        "publish_at": _when(details.get("publish_at")),
        "language": details.get("language", "?"),
        "found": details.get("found", "?"),
        "left": details.get("left", "?"),
        "addresses": details.get("addresses", "?"),
    }


def sentence_template(entry: AuditEntry) -> str:
    action = entry.action
    if action == "signatures.export" and "addresses" in _details(entry):
        action = "signatures.export_emails"
    details = _details(entry)
    if action == "alert.send" and (details.get("at") or details.get("local_date")):
        action = "alert.schedule"
    return str(SENTENCES.get(action, FALLBACK))


def sentence(entry: AuditEntry, *, url: str | None = None) -> SafeString:
    """The entry as a sentence; the object's name links to url when given."""
    name = entry.object_repr or _("(no name)")
    shown = format_html('<a href="{}">{}</a>', url, name) if url else name
    text = format_html(
        sentence_template(entry),
        actor=actor_name(entry),
        object=shown,
        **_values(entry),
    )
    source = _details(entry).get("source")
    if source and entry.actor_id is None:
        text = format_html("{} ({})", text, source)
    return text


def _shown(value) -> str:
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or _("(empty)")
    return str(value)


def _field_label(entry: AuditEntry, name: str) -> str:
    """A field recorded by its code ("review_by_second_person") in the reader's
    words; a label recorded as such stays as it is."""
    model = _model(entry.object_type)
    try:
        field = model._meta.get_field(name) if model else None
    except FieldDoesNotExist:
        field = None
    return capfirst(field.verbose_name) if field is not None else name


def changes(entry: AuditEntry) -> list[tuple[str, str | None, str | None]]:
    """(field, old, new) for each change recorded; old and new are None when the
    entry names the field only.

    Two shapes are written: details["changes"] = [{"field", "old", "new"}, …] and
    details["changed"] = {name: [old, new]}; an older one lists names only.
    """
    details = _details(entry)
    found: list[tuple[str, str | None, str | None]] = []
    if isinstance(details.get("changes"), list):
        for change in details["changes"]:
            if isinstance(change, dict):
                found.append(
                    (
                        _field_label(entry, str(change.get("field", "?"))),
                        _shown(change.get("old")),
                        _shown(change.get("new")),
                    )
                )
    changed = details.get("changed")
    if isinstance(changed, dict):
        for name, pair in changed.items():
            label = _field_label(entry, str(name))
            if isinstance(pair, list) and len(pair) == 2:
                found.append((label, _shown(pair[0]), _shown(pair[1])))
            else:
                found.append((label, None, _shown(pair)))
    elif isinstance(changed, list):
        found.extend((_field_label(entry, str(name)), None, None) for name in changed)
    return found


def changes_html(entry: AuditEntry, *, shorten: int | None = None) -> SafeString:
    """The changes as a list, "field: old → new"; values cut at shorten characters."""

    def cut(value: str | None) -> str:
        if value is None or shorten is None:
            return value or ""
        return Truncator(value).chars(shorten)

    rows = []
    for field, old, new in changes(entry):
        if old is None:
            rows.append(format_html("{}{}", field, f": {cut(new)}" if new else ""))
        else:
            rows.append(format_html("{}: {} → {}", field, cut(old), cut(new)))
    if not rows:
        return SafeString("")
    return format_html(
        '<ul class="audit-changes">{}</ul>',
        format_html_join("", "<li>{}</li>", ((row,) for row in rows)),
    )


def extra_text(entry: AuditEntry) -> str:
    """A note or reason given with the move, if any."""
    details = _details(entry)
    return str(details.get("note") or details.get("reason") or "")


def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def object_urls(entries: Iterable[AuditEntry], request) -> dict[int, str]:
    """Admin change pages of the objects that still exist and this organizer may
    open, by entry id: one query per kind of object, however many entries."""
    entries = list(entries)
    by_type: dict[str, set] = {}
    for entry in entries:
        by_type.setdefault(entry.object_type, set()).add(entry.object_id)
    existing: dict[str, set[str]] = {}
    for object_type, ids in by_type.items():
        model = _model(object_type)
        model_admin = admin.site._registry.get(model) if model else None
        if model_admin is None or not model_admin.has_view_or_change_permission(
            request
        ):
            continue
        keys = []
        for object_id in ids:
            try:
                keys.append(model._meta.pk.to_python(object_id))
            except ValidationError:
                continue
        # The admin's own queryset, not the model's: some admins show each
        # organizer only their own rows (API tokens), and a link to another's
        # would lead to "does not exist".
        existing[object_type] = {
            str(pk)
            for pk in model_admin.get_queryset(request)
            .filter(pk__in=keys)
            .values_list("pk", flat=True)
        }
    urls = {}
    for entry in entries:
        if entry.object_id not in existing.get(entry.object_type, ()):
            continue
        app_label, model_name = entry.object_type.split(".", 1)
        try:
            urls[entry.pk] = reverse(
                f"admin:{app_label}_{model_name}_change", args=[entry.object_id]
            )
        except NoReverseMatch:
            continue
    return urls


def history_url(obj) -> str:
    """The audit log filtered to one object: its history."""
    query = urlencode({"object_type": obj._meta.label_lower, "object_id": obj.pk})
    return f"{reverse('admin:ima_site_auditentry_changelist')}?{query}"
