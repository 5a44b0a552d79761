"""The pages a member contact reaches through its personal links.

The token in the URL is the authority: it names the contact (and, for a pledge,
the action). Every page works without JavaScript; none is cached or indexed.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.conf.locale import LANG_INFO
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)
from django_countries import countries as country_registry

from campaigns import links, pledges
from campaigns.models import Action, Mission, Pledge, ReportPhoto
from campaigns.photos import MAX_BYTES, MAX_PHOTOS, CleanPhoto, clean_photo
from ima_site.languages import EXTRA_LANGUAGES, language_name
from signatories.models import Contact
from statements.markdown import render_markdown

# Five photos of 8 MB and the form's text; a bigger request is refused before
# anything is read.
MAX_REPORT_REQUEST = MAX_PHOTOS * MAX_BYTES + 1024 * 1024


class PledgeForm(forms.Form):
    expected_people = forms.IntegerField(
        label=gettext_lazy("How many people do you expect?"),
        required=False,
        min_value=0,
        max_value=pledges.MAX_PEOPLE,
    )


class ReportForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Did the action take place?"),
        choices=[
            (Pledge.Status.HELD, gettext_lazy("Yes, it was held")),
            (Pledge.Status.CANCELLED, gettext_lazy("No, it was cancelled")),
        ],
        widget=forms.RadioSelect,
    )
    people = forms.IntegerField(
        label=gettext_lazy("How many people came?"),
        required=False,
        min_value=0,
        max_value=pledges.MAX_PEOPLE,
    )
    account = forms.CharField(
        label=gettext_lazy("What happened, in a few lines"),
        required=False,
        max_length=pledges.MAX_ACCOUNT,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=gettext_lazy(
            "Plain text, up to 2,000 characters. Shown on the campaign page once "
            "the secretariat approves the report: name no one who could be at risk."
        ),
    )
    press_links = forms.CharField(
        label=gettext_lazy("Press links"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Up to 5 web addresses (https://…), one a line."),
    )

    def clean_press_links(self) -> list[str]:
        try:
            return pledges.clean_press_links(self.cleaned_data["press_links"].split())
        except ValidationError as error:
            raise ValidationError(error.message_dict["press_links"]) from None


def language_choices(current: str) -> list[tuple[str, str]]:
    codes = {code for code, info in LANG_INFO.items() if "name_local" in info}
    codes |= set(EXTRA_LANGUAGES) - {"tl"}  # tl and fil are one language here
    codes.add(current)
    named = [(code, f"{language_name(code)} ({code})") for code in codes]
    return sorted(named, key=lambda choice: choice[1].casefold())


class DetailsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=200)
    language = forms.ChoiceField(label=gettext_lazy("The language of your emails"))
    email = forms.EmailField(
        label=gettext_lazy("A new email address"),
        required=False,
        help_text=gettext_lazy(
            "Leave it empty to keep the current one. A new one gets a link to "
            "confirm it; the alerts keep going to the current one until then."
        ),
    )

    def __init__(self, *args, current_language: str, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = language_choices(current_language)


def _invalid(request) -> HttpResponse:
    return render(request, "campaigns/contact/invalid.html", status=404)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def action_started(action: Action, mission: Mission | None) -> bool:
    """Whether the action's start has passed where it takes place."""
    zone_name = (
        action.place_time_zone
        if action.where == Action.Where.PLACE
        else (mission.time_zone if mission else "")
    )
    # Without a known zone, the earliest the day can start anywhere (UTC+14).
    zone = _zone(zone_name) or timezone.get_fixed_timezone(14 * 60)
    return timezone.now() >= datetime.combine(action.date, action.starts, tzinfo=zone)


def _pledge_context(contact: Contact, action: Action, token: str) -> dict:
    mission, abroad = pledges.matched_mission(contact=contact, action=action)
    pledge = (
        Pledge.objects.filter(action=action, organization=contact.organization)
        .prefetch_related("photos")
        .first()
    )
    started = action_started(action, mission)
    photos = list(pledge.photos.all()) if pledge else []
    return {
        "contact": contact,
        "organization": contact.organization,
        "action": action,
        "campaign": action.campaign,
        "instructions": render_markdown(action.instructions),
        "mission": mission,
        "mission_abroad": abroad,
        "mission_country": country_registry.name(mission.host_country)
        if mission
        else "",
        "map_url": _map_url(mission),
        "zone_name": (
            action.place_time_zone
            if action.where == Action.Where.PLACE
            else (mission.time_zone if mission else "")
        ),
        "pledge": pledge,
        "photos": photos,
        "photos_left": MAX_PHOTOS - len(photos),
        "started": started,
        "show_report": started or bool(pledge and pledge.reported_at),
        "token": token,
        "pledge_form": PledgeForm(
            initial={"expected_people": pledge.expected_people if pledge else None}
        ),
        "report_form": ReportForm(
            initial={
                "status": pledge.status
                if pledge and pledge.status in pledges.REPORT_STATUSES
                else None,
                "people": pledge.people if pledge else None,
                "account": pledge.account if pledge else "",
                "press_links": "\n".join(pledge.press_links) if pledge else "",
            }
        ),
        "details_path": links.contact_path(contact, "details"),
        "saved": "",
    }


