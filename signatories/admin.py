from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_countries import countries as country_registry

from ima_site.admin import RecordAdmin
from ima_site.crypto import keyed_hash
from ima_site.models import record_audit_entry
from signatories import admin_sheets, services
from signatories.canonical import canonical_email
from signatories.exports import csv_response
from signatories.models import (
    Contact,
    CountCheck,
    OfflineCount,
    Organization,
    Signature,
    SigningSwitch,
)
from signatories.services.contacts import (
    contact_address,
    contact_email,
    contact_email_hash,
    contact_language,
    masked_email,
    save_contact,
    update_contact,
)
from statements.models import Statement

REVIEW = "signatories.review_signatures"
EXPORT = "signatories.export_signatures"
EXPORT_EMAILS = "signatories.export_signer_emails"
# A bulk review action on more rows than this asks first (erasing always asks).
ASK_ABOVE = 5


class CountryFilter(admin.SimpleListFilter):
    title = gettext_lazy("country")
    parameter_name = "country"

    def lookups(self, request, model_admin):
        codes = (
            Signature.objects.order_by().values_list("country", flat=True).distinct()
        )
        return sorted(
            ((c, country_registry.name(c) or c) for c in codes), key=lambda x: x[1]
        )

    def queryset(self, request, queryset):
        return queryset.filter(country=self.value()) if self.value() else queryset


class FindForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email"))


