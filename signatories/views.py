import contextlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import (
    require_http_methods,
    require_POST,
    require_safe,
)
from django_countries import countries as country_registry

from ima_site.clients import client_ip
from signatories import links, services, worldmap
from signatories.forms import SignForm
from signatories.models import Signature
from statements.models import Statement
from statements.views import render_statement, statement_for_page

LIST_PAGE_SIZE = 100
# A country with fewer signers than this shows "<5": small numbers can point to people.
SMALL_COUNT = 5
COUNT_CACHE_SECONDS = 5


def public_counts(statement: Statement) -> dict:
    counts = services.statement_counts(statement)
    counts["countries"] = sorted(
        (
            {
                "code": code,
                "name": country_registry.name(code) or code,
                "count": count if count >= SMALL_COUNT else None,
            }
            for code, count in counts["by_country"].items()
        ),
        key=lambda row: row["name"],
    )
    goal = counts["goal"]
    counts["percent"] = min(100, round(100 * counts["total"] / goal)) if goal else None
    return counts


def signing_part(request, statement: Statement, preview: bool) -> dict:
    """What the statement page shows of signing: form, counts, signatories."""
    if not statement.accepts_signatures:
        return {}
    page_number = request.GET.get("signatories")
    return {
        "signing_open": services.signing_is_open(statement),
        "sign_form": SignForm(statement=statement),
        "counts": public_counts(statement),
        "signatories": signatory_page(statement, page_number),
    }


class SignatoryPage:
    """One page of the signatory list, found without counting the whole list.

    A viral statement's page is read by tens of thousands while its list grows:
    fetching one row more than a page tells whether there is a next page, where a
    paginator would count every signature on every view.
    """

    def __init__(self, queryset, number: int, size: int):
        self.number = number
        rows = list(queryset[(number - 1) * size : number * size + 1])
        self.has_next = len(rows) > size
        self.object_list = rows[:size]
        self.has_previous = number > 1
        self.has_other_pages = self.has_next or self.has_previous
        self.previous_page_number = number - 1
        self.next_page_number = number + 1
        groups: dict[str, list[Signature]] = {}
        for signature in self.object_list:
            groups.setdefault(signature.country, []).append(signature)
        self.groups = [
            (country_registry.name(code) or code, members)
            for code, members in groups.items()
        ]


def signatory_page(statement: Statement, page_number) -> SignatoryPage | None:
    """Signing organizations and people as they chose to be shown, by country."""
    if statement.signatories_shown == Statement.Shown.COUNT:
        return None
    listed = (
        Signature.objects.counted()
        .filter(statement=statement)
        .exclude(display=Signature.Display.COUNT_ONLY)
        .exclude(name="")
        .select_related("member_organization")
        .only(
            "kind", "name", "organization", "role", "country", "display",
            "member_organization__is_member", "member_organization__verified",
        )
        .order_by("country", "kind", "name", "id")
    )  # fmt: skip
    if statement.signatories_shown == Statement.Shown.ORGANIZATIONS:
        listed = listed.filter(kind=Signature.Kind.ORGANIZATION)
    try:
        number = max(1, min(int(page_number or 1), 10_000))
    except ValueError:
        number = 1
    return SignatoryPage(listed, number, LIST_PAGE_SIZE)


# Embeddable on other sites, where a CSRF cookie is not sent; a signature counts only
# once confirmed from its email, and the form carries a signed timestamp.
@csrf_exempt
@require_POST
def sign(request, slug):
    statement = get_object_or_404(Statement.objects.public(), slug=slug)
    if not services.signing_is_open(statement):
        return render(
            request, "signatories/closed.html", {"statement": statement}, status=409
        )
    form = SignForm(request.POST, statement=statement)
    embedded = request.POST.get("embedded") == "1"
    if not form.is_valid():
        if embedded:
            return allow_framing(embed_page(request, statement, form, status=400))
        statement = statement_for_page(slug)
        return render_statement(
            request, statement, preview=False, extra={"sign_form": form}, status=400
        )
    services.sign_statement(
        statement=statement,
        data=form.signer_data(source=Signature.Source.WEB),
        client_ip=client_ip(request),
        suspicion=form.suspicion(),
    )
    # The same answer whether the email is new, has signed before or is held.
    done = reverse("signatories:signed", args=[statement.slug])
    return HttpResponseRedirect(done + ("?embedded=1" if embedded else ""), status=303)


