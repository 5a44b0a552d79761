"""Asking for the personal link from the campaign page: a member contact who has
no alert at hand types its address and gets, by email, its link to write the
letter of concern of each open action of that kind.

The page answers the same whoever types what, and does the same writes (an
outbox row, cancelled and without a recipient for an unknown address): neither
the answer nor its timing says whether an address is in the registry. At most
LINKS_PER_DAY such emails go to one contact in a day, and one network makes at
most NETWORK_REQUESTS_PER_HOUR requests.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
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

from ima_site.clients import client_ip
from ima_site.crypto import decrypt, network_hash
from ima_site.models import OutboxMessage
from ima_site.outbox import RenderedEmail, queue_email, register
from signatories.models import Contact
from signatories.services.contacts import contact_email_hash

from . import links, public
from .models import Action

CONCERN_LINK = "contact.concern_link"
LINKS_PER_DAY = 3
NETWORK_REQUESTS_PER_HOUR = 20
# Namespace of the advisory lock per address (beside the signing limits' locks).
LINK_LOCK = 74_210_301

log = logging.getLogger(__name__)


class LinkForm(forms.Form):
    email = forms.EmailField(
        label=gettext_lazy("Your email address in the member registry"),
        max_length=254,
    )


def open_letter_actions(campaign=None):
    """Actions of kind "letter of concern" of public campaigns whose links still
    work."""
    actions = Action.objects.filter(
        kind=Action.Kind.LETTER_OF_CONCERN, campaign__in=public.public_campaigns()
    ).select_related("campaign")
    if campaign is not None:
        actions = actions.filter(campaign=campaign)
    now = timezone.now()
    return [a for a in actions if links.pledge_open_until(a) > now]


def _writers(email_hash: str):
    """The contacts with this address who may write a letter: members' contacts
    who still take alerts."""
    return Contact.objects.filter(
        email_hash=email_hash,
        unsubscribed_at__isnull=True,
        organization__is_member=True,
    )


def network_key(client_ip: str | None) -> str:
    """The cache key counting one network's requests (its keyed hash)."""
    return f"concern-link:{network_hash(client_ip) or 'unknown'}"


def network_allows(client_ip: str | None) -> bool:
    """At most NETWORK_REQUESTS_PER_HOUR requests from one network (its keyed
    hash, as for logins), counted in the cache; with the cache away, allowed."""
    key = network_key(client_ip)
    try:
        cache.add(key, 0, timeout=3600)
        return cache.incr(key) <= NETWORK_REQUESTS_PER_HOUR
    except Exception:  # noqa: BLE001 - the per-address cap still holds
        log.warning("The cache is away: the link form's network limit is off")
        return True


def ask_for_link(*, email: str) -> None:
    """Queue the email with the links for the member contacts with this address
    (one email, whatever the number of organizations); nothing goes to an address
    the registry does not have, or one that had LINKS_PER_DAY today. The same
    queries either way."""
    email_hash = contact_email_hash(email)
    since = timezone.now() - timedelta(days=1)
    with transaction.atomic():
        # One request per address at a time: parallel posts cannot pass the cap.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)",
                [LINK_LOCK, int(email_hash[:8], 16) - 2**31],
            )
        first = _writers(email_hash).order_by("pk").first()
        # Bounded, so that the many rows of unknown addresses (object 0) cost no
        # more to count than a known contact's.
        recent = len(
            OutboxMessage.objects.filter(
                kind=CONCERN_LINK,
                object_id=first.pk if first else 0,
                created_at__gte=since,
            ).values_list("pk", flat=True)[:LINKS_PER_DAY]
        )
        address = (decrypt(first.email_encrypted) if first else "") or email
        queue_email(
            kind=CONCERN_LINK,
            object_id=first.pk if first else 0,
            to=address,
            language=(first.language if first else "") or settings.LANGUAGE_CODE,
            send=first is not None and recent < LINKS_PER_DAY,
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
        for same in _writers(contact.email_hash).select_related("organization")
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
    # Over the network's limit the answer is the same, and nothing is queued.
    if network_allows(client_ip(request)):
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
