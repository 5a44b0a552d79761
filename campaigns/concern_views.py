"""The member's page for a letter of concern, reached through its contact's
personal link (campaigns.links, purpose "concern"): write the letter from the
action's template or upload a PDF, send it for approval, see where it stands.
Works without JavaScript; never cached or indexed."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from campaigns import links, public
from campaigns.concern import (
    TEXT_MAX_LENGTH,
    ConcernError,
    concern_mission,
    may_write,
    save_concern,
    template_text,
)
from campaigns.models import Action, LetterOfConcern
from signatories.models import Contact
from signatories.services.contacts import contact_email, masked_email

# The PDF and the form's text; a bigger request is refused before it is read.
MAX_REQUEST = settings.LETTER_UPLOAD_LIMIT + TEXT_MAX_LENGTH * 4 + 64 * 1024

SAVED = {
    "draft": gettext_lazy("Your letter is saved. Send it for approval when ready."),
    "submitted": gettext_lazy(
        "Thank you: your letter waits for the secretariat's approval. We send it "
        "to the mission after that, with a copy to you."
    ),
}


class ConcernForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("Your letter"),
        required=False,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=gettext_lazy(
            "Change it as you wish. Paragraphs are separated by an empty line."
        ),
    )
    pdf = forms.FileField(
        label=gettext_lazy("Or upload your own letter as a PDF"), required=False
    )
    share_address = forms.BooleanField(
        label=gettext_lazy(
            "I agree that the mission sees this address: it is in copy of the "
            "letter, and the mission's answer comes to it."
        ),
        required=False,
    )
    keep_pdf = forms.BooleanField(
        label=gettext_lazy("Send the PDF I uploaded, not the text above"),
        required=False,
        initial=True,
    )

    def __init__(self, *args, uploaded: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not uploaded:
            del self.fields["keep_pdf"]
        # Here, not on the field: in the reader's language, with the setting's size.
        self.fields["pdf"].help_text = _(
            "A PDF of at most %(size)s, on your letterhead if you like."
        ) % {"size": filesizeformat(settings.LETTER_UPLOAD_LIMIT)}


def _read(token: str) -> tuple[Contact, Action] | None:
    found = links.read_contact_token(token, "concern")
    if found is None or found[1] is None or not may_write(found[1]):
        return None
    # Only for a campaign the public sees: a draft's action asks nobody yet.
    if not public.public_campaigns().filter(pk=found[1].campaign_id).exists():
        return None
    return found[0], found[1]


def _invalid(request) -> HttpResponse:
    return render(request, "campaigns/contact/invalid.html", status=404)


def _context(contact: Contact, action: Action, concern, token: str) -> dict:
    organization = contact.organization
    mission = (
        concern.mission
        if concern is not None and concern.mission_id
        else concern_mission(contact=contact, action=action)
    )
    return {
        "action": action,
        "campaign": action.campaign,
        "organization": organization,
        "mission": mission,
        "concern": concern,
        "token": token,
        "editable": concern is None or concern.stage != LetterOfConcern.Stage.APPROVED,
        "address": masked_email(contact_email(contact)),
        "details_path": links.contact_path(contact, "details"),
    }


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def concern(request, token):
    """GET shows the letter; POST saves it ("save") or sends it for approval."""
    found = _read(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    letter = LetterOfConcern.objects.filter(
        action=action, organization=contact.organization
    ).first()
    context = _context(contact, action, letter, token)
    if request.method != "POST":
        initial = letter.text if letter is not None and letter.text else None
        if initial is None:
            initial = template_text(
                action=action,
                organization=contact.organization,
                mission=context["mission"],
                language=get_language(),
            )
        context["form"] = ConcernForm(
            initial={"text": initial}, uploaded=bool(letter and letter.uploaded)
        )
        context["saved"] = SAVED.get(request.GET.get("saved", ""), "")
        return render(request, "campaigns/contact/concern.html", context)
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_REQUEST:
        context["form"] = ConcernForm(uploaded=bool(letter and letter.uploaded))
        context["problem"] = _("The file is too big: the limit is %(size)s.") % {
            "size": filesizeformat(settings.LETTER_UPLOAD_LIMIT)
        }
        return render(request, "campaigns/contact/concern.html", context, status=413)
    uploaded = bool(letter and letter.uploaded)
    form = ConcernForm(request.POST, request.FILES, uploaded=uploaded)
    context["form"] = form
    if not form.is_valid():
        return render(request, "campaigns/contact/concern.html", context, status=400)
    submit = "submit" in request.POST
    if submit and not form.cleaned_data["share_address"]:
        # The member's own address goes to the embassy: never without a yes.
        form.add_error(
            "share_address",
            _(
                "Tick this box to send the letter, or first change the address "
                "(link above)."
            ),
        )
        return render(request, "campaigns/contact/concern.html", context, status=400)
    upload = form.cleaned_data["pdf"]
    keep = uploaded and form.cleaned_data.get("keep_pdf")
    try:
        save_concern(
            contact=contact,
            action=action,
            text=None if upload or keep else form.cleaned_data["text"],
            upload=upload or None,
            submit=submit,
        )
    except ConcernError as problem:
        context["problem"] = str(problem)
        return render(request, "campaigns/contact/concern.html", context, status=400)
    saved = "submitted" if submit else "draft"
    return HttpResponseRedirect(f"{request.path}?saved={saved}")


@never_cache
@require_safe
def concern_pdf(request, token):
    """The member's own letter as the mission gets it (uploaded or, once sent,
    made from the text): only through the personal link."""
    found = _read(token)
    if found is None:
        return _invalid(request)
    contact, action = found
    letter = LetterOfConcern.objects.filter(
        action=action, organization=contact.organization
    ).first()
    if letter is None or not letter.pdf:
        return _invalid(request)
    try:
        handle = letter.pdf.open("rb")
    except FileNotFoundError:
        return _invalid(request)
    response = FileResponse(
        handle,
        content_type="application/pdf",
        as_attachment=True,
        filename="letter-of-concern.pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
