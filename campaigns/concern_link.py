"""Asking for the personal link from the campaign page: a member contact who has
no alert at hand types its address and gets, by email, its link to write the
letter of concern of each open action of that kind.

The page answers the same whoever types what, and does the same writes (an
outbox row, cancelled and without a recipient for an unknown address): neither
the answer nor its timing says whether an address is in the registry. At most
LINKS_PER_DAY such emails go to one contact in a day.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from ima_site.models import OutboxMessage
from ima_site.outbox import RenderedEmail, queue_email, register
from signatories.models import Contact
from signatories.services.contacts import contact_email_hash

from . import links, public
from .models import Action

CONCERN_LINK = "contact.concern_link"
LINKS_PER_DAY = 3


class LinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your email address in the member registry"),
        max_length=254,
    )


def open_letter_actions(campaign=None):
    """Actions of kind "letter of concern" whose links still work."""
    actions = Action.objects.filter(kind=Action.Kind.LETTER_OF_CONCERN).select_related(
        "campaign"
    )
    if campaign is not None:
        actions = actions.filter(campaign=campaign)
    now = timezone.now()
    return [a for a in actions if links.pledge_open_until(a) > now]


def ask_for_link(*, email: str) -> None:
    """Queue the email with the links for the contacts with this address (one
    email, whatever the number of organizations); nothing goes to an address the
    registry does not have, or one that had LINKS_PER_DAY today."""
    contacts = list(
        Contact.objects.filter(
            email_hash=contact_email_hash(email), unsubscribed_at__isnull=True
        ).order_by("pk")
    )
    since = timezone.now() - timedelta(days=1)
    with transaction.atomic():
        first = contacts[0] if contacts else None
        recent = OutboxMessage.objects.filter(
            kind=CONCERN_LINK,
            object_id=first.pk if first else 0,
            created_at__gte=since,
        ).count()
        send = first is not None and recent < LINKS_PER_DAY
        queue_email(
            kind=CONCERN_LINK,
            object_id=first.pk if first else 0,
            to=email,
            language=(first.language if first else "") or settings.LANGUAGE_CODE,
            send=send,
        )


@register(CONCERN_LINK)
def concern_link_email(contact_id: int) -> RenderedEmail | None:
    """The letter links of every contact with this contact's address, one per
    organization and open action; nothing if there is none any more."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return None
    actions = open_letter_actions()
    if not actions:
        return None
    entries = [
        {
            "organization": same.organization.name,
            "action": action.title,
            "url": links.contact_url(same, "concern", action),
        }
        for same in Contact.objects.filter(
            email_hash=contact.email_hash, unsubscribed_at__isnull=True
        ).select_related("organization")
        for action in actions
    ]
    if not entries:
        return None
    context = {
        "language": translation.get_language() or settings.LANGUAGE_CODE,
        "entries": entries,
        "site_name": settings.SITE_NAME,
    }
    return RenderedEmail(
        subject=_("Your link to send a letter of concern"),
        text=render_to_string("emails/concern_link.txt", context),
        html=render_to_string("emails/concern_link.html", context),
    )


# Like the signing form: the campaign page carries no CSRF cookie (it stays
# cacheable and light), and the email goes only to an address of the registry.
@csrf_exempt
@never_cache
@require_POST
def request_link(request, slug):
    """The campaign page's form: the same answer whatever was typed, once valid."""
    campaign = get_object_or_404(public.public_campaigns(), slug=slug)
    form = LinkForm(request.POST)
    if not form.is_valid():
        return render(
            request,
            "campaigns/concern_link.html",
            {"campaign": campaign, "form": form},
            status=400,
        )
    ask_for_link(email=form.cleaned_data["email"])
    return HttpResponseRedirect(
        reverse("campaigns:concern_link_sent", args=[campaign.slug])
    )


@require_safe
def link_sent(request, slug):
    campaign = get_object_or_404(public.public_campaigns(), slug=slug)
    return render(
        request, "campaigns/concern_link.html", {"campaign": campaign, "sent": True}
    )
