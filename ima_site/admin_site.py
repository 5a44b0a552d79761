"""The admin site of the organizers: the desk as its first page, the menu in the
order of their work, and each organizer's own profile page."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ima_site import desk
from ima_site.models import OrganizerProfile, time_zone_choices
from ima_site.profiles import preferences_for, save_organizer_profile

# Statements come first: writing and publishing is most of the organizers' work.
APP_ORDER = ["statements", "signatories", "campaigns", "ima_site", "auth"]


class ProfileForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=time_zone_choices,
        help_text=OrganizerProfile._meta.get_field("time_zone").help_text,
    )
    language = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=OrganizerProfile._meta.get_field("language").choices,
        help_text=OrganizerProfile._meta.get_field("language").help_text,
    )


class OrganizersAdminSite(admin.AdminSite):
    site_header = gettext_lazy("IMA campaign site")
    site_title = gettext_lazy("IMA campaign site")
    index_title = gettext_lazy("Organizers' desk")

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def position(app):
            label = app["app_label"]
            return APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER)

        return sorted(apps, key=lambda app: (position(app), str(app["name"])))

    def index(self, request, extra_context=None):
        context = {"desk_panels": desk.panels_for(request), **(extra_context or {})}
        return super().index(request, context)

    def get_urls(self):
        return [
            path(
                "my-profile/",
                self.admin_view(self.profile_view),
                name="my_profile",
            ),
            *super().get_urls(),
        ]

    def profile_view(self, request):
        """Any organizer sets their own zone and language, whatever their role."""
        current = preferences_for(request.user)
        form = ProfileForm(
            # A POST that carries no field is still a POST: it gets the form's
            # errors, not a blank form again.
            request.POST if request.method == "POST" else None,
            initial={
                "time_zone": current.time_zone.key,
                "language": current.language,
            },
        )
        if request.method == "POST" and form.is_valid():
            save_organizer_profile(
                user=request.user,
                time_zone=form.cleaned_data["time_zone"],
                language=form.cleaned_data["language"],
            )
            # The next page is in the new language, at its own address.
            with translation.override(form.cleaned_data["language"]):
                messages.success(request, _("Your profile is saved."))
                return redirect(reverse("admin:my_profile"))
        return TemplateResponse(
            request,
            "admin/ima_site/my_profile.html",
            {
                **self.each_context(request),
                "title": _("My profile"),
                "form": form,
                "current": current,
            },
        )