class ExportForm(forms.Form):
    statement = forms.ModelChoiceField(
        label=gettext_lazy("Statement"),
        queryset=Statement.objects.filter(accepts_signatures=True),
    )
    only_counted = forms.BooleanField(
        label=gettext_lazy("Only confirmed signatures that are not held"),
        required=False,
        initial=True,
    )
    excel = forms.BooleanField(
        label=gettext_lazy("For Excel (adds a byte order mark)"), required=False
    )
    emails = forms.BooleanField(
        label=gettext_lazy("With the emails of signers who asked to be kept informed"),
        help_text=gettext_lazy(
            "Only confirmed signatures that are not held carry an address. The audit "
            "log records that you exported them, and how many."
        ),
        required=False,
    )

    def __init__(self, *args, may_export_emails: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_export_emails:
            # Absent, not disabled: a posted "emails" is then simply not read.
            del self.fields["emails"]


@dataclass(frozen=True)
class Review:
    service: Callable[..., int]
    done: Callable[[int], str]
    button: Callable[[int], str]
    always_ask: bool = False
    irreversible: bool = False


# Each string in full, in an ngettext call of its own, for the translators.
REVIEWS = {
    "hold": Review(
        services.hold_signatures,
        done=lambda n: (
            ngettext("%(count)d signature held.", "%(count)d signatures held.", n)
            % {"count": n}
        ),
        button=lambda n: (
            ngettext("Hold %(count)d signature", "Hold %(count)d signatures", n)
            % {"count": n}
        ),
    ),
    "release": Review(
        services.release_signatures,
        done=lambda n: (
            ngettext(
                "%(count)d signature released.", "%(count)d signatures released.", n
            )
            % {"count": n}
        ),
        button=lambda n: (
            ngettext("Release %(count)d signature", "Release %(count)d signatures", n)
            % {"count": n}
        ),
    ),
    "reject": Review(
        services.reject_signatures,
        done=lambda n: (
            ngettext(
                "%(count)d signature rejected.", "%(count)d signatures rejected.", n
            )
            % {"count": n}
        ),
        button=lambda n: (
            ngettext("Reject %(count)d signature", "Reject %(count)d signatures", n)
            % {"count": n}
        ),
    ),
    "erase": Review(
        services.erase_signatures,
        done=lambda n: (
            ngettext("%(count)d signature erased.", "%(count)d signatures erased.", n)
            % {"count": n}
        ),
        button=lambda n: (
            ngettext("Erase %(count)d signature", "Erase %(count)d signatures", n)
            % {"count": n}
        ),
        always_ask=True,
        irreversible=True,
    ),
    "link_registry": Review(
        services.link_to_registry,
        done=lambda n: (
            ngettext(
                "%(count)d signature linked to the registry.",
                "%(count)d signatures linked to the registry.",
                n,
            )
            % {"count": n}
        ),
        button=lambda n: (
            ngettext("Link %(count)d signature", "Link %(count)d signatures", n)
            % {"count": n}
        ),
    ),
}


def _confirmation_token(request, action: str, ids: list[int]) -> str:
    """What the confirmation page signs: this user, this action, these rows.

    Its hidden fields come back with the answer; the token makes sure they are the
    rows the page counted, so an edited form cannot widen the set.
    """
    value = f"{request.user.pk}:{action}:{','.join(map(str, ids))}"
    return salted_hmac("signatories.admin.review", value).hexdigest()


def _answered_rows(request, action: str) -> set[int] | None:
    """The rows a confirmation page counted, when the request is its "yes";
    None when it is not (no answer, or one edited or meant for someone else)."""
    if request.POST.get("post") != "yes":
        return None
    try:
        shown = sorted({int(pk) for pk in request.POST.get("rows", "").split(",")})
    except ValueError:
        return None
    token = request.POST.get("confirmation", "")
    if not constant_time_compare(token, _confirmation_token(request, action, shown)):
        return None
    return set(shown)


@admin.register(Signature)
class SignatureAdmin(admin.ModelAdmin):
    # What a reviewer scans first, narrow enough for a 1280 px screen beside the
    # filters; the rest (role, city, source, why held…) is on each signature's page.
    list_display = ["signer", "country_code", "state", "statement_slug", "created_at"]
    list_filter = [
        "status", "is_held", "source", "kind", CountryFilter, "created_at", "statement",
    ]  # fmt: skip
    search_fields = ["name", "organization"]
    date_hierarchy = "created_at"
    list_select_related = ["statement"]
    list_per_page = 100
    actions = ["hold", "release", "reject", "erase", "link_registry"]
    readonly_fields = [
        "statement", "kind", "name", "organization", "member_organization", "role",
        "country", "city", "display", "language", "consent", "status", "is_held",
        "hold_reason", "source", "collected_by", "created_at", "confirmed_at",
    ]  # fmt: skip
    exclude = ["email_hash", "network_hash", "link_nonce", "withdraw_nonce"]
    change_list_template = "admin/signatories/signature/change_list.html"

    @admin.display(description=gettext_lazy("statement"), ordering="statement__slug")
    def statement_slug(self, signature):
        return signature.statement.slug

    @admin.display(description=gettext_lazy("signer"), ordering="name")
    def signer(self, signature):
        """The name, and how the public list shows it when that differs."""
        if signature.kind == Signature.Kind.ORGANIZATION:
            main, note = signature.organization, _("organization")
        elif not signature.name:
            main, note = "—", ""
        elif signature.display == Signature.Display.COUNT_ONLY:
            main, note = signature.name, _("not listed")
        elif signature.display == Signature.Display.INITIALS:
            main = signature.name
            note = _("shown as %(initials)s") % {"initials": signature.public_name()}
        else:
            main, note = signature.name, ""
        if not note:
            return main
        return format_html('{} <span class="quiet">({})</span>', main, note)

    @admin.display(description=gettext_lazy("country"), ordering="country")
    def country_code(self, signature):
        return format_html(
            '<abbr title="{}">{}</abbr>',
            country_registry.name(signature.country) or signature.country,
            signature.country,
        )

    @admin.display(description=gettext_lazy("status"), ordering="status")
    def state(self, signature):
        status = signature.get_status_display()
        if not signature.is_held:
            return status
        return format_html(
            '{} · <strong>{}</strong> <span class="quiet">{}</span>',
            status,
            _("held"),
            signature.hold_reason,
        )

    def lookup_allowed(self, lookup, value, request=None):
        # The "find by email" form redirects to the list filtered by ids.
        return lookup == "id__in" or super().lookup_allowed(lookup, value, request)

    def find_view(self, request):
        """Find a signer's signatures by email, for an erasure request, say.

        The address is posted, never put in a URL (which access logs and browser
        histories keep), and compared by its keyed hash: it is not stored in clear.
        """
        if not request.user.has_perm("signatories.view_signature"):
            raise PermissionDenied
        form = FindForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            email_hash = keyed_hash(
                "email", canonical_email(form.cleaned_data["email"])
            )
            ids = list(
                Signature.objects.filter(email_hash=email_hash).values_list(
                    "id", flat=True
                )
            )
            record_audit_entry(
                actor=request.user, action="signatures.find_by_email", obj=request.user,
                details={"found": len(ids)},
            )  # fmt: skip
            if not ids:
                self.message_user(request, _("No signature with that email."))
                return redirect("admin:signatories_signature_find")
            url = reverse("admin:signatories_signature_changelist")
            return redirect(f"{url}?id__in={','.join(map(str, ids))}")
        return render(
            request,
            "admin/signatories/signature/form_page.html",
            {**self.admin_site.each_context(request), "form": form,
             "title": _("Find signatures by email"), "opts": self.model._meta},
        )  # fmt: skip

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request):
        return request.user.has_perm(REVIEW)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Hold for review"), permissions=["review"])
    def hold(self, request, queryset):
        return self._review(request, queryset, "hold")

    @admin.action(
        description=gettext_lazy("Release (count and list)"), permissions=["review"]
    )
    def release(self, request, queryset):
        return self._review(request, queryset, "release")

    @admin.action(
        description=gettext_lazy("Reject as not genuine"), permissions=["review"]
    )
    def reject(self, request, queryset):
        return self._review(request, queryset, "reject")

    @admin.action(description=gettext_lazy("Erase completely"), permissions=["review"])
    def erase(self, request, queryset):
        return self._review(request, queryset, "erase")

    @admin.action(
        description=gettext_lazy("Link organizations to the member registry"),
        permissions=["review"],
    )
    def link_registry(self, request, queryset):
        return self._review(request, queryset, "link_registry")

    def _review(self, request, queryset, action: str, *, form_url: str = ""):
        """Run a review action on the rows of the queryset, asking first when it
        erases or touches more than ASK_ABOVE rows; None when done (the caller
        redirects), else the confirmation page."""
        review = REVIEWS[action]
        ids = sorted(queryset.values_list("id", flat=True))
        if ids and (review.always_ask or len(ids) > ASK_ABOVE):
            shown = _answered_rows(request, action)
            if shown is None:
                return self._confirmation_page(request, action, ids, form_url=form_url)
            # The answer selects the whole filtered list again (see the page): only
            # the rows it counted are touched, not those that came in meanwhile.
            ids = [pk for pk in ids if pk in shown]
        count = review.service(ids=ids, by=request.user)
        self.message_user(request, review.done(count))
        return None

    def _confirmation_page(self, request, action: str, ids: list[int], *, form_url):
        review = REVIEWS[action]
        statements = (
            Signature.objects.filter(pk__in=ids)
            .values_list("statement__slug")
            .annotate(rows=models.Count("id"))
            .order_by("statement__slug")
        )
        return TemplateResponse(
            request,
            "admin/signatories/signature/confirm_review.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Are you sure?"),
                "action": action,
                "action_name": self.get_actions(request)[action][2],
                "touches": ngettext(
                    "This touches %(count)d signature.",
                    "This touches %(count)d signatures.",
                    len(ids),
                )
                % {"count": len(ids)},
                "button": review.button(len(ids)),
                "irreversible": review.irreversible,
                "statements": list(statements),
                "rows": ",".join(map(str, ids)),
                "first_row": ids[0],
                "token": _confirmation_token(request, action, ids),
                "form_url": form_url,
                "cancel_url": request.META.get("HTTP_REFERER", "")
                if url_has_allowed_host_and_scheme(
                    request.META.get("HTTP_REFERER", ""),
                    allowed_hosts={request.get_host()},
                    require_https=request.is_secure(),
                )
                else reverse("admin:signatories_signature_changelist"),
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )

    def review_view(self, request, object_id):
        """The Hold / Release / Reject / Erase buttons of a signature's own page."""
        if not request.user.has_perm(REVIEW):
            raise PermissionDenied
        action = request.POST.get("action")
        if action not in ("hold", "release", "reject", "erase"):
            return HttpResponseBadRequest(_("Unknown review action."))
        signature = self.get_object(request, object_id)  # None for a malformed id
        if signature is None:
            raise Http404
        queryset = self.get_queryset(request).filter(pk=signature.pk)
        response = self._review(
            request, queryset, action, form_url=request.get_full_path()
        )
        if response is not None:
            return response
        if action == "erase":
            return redirect("admin:signatories_signature_changelist")
        return redirect("admin:signatories_signature_change", signature.pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        signature = self.get_object(request, object_id)
        if signature is not None and request.user.has_perm(REVIEW):
            extra_context["review_url"] = reverse(
                "admin:signatories_signature_review", args=[signature.pk]
            )
            extra_context["review_buttons"] = [
                (name, label)
                for name, label, shown in (
                    ("hold", _("Hold"), not signature.is_held),
                    ("release", _("Release"), signature.is_held),
                    (
                        "reject",
                        _("Reject"),
                        signature.status != Signature.Status.REJECTED,
                    ),
                    ("erase", _("Erase…"), True),
                )  # fmt: skip
                if shown
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        return [
            path("export/", self.admin_site.admin_view(self.export_view),
                 name="signatories_signature_export"),
            *admin_sheets.urls(self),
            path("find/", self.admin_site.admin_view(self.find_view),
                 name="signatories_signature_find"),
            path("<path:object_id>/review/",
                 self.admin_site.admin_view(require_POST(self.review_view)),
                 name="signatories_signature_review"),
            *super().get_urls(),
        ]  # fmt: skip

    def export_view(self, request):
        if not request.user.has_perm(EXPORT):
            raise PermissionDenied
        form = ExportForm(
            request.POST or None,
            may_export_emails=request.user.has_perm(EXPORT_EMAILS),
        )
        if request.method == "POST" and form.is_valid():
            export = services.export_signatures(
                statement=form.cleaned_data["statement"],
                by=request.user,
                via="admin",
                only_counted=form.cleaned_data["only_counted"],
                excel=form.cleaned_data["excel"],
                emails=form.cleaned_data.get("emails", False),
            )
            return csv_response(export)
        return render(
            request,
            "admin/signatories/signature/form_page.html",
            {**self.admin_site.each_context(request), "form": form,
             "title": _("Export signatories"), "opts": self.model._meta},
        )  # fmt: skip


class ContactForm(forms.ModelForm):
    """A contact's details; the email is typed here and stored only encrypted."""

    email = forms.CharField(label=gettext_lazy("Email"), max_length=254, required=False)

    class Meta:
        model = Contact
        fields = ["name", "email", "language"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].help_text = _(
                "Leave empty to keep %(address)s. The address is stored encrypted "
                "and never shown in full."
            ) % {"address": masked_email(contact_email(self.instance))}
        else:
            self.fields["email"].required = True

    def clean_email(self):
        email = self.cleaned_data["email"]
        if not email:
            return ""
        try:
            return contact_address(email)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["email"]) from None

    def clean_language(self):
        try:
            return contact_language(self.cleaned_data["language"])
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["language"]) from None

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        organization = cleaned.get("organization") or getattr(
            self.instance, "organization", None
        )
        if email and organization is not None and organization.pk:
            taken = Contact.objects.filter(
                organization=organization, email_hash=contact_email_hash(email)
            ).exclude(pk=self.instance.pk)
            if taken.exists():
                self.add_error(
                    "email",
                    _("This organization already has a contact with that email."),
                )
        return cleaned


class ContactFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        seen: dict[str, int] = {}
        for index, form in enumerate(self.forms):
            if not hasattr(form, "cleaned_data"):
                continue
            if self.can_delete and self._should_delete_form(form):
                if form.instance.pk and form.instance.unsubscribed_at:
                    raise forms.ValidationError(
                        _(
                            "%(contact)s unsubscribed: keep the contact, so that no "
                            "import adds the address again."
                        )
                        % {"contact": form.instance.name or _("A contact")}
                    )
                continue
            email = form.cleaned_data.get("email")
            if email:
                key = contact_email_hash(email)
                if key in seen:
                    form.add_error(
                        "email", _("The same email is in another row of this form.")
                    )
                seen[key] = index


def _shown_email(contact) -> str:
    return masked_email(contact_email(contact)) if contact and contact.pk else "—"


class ContactInline(admin.TabularInline):
    model = Contact
    form = ContactForm
    formset = ContactFormSet
    fields = ["name", "address", "email", "language", "unsubscribed_at", "bounces"]
    readonly_fields = ["address", "unsubscribed_at", "bounces"]
    extra = 1

    @admin.display(description=gettext_lazy("address"))
    def address(self, contact):
        return _shown_email(contact)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "acronym",
        "country",
        "city",
        "sector",
        "is_member",
        "verified",
        "listed",
        "contact_count",
    ]
    list_filter = ["is_member", "verified", "listed", "country", "sector"]
    search_fields = ["name", "acronym", "city"]
    inlines = [ContactInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(contacts_count=models.Count("contacts"))
        )

    @admin.display(description=gettext_lazy("contacts"), ordering="contacts_count")
    def contact_count(self, organization):
        return organization.contacts_count

    def save_formset(self, request, form, formset, change):
        if formset.model is not Contact:
            return super().save_formset(request, form, formset, change)
        # Contacts are written by the service (keyed hash, encryption, never a
        # resubscription), not by the formset's own save.
        organization = form.instance
        # The admin's history message reads these three lists.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = (
            [],
            [],
            [],
        )
        for contact_form in formset.deleted_forms:
            if contact_form.instance.pk:
                formset.deleted_objects.append(contact_form.instance)
                contact_form.instance.delete()
        for contact_form in formset.forms:
            if contact_form in formset.deleted_forms or not contact_form.has_changed():
                continue
            data = contact_form.cleaned_data
            if contact_form.instance.pk:
                contact = update_contact(
                    contact=contact_form.instance,
                    name=data["name"],
                    email=data["email"] or None,
                    language=data["language"],
                )
                formset.changed_objects.append((contact, contact_form.changed_data))
            else:
                contact, _outcome = save_contact(
                    organization=organization,
                    name=data["name"],
                    email=data["email"],
                    language=data["language"],
                )
                formset.new_objects.append(contact)
            contact_form.instance = contact
        return None


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["shown_name", "address", "organization", "language",
                    "unsubscribed_at", "bounces"]  # fmt: skip
    list_filter = [
        "language",
        ("unsubscribed_at", admin.EmptyFieldListFilter),
        "organization__is_member",
        "organization__country",
    ]
    list_select_related = ["organization"]
    search_fields = ["name", "organization__name"]
    search_help_text = gettext_lazy(
        "Name or organization; a whole email address finds its contacts."
    )
    autocomplete_fields = ["organization"]
    readonly_fields = ["address", "unsubscribed_at", "bounces", "last_bounce_at",
                       "created_at", "updated_at"]  # fmt: skip
    form = ContactForm

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["organization", "name", "email", "language"]
        return ["organization", "name", "address", "email", "language",
                "unsubscribed_at", "bounces", "last_bounce_at", "created_at",
                "updated_at"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        # Another organization means another hash key: add a contact there instead.
        return [*self.readonly_fields, "organization"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["fields"] = [
            name for name in self.get_fields(request, obj)
            if name not in self.get_readonly_fields(request, obj)
        ]  # fmt: skip
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=gettext_lazy("name"), ordering="name")
    def shown_name(self, contact):
        return contact.name or "—"

    @admin.display(description=gettext_lazy("address"))
    def address(self, contact):
        return _shown_email(contact)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if "@" in term and " " not in term:
            try:
                email_hash = contact_email_hash(contact_address(term))
            except ValidationError:
                return queryset.none(), False
            return queryset.filter(email_hash=email_hash), False
        return super().get_search_results(request, queryset, search_term)

    def has_delete_permission(self, request, obj=None):
        # An unsubscribed contact is the record that keeps an import from adding
        # the address again.
        if obj is not None and obj.unsubscribed_at:
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            update_contact(
                contact=obj,
                name=data["name"],
                email=data["email"] or None,
                language=data["language"],
            )
            return
        contact, _outcome = save_contact(
            organization=data["organization"],
            name=data["name"],
            email=data["email"],
            language=data["language"],
        )
        obj.pk = contact.pk
        obj.email_hash = contact.email_hash
        obj._state.adding = False


@admin.register(OfflineCount)
class OfflineCountAdmin(admin.ModelAdmin):
    list_display = ["statement", "count", "note", "added_at"]
    list_filter = ["statement"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit_entry(
            actor=request.user,
            action="signatures.offline_count",
            obj=obj.statement,
            details={"count": obj.count, "note": obj.note},
        )


@admin.register(CountCheck)
class CountCheckAdmin(RecordAdmin):
    list_display = ["at", "statement", "found", "expected"]


@admin.register(SigningSwitch)
class SigningSwitchAdmin(admin.ModelAdmin):
    list_display = ["__str__", "changed_at"]

    def has_add_permission(self, request):
        # One switch at most, and only for those allowed to add it.
        return (
            super().has_add_permission(request) and not SigningSwitch.objects.exists()
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        record_audit_entry(
            actor=request.user,
            action="signing.pause_all" if obj.paused else "signing.resume_all",
            obj=obj,
        )
        if obj.paused:
            self.message_user(
                request, _("Signing is paused on every statement."), messages.WARNING
            )
