from django import forms
from django.contrib import admin
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from ima_site import tokens
from ima_site.models import ApiToken, AuditEntry

admin.site.site_header = _("IMA campaign site")
admin.site.site_title = _("IMA campaign site")
admin.site.index_title = _("Organizers' desk")


class RecordAdmin(admin.ModelAdmin):
    """For records the site writes itself: shown, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(RecordAdmin):
    # The log is evidence: nobody edits or deletes it from the admin.
    list_display = ["at", "actor", "action", "object_repr"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "actor__username", "action"]
    date_hierarchy = "at"
    list_select_related = ["actor"]


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_name(self):
        # The unique constraint involves the user, who is not a field of the form,
        # so the form would not check it: a clash would be an IntegrityError.
        name = self.cleaned_data["name"]
        if ApiToken.objects.filter(user=self.user, name=name).exists():
            raise forms.ValidationError(_("You already have a token with this name."))
        return name


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Organizers make and revoke their own tokens here; each sees only their own
    (superusers see everyone's). A token's value is shown once, when it is made."""

    form = ApiTokenForm
    list_display = ["name", "user", "created", "expiry"]
    list_select_related = ["user"]
    fields = ["name"]
    readonly_fields = ["name", "user", "created", "expiry"]
    actions = ["delete_selected"]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(user=request.user)

    def get_fields(self, request, obj=None):
        return ["name"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)

        class BoundForm(form):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, user=request.user, **form_kwargs)

        return BoundForm

    def has_add_permission(self, request):
        return super().has_add_permission(request) and tokens.is_organizer(request.user)

    def has_change_permission(self, request, obj=None):
        return False  # a token is never edited: revoke it and make another

    def _owns(self, request, obj) -> bool:
        return (
            obj is None or request.user.is_superuser or obj.user_id == request.user.pk
        )

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._owns(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._owns(request, obj)

    def save_model(self, request, obj, form, change):
        token, request.new_api_token = tokens.create_api_token(
            user=request.user, name=form.cleaned_data["name"]
        )
        # The admin goes on with obj (its log entry, response_add): make it the
        # saved row.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(token, field.attname))
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        # The value exists only in this response: it is stored as a hash, and not
        # put in a message (those can live in a cookie).
        response = TemplateResponse(
            request,
            "admin/ima_site/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": obj,
                "value": request.new_api_token,
                "title": _("Your new API token"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    def delete_model(self, request, obj):
        tokens.revoke_api_tokens(actor=request.user, tokens=[obj])

    def delete_queryset(self, request, queryset):
        tokens.revoke_api_tokens(actor=request.user, tokens=queryset)
