from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import (
    Http404,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site import audit_text
from ima_site.profiles import preferences_for
from statements import services
from statements.admin_changes import describe_changes
from statements.admin_forms import (
    StatementAddForm,
    StatementForm,
    VersionForm,
    VersionFormSet,
    parse_local_datetime,
    slug_taken_by,
    slug_taken_message,
    unique_slug,
)
from statements.markdown import render_markdown
from statements.models import Link, MediaContact, Statement, StatementVersion, Topic

LOCKED_STATUSES = {
    Statement.Status.SCHEDULED,
    Statement.Status.PUBLISHED,
    Statement.Status.ARCHIVED,
    Statement.Status.WITHDRAWN,
}


def locked_for(request, statement) -> bool:
    """Once a statement is scheduled or public, only publishers may change it."""
    return (
        statement is not None
        and statement.status in LOCKED_STATUSES
        and not request.user.has_perm(services.PUBLISH_PERMISSION)
    )


class LockedWithStatementInline:
    """Inlines follow their statement: read-only for editors once it is public."""

    def has_add_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_delete_permission(
            request, obj
        )


class StatementVersionInline(LockedWithStatementInline, admin.StackedInline):
    model = StatementVersion
    form = VersionForm
    formset = VersionFormSet
    extra = 0
    min_num = 1
    fields = [
        "language", "is_original", "title", "subtitle", "summary", "body",
        "slogans", "addressees", "signed_by_role",
    ]  # fmt: skip


class LinkInline(LockedWithStatementInline, admin.TabularInline):
    model = Link
    extra = 0
    fields = ["position", "title", "url", "source"]


class MediaContactInline(LockedWithStatementInline, admin.TabularInline):
    model = MediaContact
    extra = 0
    fields = ["position", "team", "name", "role", "organization", "phone", "email"]


Status = Statement.Status

# The status buttons: the status each one moves to, whether it needs a publisher,
# and the message once done. "Forward" buttons take the text towards the public;
# "back" ones take it away, and stand in a row of their own.
WORKFLOW_ACTIONS = {
    "submit": (Status.IN_REVIEW, False, gettext_lazy("Sent for review.")),
    "publish": (Status.PUBLISHED, True, gettext_lazy("Published.")),
    "schedule": (Status.SCHEDULED, True, gettext_lazy("Scheduled.")),
    "archive": (Status.ARCHIVED, True, gettext_lazy("Archived.")),
    "return_to_draft": (Status.DRAFT, False, gettext_lazy("Returned to draft.")),
    "withdraw": (Status.WITHDRAWN, True, gettext_lazy("Withdrawn.")),
}
BACK_ACTIONS = {"return_to_draft", "withdraw"}
APPROVING_ACTIONS = {"publish", "schedule"}


def available_actions(statement: Statement, user) -> list[str]:
    """The status buttons this user may press on this statement now."""
    allowed = services.allowed_moves(statement, by=user)
    is_publisher = user.has_perm(services.PUBLISH_PERMISSION)
    actions = []
    for action, (target, needs_publisher, _done) in WORKFLOW_ACTIONS.items():
        if target not in allowed or (needs_publisher and not is_publisher):
            continue
        if (
            action == "return_to_draft"
            and statement.status
            in (Status.SCHEDULED, Status.ARCHIVED, Status.WITHDRAWN)
            and not is_publisher
        ):
            continue
        actions.append(action)
    return actions


def run_workflow_action(
    *, statement: Statement, action: str, user, note: str = "", at=None
) -> Statement:
    """Call the service behind a status button; raises what the service raises."""
    if action == "submit":
        return services.submit_for_review(statement=statement, by=user, note=note)
    if action == "return_to_draft":
        return services.return_to_draft(statement=statement, by=user, note=note)
    if action in ("publish", "schedule"):
        return services.publish_statement(
            statement=statement, by=user, at=at, note=note
        )
    if action == "archive":
        return services.archive_statement(statement=statement, by=user)
    if action == "withdraw":
        return services.withdraw_statement(
            statement=statement, by=user, reason=note[:500]
        )
    raise PermissionDenied


@admin.register(Statement)
class StatementAdmin(admin.ModelAdmin):
    form = StatementForm
    add_form = StatementAddForm
    change_form_template = "admin/statements/statement/change_form.html"
    inlines = [StatementVersionInline, LinkInline, MediaContactInline]
    list_display = ["title", "kind", "status", "issued_on", "publish_at", "languages"]
    list_filter = ["status", "kind", "topics", "accepts_signatures"]
    search_fields = ["slug", "versions__title"]
    date_hierarchy = "issued_on"
    readonly_fields = ["status", "publish_at", "created_by", "created_at", "updated_at"]
    filter_horizontal = ["topics"]
    rest_of_fieldsets = [
        (
            gettext_lazy("Issue"),
            {
                "fields": [
                    "issued_on", "dateline", "issuer", "signed_by", "signed_by_role",
                    "addressees",
                ]
            },
        ),
        (gettext_lazy("Message"), {"fields": ["slogans", "countries", "topics"]}),
        (
            gettext_lazy("Signatures"),
            {
                "fields": [
                    "accepts_signatures", "signing_paused", "signers",
                    "signing_closes_at", "signature_goal", "signatories_shown",
                ],
                "description": gettext_lazy(
                    "Times are in your own time zone (your organizer profile's). "
                    "Signers' names are erased some time after signing closes: "
                    "see the README."
                ),
            },
        ),
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["slug", "kind", "status", "publish_at"]}),
        *rest_of_fieldsets,
        (
            gettext_lazy("Record"),
            {
                "fields": ["created_by", "created_at", "updated_at"],
                "classes": ["collapse"],
            },
        ),
    ]
    add_fieldsets = [
        (None, {"fields": ["title", "body", "language"]}),
        (gettext_lazy("Address and kind"), {"fields": ["slug", "kind"]}),
        *rest_of_fieldsets,
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("versions")

    def view_on_site(self, statement):
        # Drafts have no public page yet: the Preview button shows them instead.
        return statement.get_absolute_url() if statement.is_public() else None

    @admin.display(description=gettext_lazy("title"))
    def title(self, statement):
        return str(statement)

    @admin.display(description=gettext_lazy("languages"))
    def languages(self, statement):
        return ", ".join(statement.languages())

    def has_change_permission(self, request, obj=None):
        return not locked_for(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        # Public statements are withdrawn, not deleted: their address answers 410.
        if obj is not None and obj.status in LOCKED_STATUSES - {
            Statement.Status.SCHEDULED
        }:
            return False
        return super().has_delete_permission(request, obj)

    # --- the form ----------------------------------------------------------------

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change=change, **kwargs)

    def get_inlines(self, request, obj):
        # A new statement's text is the add form's own title and body.
        if obj is None:
            return [LinkInline, MediaContactInline]
        return self.inlines

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        initial.setdefault("language", preferences_for(request.user).language)
        return initial

    def save_model(self, request, obj, form, change):
        if change:
            # The status and publish time move only through the services. This
            # request loaded the row before another organizer (or beat) may have
            # moved it: lock it and keep their move, so a save never undoes a
            # publish, and an editor never writes into what just became public.
            current = (
                Statement.objects.select_for_update()
                .values("status", "publish_at")
                .get(pk=obj.pk)
            )
            obj.status, obj.publish_at = current["status"], current["publish_at"]
            if locked_for(request, obj):
                raise PermissionDenied
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        services.create_statement(
            statement=obj,
            title=data["title"],
            body=data["body"],
            language=data["language"],
            by=request.user,
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        statement = form.instance
        if change and statement.status in LOCKED_STATUSES:
            changes = describe_changes(form, formsets)
            if changes:
                services.record_public_changes(
                    statement=statement, by=request.user, changes=changes
                )

    # --- pages -------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "slug-check/",
                wrap(self.slug_check_view),
                name="statements_statement_slug_check",
            ),
            path(
                "markdown-preview/",
                wrap(self.markdown_preview_view),
                name="statements_statement_markdown_preview",
            ),
            path(
                "<path:object_id>/workflow/<str:action>/",
                wrap(self.workflow_view),
                name="statements_statement_workflow",
            ),
            *super().get_urls(),
        ]

    def _editor_context(self, request, obj) -> dict:
        context = {
            "slug_check_url": reverse("admin:statements_statement_slug_check"),
            "markdown_preview_url": reverse(
                "admin:statements_statement_markdown_preview"
            ),
            "time_zone": timezone.get_current_timezone_name(),
        }
        if request.method == "POST" and "_preview" in request.POST:
            context["preview_versions"] = self._preview_versions(request.POST)
        return context

    @staticmethod
    def _preview_versions(data) -> list[dict]:
        """The typed texts, rendered as the public page will: nothing is saved."""
        if "title" in data or "body" in data:
            return [
                {
                    "language": data.get("language", ""),
                    "title": data.get("title", ""),
                    "html": render_markdown(data.get("body", "")),
                }
            ]
        shown = []
        total = data.get("versions-TOTAL_FORMS", "0")
        for index in range(min(int(total) if total.isdigit() else 0, 50)):
            prefix = f"versions-{index}-"
            if data.get(prefix + "DELETE"):
                continue
            shown.append(
                {
                    "language": data.get(prefix + "language", ""),
                    "title": data.get(prefix + "title", ""),
                    "html": render_markdown(data.get(prefix + "body", "")),
                }
            )
        return shown

    def add_view(self, request, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **self._editor_context(request, None)}
        return super().add_view(request, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {})}
        statement = self.get_object(request, object_id)
        if statement is not None:
            extra_context.update(self._editor_context(request, statement))
            extra_context.update(self._workflow_context(request, statement))
        return super().change_view(request, object_id, form_url, extra_context)

    def _workflow_context(self, request, statement) -> dict:
        actions = available_actions(statement, request.user)
        refusal = ""
        if APPROVING_ACTIONS & set(actions):
            refusal = services.approval_refusal(statement, by=request.user)
        elif (
            statement.status == Status.DRAFT
            and request.user.has_perm(services.PUBLISH_PERMISSION)
            and not services.allowed_moves(statement, by=request.user)
            & {Status.PUBLISHED}
        ):
            refusal = _(
                "Review by a second person is on: send the draft for review, "
                "and someone else publishes it."
            )
        if refusal:
            actions = [a for a in actions if a not in APPROVING_ACTIONS]
        return {
            "forward_actions": [a for a in actions if a not in BACK_ACTIONS],
            "back_actions": [a for a in actions if a in BACK_ACTIONS],
            "approval_refusal": refusal,
            "can_publish": request.user.has_perm(services.PUBLISH_PERMISSION),
            "history_url": self.history_url(statement),
        }

    @staticmethod
    def history_url(statement) -> str:
        return audit_text.history_url(statement)

    def history_view(self, request, object_id, extra_context=None):
        # The audit log says more than the admin's own history: every status move,
        # every change of a public statement with its old and new value.
        statement = self.get_object(request, object_id)
        if statement is None or not self.has_view_or_change_permission(
            request, statement
        ):
            raise PermissionDenied
        return HttpResponseRedirect(self.history_url(statement))

    def response_change(self, request, obj):
        action = request.POST.get("_workflow", "")
        if not action:
            return super().response_change(request, obj)
        self.message_user(request, _("Your changes were saved."), messages.SUCCESS)
        if action == "publish":
            # Publishing now asks once, on a page that shows what becomes public;
            # the note typed beside the button waits there.
            request.session[self._note_key(obj)] = request.POST.get(
                "workflow_note", ""
            )[: services.NOTE_MAX_LENGTH]
            return HttpResponseRedirect(
                reverse("admin:statements_statement_workflow", args=[obj.pk, action])
            )
        return self._run_and_go_back(request, obj, action)

    def _run_and_go_back(self, request, statement, action, *, at=None, note=None):
        if action not in WORKFLOW_ACTIONS:
            raise PermissionDenied
        if note is None:
            note = request.POST.get("workflow_note", "")
        if action == "schedule" and at is None:
            try:
                at = parse_local_datetime(
                    request.POST.get("schedule_at", request.POST.get("publish_at", "")),
                    timezone.get_current_timezone(),
                )
            except ValidationError as error:
                self.message_user(request, " ".join(error.messages), messages.ERROR)
                return self._back(statement)
            if at <= timezone.now():
                self.message_user(
                    request,
                    _("That time has passed: publish now instead."),
                    messages.ERROR,
                )
                return self._back(statement)
        try:
            run_workflow_action(
                statement=statement, action=action, user=request.user, note=note, at=at
            )
        except (services.WorkflowError, PermissionDenied) as error:
            self.message_user(
                request, str(error) or _("You may not do this."), messages.ERROR
            )
        else:
            self.message_user(request, WORKFLOW_ACTIONS[action][2], messages.SUCCESS)
        return self._back(statement)

    def workflow_view(self, request, object_id, action):
        statement = self.get_object(request, unquote(object_id))
        if statement is None:
            raise Http404
        if action not in WORKFLOW_ACTIONS or not self.has_change_permission(
            request, statement
        ):
            raise PermissionDenied
        if action == "publish":
            return self.publish_confirmation(request, statement)
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return self._run_and_go_back(request, statement, action)

    def publish_confirmation(self, request, statement):
        """GET: what becomes public, and the one button; POST: publish now."""
        if not request.user.has_perm(services.PUBLISH_PERMISSION):
            raise PermissionDenied
        if request.method == "POST":
            request.session.pop(self._note_key(statement), None)
            return self._run_and_go_back(
                request, statement, "publish", note=request.POST.get("note", "")
            )
        if request.method != "GET":
            return HttpResponseNotAllowed(["GET", "POST"])
        refusal = services.approval_refusal(statement, by=request.user)
        if not refusal and Status.PUBLISHED not in services.allowed_moves(
            statement, by=request.user
        ):
            refusal = _("A statement that is “%(current)s” cannot be published.") % {
                "current": statement.get_status_display()
            }
        versions = list(statement.versions.all())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Publish now?"),
            "subtitle": str(statement),
            "original": statement,
            "versions": [
                {
                    "language": version.language_name(),
                    "code": version.language,
                    "title": version.title,
                    "is_original": version.is_original,
                    "url": settings.SITE_URL + version.get_absolute_url(),
                }
                for version in versions
            ],
            "public_url": settings.SITE_URL + statement.get_absolute_url(),
            "note": request.session.get(self._note_key(statement), ""),
            "signing": self._signing_once_published(statement),
            "signing_closes_at": statement.signing_closes_at,
            "signature_goal": statement.signature_goal,
            "time_zone": timezone.get_current_timezone_name(),
            "refusal": refusal,
            "back_url": reverse(
                "admin:statements_statement_change", args=[statement.pk]
            ),
        }
        return TemplateResponse(
            request, "admin/statements/statement/publish_confirm.html", context
        )

    @staticmethod
    def _note_key(statement) -> str:
        return f"statements:publish-note:{statement.pk}"

    @staticmethod
    def _signing_once_published(statement) -> str:
        """What publishing now does to signing: "opens", "paused", "closed", "none"."""
        if not statement.accepts_signatures:
            return "none"
        if statement.signing_paused:
            return "paused"
        closes = statement.signing_closes_at
        if closes is not None and closes <= timezone.now():
            return "closed"
        return "opens"

    def _allowed_to_write(self, request) -> bool:
        return self.has_add_permission(request) or self.has_change_permission(request)

    def slug_check_view(self, request):
        """JSON for the form's script: is this address free, or whose is it?"""
        if not self._allowed_to_write(request):
            raise PermissionDenied
        slug = request.GET.get("slug", "").strip()[:200]
        title = request.GET.get("title", "")[:300]
        exclude = request.GET.get("exclude", "")
        exclude_pk = int(exclude) if exclude.isdigit() else None
        if not slug and title:
            return JsonResponse(
                {
                    "slug": unique_slug(title, exclude_pk=exclude_pk),
                    "available": True,
                    "message": "",
                }
            )
        other = slug_taken_by(slug, exclude_pk=exclude_pk) if slug else None
        return JsonResponse(
            {
                "slug": slug,
                "available": other is None,
                "message": slug_taken_message(other) if other else "",
            }
        )

    def markdown_preview_view(self, request):
        """POST the text, get the sanitized HTML the public page would show."""
        if not self._allowed_to_write(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        return JsonResponse({"html": render_markdown(request.POST.get("text", ""))})

    @staticmethod
    def _back(statement):
        return HttpResponseRedirect(
            reverse("admin:statements_statement_change", args=[statement.pk])
        )


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    """Editors add topics; once a public statement shows one, only publishers change
    or delete it, and the service records it."""

    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def _locked(self, request, topic) -> bool:
        return topic is not None and not services.may_change_topic(request.user, topic)

    def has_change_permission(self, request, obj=None):
        return not self._locked(request, obj) and super().has_change_permission(
            request, obj
        )

    def has_delete_permission(self, request, obj=None):
        return not self._locked(request, obj) and super().has_delete_permission(
            request, obj
        )

    def save_model(self, request, obj, form, change):
        if change:
            services.change_topic(topic=obj, by=request.user)
        else:
            super().save_model(request, obj, form, change)

    def delete_model(self, request, obj):
        services.delete_topic(topic=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        # The bulk action checks the permission without an object: the service
        # checks each topic, and one refusal undoes the whole batch.
        with transaction.atomic():
            for topic in queryset:
                services.delete_topic(topic=topic, by=request.user)
