"""Public pages: campaigns, the members of the alliance, a country's missions."""

from itertools import groupby

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_safe
from django_countries import countries as country_registry

from campaigns import letter_public, public
from campaigns.concern_link import LinkForm
from campaigns.models import Mission, TargetReply
from signatories import worldmap
from signatories.models import Organization
from statements.markdown import render_markdown

PAGE_SIZE = 20


@require_safe
def campaign_list(request):
    page = Paginator(public.public_campaigns(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "campaigns/list.html",
        {
            "page": page,
            "campaigns": [
                (campaign, public.country_name(campaign.target_country))
                for campaign in page.object_list
            ],
        },
    )


@require_safe
def campaign_detail(request, slug):
    campaign = get_object_or_404(public.public_campaigns(), slug=slug)
    actions = public.public_actions(campaign)
    return render(
        request,
        "campaigns/detail.html",
        {
            "campaign": campaign,
            "target_country_name": public.country_name(campaign.target_country),
            "body_html": render_markdown(campaign.body),
            "timeline": public.timeline(campaign, get_language()),
            "actions": [
                (item, render_markdown(item.action.instructions)) for item in actions
            ],
            "has_map": any(item.map_points for item in actions),
            "letters": letter_public.campaign_letter_records(campaign, get_language()),
            "link_form": LinkForm(),
        },
    )


def _pdf_response(field, filename: str) -> FileResponse:
    try:
        handle = field.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type="application/pdf"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# never_cache ("private, no-store", among others): the compiled letter holds the
# signers' names, and its download ends when retention erases them. A copy kept
# by a shared cache, or by the browser, would outlive that erasure.
@never_cache
@require_safe
def letter_pdf(request, slug):
    """The compiled letter as delivered, for anyone, until retention erases it."""
    letter = letter_public.public_letters().filter(statement__slug=slug).first()
    compilation = letter_public.downloadable(letter) if letter else None
    if compilation is None:
        raise Http404(_("This letter cannot be downloaded."))
    return _pdf_response(compilation.pdf, f"letter-{slug}.pdf")


# Not cached either: an organizer may take a reply off the pages.
@never_cache
@require_safe
def letter_reply_pdf(request, pk):
    """A published reply's attachment, from a target the letter went to."""
    reply = (
        TargetReply.objects.filter(
            pk=pk,
            published=True,
            target__delivery__status=letter_public.SENT,
            target__letter__in=letter_public.public_letters(),
        )
        .exclude(attachment="")
        .first()
    )
    if reply is None:
        raise Http404(_("No such reply."))
    return _pdf_response(reply.attachment, f"reply-{pk}.pdf")


@require_safe
@gzip_page  # the outlines compress to a fifth; the map shows only what the page does
@cache_control(public=True, max_age=60)
def campaign_map(request, slug):
    """The held actions of a campaign on the world map, as an SVG image."""
    campaign = get_object_or_404(public.public_campaigns(), slug=slug)
    svg = worldmap.render_map(
        {},
        title=_("Actions held"),
        hidden_label="",
        names=dict(country_registry),
        points=public.campaign_map_points(campaign),
    )
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


def _by_country(rows, code_of) -> list[tuple[str, list]]:
    """Rows grouped under their country's name, countries in alphabetical order."""
    named = sorted(
        ((public.country_name(code_of(row)), row) for row in rows),
        key=lambda pair: pair[0].casefold(),
    )
    return [
        (name, [row for _name, row in group])
        for name, group in groupby(named, key=lambda pair: pair[0])
    ]


@require_safe
def member_list(request):
    members = (
        Organization.objects.filter(is_member=True, listed=True)
        .only("name", "acronym", "country", "city", "sector")
        .order_by("name", "id")
    )
    groups = _by_country(members, lambda organization: organization.country)
    return render(
        request,
        "campaigns/members.html",
        {"groups": groups, "total": sum(len(rows) for _name, rows in groups)},
    )


def _safe_website(url: str) -> str:
    return url if url.lower().startswith(("https://", "http://")) else ""


@require_safe
def mission_list(request, country):
    code = country.upper()
    if code not in dict(country_registry):
        raise Http404(_("No such country."))
    if code != country:
        return redirect("campaigns:missions", country=code, permanent=True)
    missions = Mission.objects.filter(represented_country=code).order_by(
        "host_country", "city", "kind", "id"
    )
    rows = [(mission, _safe_website(mission.website)) for mission in missions]
    groups = _by_country(rows, lambda row: row[0].host_country)
    return render(
        request,
        "campaigns/missions.html",
        {
            "country": code,
            "country_name": public.country_name(code),
            "groups": groups,
            "total": len(rows),
        },
    )