@require_safe
def signed(request, slug):
    statement = get_object_or_404(Statement.objects.public(), slug=slug)
    embedded = request.GET.get("embedded") == "1"
    response = render(
        request,
        "signatories/signed.html",
        {"statement": statement, "version": statement.original_version(),
         "embedded": embedded},
    )  # fmt: skip
    return allow_framing(response) if embedded else response


FRAMEABLE_CSP = {**settings.SECURE_CSP, "frame-ancestors": ["*"]}


def allow_framing(response):
    """Let other sites frame this response: the embedded form and what follows it."""
    response.xframe_options_exempt = True
    response._csp_config = FRAMEABLE_CSP
    return response


def embed_page(request, statement, form=None, status=200):
    response = render(
        request,
        "signatories/embed.html",
        {
            "statement": statement,
            "version": statement.original_version(),
            "sign_form": form or SignForm(statement=statement),
            "signing_open": services.signing_is_open(statement),
            "counts": public_counts(statement),
        },
        status=status,
    )
    return response


@require_safe
def embed(request, slug):
    """The signing form alone: the only page other sites may frame."""
    statement = get_object_or_404(
        Statement.objects.public().filter(accepts_signatures=True), slug=slug
    )
    return allow_framing(embed_page(request, statement))


def _link_view(request, token, action: str, service, done_template: str):
    signature = links.read_token(token, action)
    if signature is None:
        return render(request, "signatories/link_invalid.html", status=404)
    context = {
        "signature": signature,
        "statement": signature.statement,
        "version": signature.statement.version_for(signature.language),
        "action": action,
    }
    if request.method == "POST":
        service(signature=signature)
        return render(request, done_template, context)
    # GET and HEAD only show the button: a mail scanner following the link changes
    # nothing.
    return render(request, "signatories/link_confirm.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    return _link_view(
        request,
        token,
        "confirm",
        services.confirm_signature,
        "signatories/confirmed.html",
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request, token):
    return _link_view(
        request,
        token,
        "cancel",
        services.cancel_signature,
        "signatories/cancelled.html",
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request, token):
    return _link_view(
        request,
        token,
        "withdraw",
        services.withdraw_signature,
        "signatories/withdrawn.html",
    )


@require_safe
@gzip_page  # 125 KB of outlines travel as about 26 KB; the map holds no secret
@cache_control(public=True, max_age=60)
def signature_map(request, slug):
    """The world map of a statement's signatures, as an SVG image."""
    statement = get_object_or_404(
        Statement.objects.public().filter(accepts_signatures=True), slug=slug
    )
    counts = services.statement_counts(statement)["by_country"]
    svg = worldmap.render_map(
        counts,
        title=_("Signatures by country"),
        small_label="<5",
        names=dict(country_registry),
    )
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")


def count_payload(slug: str) -> dict | None:
    """The public count of a statement; served from the cache when it can be."""
    key = f"statement-count:{slug}"
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - without Redis the count comes from PostgreSQL
        cached = None
    if cached is not None:
        return cached
    statement = (
        Statement.objects.public().filter(slug=slug, accepts_signatures=True).first()
    )
    if statement is None:
        return None
    counts = public_counts(statement)
    payload = {
        "total": counts["total"],
        "organizations": counts["organizations"],
        "goal": counts["goal"],
        "percent": counts["percent"],
        "countries": [
            {"code": row["code"], "count": row["count"]} for row in counts["countries"]
        ],
    }
    with contextlib.suppress(Exception):  # without Redis, serve it uncached
        cache.set(key, payload, COUNT_CACHE_SECONDS)
    return payload