def _map_url(mission: Mission | None) -> str:
    if mission is None or mission.latitude is None or mission.longitude is None:
        return ""
    return (
        "https://www.openstreetmap.org/?mlat="
        f"{mission.latitude:.6f}&mlon={mission.longitude:.6f}#map=17/"
        f"{mission.latitude:.6f}/{mission.longitude:.6f}"
    )


def _pledge_path(token: str) -> str:
    return reverse("campaigns:contact_pledge", args=[token])


def _read_pledge(token: str) -> tuple[Contact, Action] | None:
    found = links.read_contact_token(token, "pledge")
    if found is None or found[1] is None:
        return None
    return found[0], found[1]


SAVED_MESSAGES = {
    "pledge": gettext_lazy("Thank you: your pledge is saved."),
    "report": gettext_lazy(
        "Thank you: your report is saved. It becomes public once the secretariat "
        "approves it."
    ),
    "photo": gettext_lazy("The photo is taken off the report."),
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def pledge(request, token):
    """The pledge page of one action: GET shows it, POST pledges ("we will act")."""
    found = _read_pledge(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    context = _pledge_context(contact, action, token)
    if request.method == "POST":
        form = PledgeForm(request.POST)
        if form.is_valid():
            pledges.pledge_action(
                contact=contact,
                action=action,
                expected_people=form.cleaned_data["expected_people"],
            )
            return HttpResponseRedirect(f"{request.path}?saved=pledge")
        context["pledge_form"] = form
        return render(request, "campaigns/contact/pledge.html", context, status=400)
    context["saved"] = SAVED_MESSAGES.get(request.GET.get("saved", ""), "")
    return render(request, "campaigns/contact/pledge.html", context)


@never_cache
@require_POST
def report(request, token):
    """Report back: held or cancelled, people, an account, press links, photos."""
    found = _read_pledge(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_REPORT_REQUEST:
        context = _pledge_context(contact, action, token)
        context["photo_errors"] = [
            _("Send at most 5 photos of up to 8 MB each; this was too much at once.")
        ]
        context["show_report"] = True
        return render(request, "campaigns/contact/pledge.html", context, status=413)
    form = ReportForm(request.POST)
    uploads = request.FILES.getlist("photos")
    photo_errors: list[str] = []
    cleaned: list[CleanPhoto] = []
    if len(uploads) > MAX_PHOTOS:
        photo_errors.append(_("Send at most 5 photos."))
    else:
        for upload in uploads:
            try:
                cleaned.append(clean_photo(upload))
            except ValidationError as error:
                photo_errors.extend(error.messages)
    if form.is_valid() and not photo_errors:
        try:
            pledges.report_action(
                contact=contact,
                action=action,
                status=form.cleaned_data["status"],
                people=form.cleaned_data["people"],
                account=form.cleaned_data["account"],
                press_links=form.cleaned_data["press_links"],
                photos=cleaned,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field == "photos":
                    photo_errors.extend(messages)
                else:
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
        else:
            return HttpResponseRedirect(_pledge_path(token) + "?saved=report")
    context = _pledge_context(contact, action, token)
    context["report_form"] = form
    context["photo_errors"] = photo_errors
    context["show_report"] = True
    return render(request, "campaigns/contact/pledge.html", context, status=400)


@never_cache
@require_POST
def remove_photo(request, token, photo_id):
    found = _read_pledge(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    if not pledges.remove_report_photo(
        contact=contact, action=action, photo_id=photo_id
    ):
        raise Http404
    return HttpResponseRedirect(_pledge_path(token) + "?saved=photo")


def _photo_response(photo: ReportPhoto, *, public: bool) -> FileResponse:
    try:
        handle = photo.image.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # Always a JPEG made by campaigns.photos; never a type taken from the upload.
    response = FileResponse(handle, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "public, max-age=300" if public else "private, no-store"
    return response


@require_safe
def own_photo(request, token, photo_id):
    """A photo of the contact's own report, approved or not."""
    found = _read_pledge(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    photo = get_object_or_404(
        ReportPhoto,
        pk=photo_id,
        pledge__action=action,
        pledge__organization=contact.organization,
    )
    return _photo_response(photo, public=False)


@require_safe
def report_photo(request, pk):
    """A report's photo: for everyone once the report is approved, before that only
    for organizers who may see pledges."""
    photo = get_object_or_404(ReportPhoto.objects.select_related("pledge"), pk=pk)
    if photo.pledge.approved_at is not None:
        return _photo_response(photo, public=True)
    user = request.user
    if user.is_authenticated and (
        user.has_perm("campaigns.view_pledge")
        or user.has_perm("campaigns.change_pledge")
    ):
        return _photo_response(photo, public=False)
    raise Http404


DETAILS_SAVED = {
    "1": gettext_lazy("Your details are saved."),
    "email": gettext_lazy(
        "Your new email address is confirmed: the alerts go to it from now on."
    ),
}


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def details(request, token):
    """The contact corrects its own name and language, and asks for a new email
    address, which changes only once the link mailed to it is used."""
    found = links.read_contact_token(token, "details")
    if found is None:
        return _invalid(request)
    contact, _action = found
    form = DetailsForm(
        request.POST if request.method == "POST" else None,
        current_language=contact.language,
        initial={"name": contact.name, "language": contact.language},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                saved, new_address = pledges.correct_contact(
                    contact=contact,
                    name=form.cleaned_data["name"],
                    language=form.cleaned_data["language"],
                    email=form.cleaned_data["email"] or None,
                )
            except ValidationError as error:
                for field, messages in error.message_dict.items():
                    for message in messages:
                        form.add_error(field if field in form.fields else None, message)
            else:
                if new_address is not None:
                    # Shown here only, to the person who just typed it (a typo is
                    # caught now); the address stays off every page after this.
                    return render(
                        request,
                        "campaigns/contact/email_sent.html",
                        {
                            "organization": contact.organization,
                            "new_address": new_address,
                            "days": links.LIFETIMES["confirm_email"].days,
                            "details_path": links.contact_path(saved, "details"),
                        },
                    )
                # The link made for the saved contact opens in the language the
                # contact may have just chosen.
                return HttpResponseRedirect(
                    links.contact_path(saved, "details") + "?saved=1"
                )
        status = 400
    return render(
        request,
        "campaigns/contact/details.html",
        {
            "contact": contact,
            "organization": contact.organization,
            "form": form,
            "saved": DETAILS_SAVED.get(request.GET.get("saved", ""), "")
            if request.method != "POST"
            else "",
            "unsubscribe_path": links.contact_path(contact, "unsubscribe"),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm_email(request, token):
    """The link mailed to a contact's new address. GET shows the address and the
    button (a mail scanner following the link changes nothing); POST makes it the
    contact's address."""
    found = links.read_contact_token(token, "confirm_email")
    if found is None:
        return _invalid(request)
    contact = found[0]
    address = pledges.pending_email(contact)
    if not address:
        return _invalid(request)
    taken = False
    if request.method == "POST":
        try:
            saved = pledges.confirm_contact_email(contact=contact)
        except pledges.EmailChangeGone:
            return _invalid(request)
        except ValidationError:
            taken = True
        else:
            # Every earlier link stopped working; this one opens the details page
            # with links to the new address.
            return HttpResponseRedirect(
                links.contact_path(saved, "details") + "?saved=email"
            )
    return render(
        request,
        "campaigns/contact/confirm_email.html",
        {"organization": contact.organization, "address": address, "taken": taken},
        status=409 if taken else 200,
    )


def _unsubscribe_page(request, contact: Contact, *, done: bool) -> HttpResponse:
    return render(
        request,
        "campaigns/contact/unsubscribed.html"
        if done
        else "campaigns/contact/unsubscribe.html",
        {
            "contact": contact,
            "organization": contact.organization,
            "form_path": links.contact_path(contact, "unsubscribe"),
            "already": contact.unsubscribed_at is not None,
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """GET shows the button (a mail scanner following the link changes nothing);
    POST stops the alert emails."""
    found = links.read_contact_token(token, "unsubscribe")
    if found is None:
        return _invalid(request)
    contact = found[0]
    if request.method == "POST":
        pledges.unsubscribe_contact(contact=contact)
        return _unsubscribe_page(request, contact, done=True)
    return _unsubscribe_page(request, contact, done=False)


# RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" with no cookie and
# no CSRF token; the token in the URL is the authority. A client without one-click
# support opens the same URL in a browser: GET only shows the button.
@csrf_exempt
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe_one_click(request, token):
    found = links.read_contact_token(token, "unsubscribe_one_click")
    if found is None:
        return _invalid(request)
    contact = found[0]
    if request.method == "POST":
        pledges.unsubscribe_contact(contact=contact)
        return _unsubscribe_page(request, contact, done=True)
    return _unsubscribe_page(request, contact, done=False)
