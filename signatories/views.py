import contextlib
import copy

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
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
from signatories.forms import SignForm, screen_signer
from signatories.models import Signature
from signatories.services.counts import hidden_countries
from statements.models import Statement
from statements.parts import PagePart, Slot
from statements.views import render_statement, statement_for_page

LIST_PAGE_SIZE = 100
COUNT_CACHE_SECONDS = 5


def public_counts(statement: Statement) -> dict:
    """The counts as the public sees them, wherever they are shown."""
    counts = services.statement_counts(statement)
    by_country = counts.pop("by_country")
    hidden = hidden_countries(by_country)
    if len(hidden) == 1 and len(by_country) == 1:
        # A single country with a few signers and nothing to hide it among: the
        # total is its count, so it is not named at all.
        by_country = {}
        hidden = set()
    counts["countries"] = sorted(
        (
            {
                "code": code,
                "name": country_registry.name(code) or code,
                "count": None if code in hidden else count,
            }
            for code, count in by_country.items()
        ),
        key=lambda row: row["name"],
    )
    counts["hidden_countries"] = len(hidden)
    goal = counts["goal"]
    counts["percent"] = min(100, round(100 * counts["total"] / goal)) if goal else None
    return counts


def signing_part(request, statement: Statement, preview: bool) -> list[PagePart]:
    """What the statement page shows of signing: count, form, signatories."""
    if not statement.accepts_signatures:
        return []
    signing_open = services.signing_is_open(statement)
    counts = public_counts(statement)
    parts = [
        PagePart(
            name="signing-summary",
            slot=Slot.LEAD,
            template="signatories/parts/summary.html",
            context={"counts": counts, "signing_open": signing_open},
        ),
        PagePart(
            name="signing",
            slot=Slot.ACTION,
            template="signatories/signing_block.html",
            context={
                "counts": counts,
                "signing_open": signing_open,
                "sign_form": SignForm(statement=statement),
            },
        ),
    ]
    signatories = signatory_page(statement, request.GET.get("signatories"))
    if signatories is not None:
        parts.append(
            PagePart(
                name="signatories",
                slot=Slot.RECORD,
                template="signatories/parts/signatories.html",
                context={"signatories": signatories},
            )
        )
    return parts


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


def listed_signatures(statement: Statement):
    """Signing organizations and people as they chose to be shown, in list order."""
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
        # By country, kind and time of signing, never by name: the name of someone
        # shown by initials is hidden, and the place of "H.H." among full names
        # would give away its letters. The index signatories_signature_listed
        # holds this order, so a page is read from it without sorting.
        .order_by("country", "kind", "id")
    )  # fmt: skip
    if statement.signatories_shown == Statement.Shown.ORGANIZATIONS:
        listed = listed.filter(kind=Signature.Kind.ORGANIZATION)
    return listed


def signatory_page(statement: Statement, page_number) -> SignatoryPage | None:
    """One page of the public list, by country."""
    if statement.signatories_shown == Statement.Shown.COUNT:
        return None
    try:
        number = max(1, min(int(page_number or 1), 10_000))
    except ValueError:
        number = 1
    return SignatoryPage(listed_signatures(statement), number, LIST_PAGE_SIZE)


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
    screening = screen_signer(form, web_form=True)
    services.sign_statement(
        statement=statement,
        data=form.signer_data(source=Signature.Source.WEB),
        client_ip=client_ip(request),
        suspicion=screening.hold_reason,
        form_nonce=screening.form_nonce,
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
    response = embed_page(request, statement)
    add_never_cache_headers(response)  # its form token is good once
    return allow_framing(response)


def lists_kind(statement: Statement, kind: str) -> bool:
    """Whether the statement's public list has signatures of this kind at all."""
    if statement.signatories_shown == Statement.Shown.COUNT:
        return False
    if statement.signatories_shown == Statement.Shown.ORGANIZATIONS:
        return kind == Signature.Kind.ORGANIZATION
    return True


def listed_as(signature: Signature, display: str) -> Signature | None:
    """The signature as the public list would show it with that display, or None
    when it would be counted only (listed_signatures' rule)."""
    if display == Signature.Display.COUNT_ONLY or not signature.name:
        return None
    if not lists_kind(signature.statement, signature.kind):
        return None
    shown = copy.copy(signature)
    shown.display = display
    return shown


def link_context(signature: Signature, action: str) -> dict:
    """What the emailed links' pages show: the signature's details, never the email.

    Whoever first signs with an address chooses these details; the owner of the
    address sees them here before confirming, and can delete them instead.
    """
    statement = signature.statement
    context = {
        "signature": signature,
        "statement": statement,
        "version": statement.version_for(signature.language),
        "action": action,
        "signs_as": _("for an organization")
        if signature.kind == Signature.Kind.ORGANIZATION
        else _("as a person"),
        "country_name": country_registry.name(signature.country) or signature.country,
        "listed_as": listed_as(signature, signature.display),
        "kind_listed": lists_kind(statement, signature.kind),
    }
    if action == "confirm":
        context["display_options"] = [
            {
                "value": value,
                "label": label,
                "checked": value == signature.display,
                "listed_as": listed_as(signature, value),
            }
            for value, label in Signature.Display.choices
        ]
        # Confirm and cancel links share the signature's nonce: this one stops
        # working, like the confirm link, once either is used.
        context["cancel_path"] = links.link_path(signature, "cancel")
    return context


def _link_view(
    request, token, action: str, on_post, page: str = "signatories/link_confirm.html"
):
    """A link from a signer's email: GET and HEAD only show the page with its button
    (a mail scanner following the link changes nothing); POST does on_post."""
    signature = links.read_token(token, action)
    if signature is None:
        return render(request, "signatories/link_invalid.html", status=404)
    if request.method == "POST":
        return on_post(request, signature)
    return render(request, page, link_context(signature, action))


def _done(service, action: str, template: str):
    def on_post(request, signature):
        service(signature=signature)
        return render(request, template, link_context(signature, action))

    return on_post


def _confirm(request, signature):
    # How the name is shown, chosen on the page; absent (a page from before the
    # choice was offered), the stored choice stays.
    display = request.POST.get("display")
    if display is not None and display not in Signature.Display.values:
        context = link_context(signature, "confirm")
        context["display_error"] = _(
            "“%(choice)s” is not a way to show your signature: choose one of the "
            "options under “Show my signature as”."
        ) % {"choice": display[:40]}
        return render(request, "signatories/link_confirm.html", context, status=400)
    services.confirm_signature(signature=signature, display=display)
    signature.refresh_from_db()
    context = link_context(signature, "confirmed")
    if signature.consent:
        context["unsubscribe_path"] = links.link_path(signature, "unsubscribe")
    return render(request, "signatories/confirmed.html", context)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request, token):
    return _link_view(request, token, "confirm", _confirm)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request, token):
    return _link_view(
        request,
        token,
        "cancel",
        _done(services.cancel_signature, "cancel", "signatories/cancelled.html"),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def withdraw(request, token):
    return _link_view(
        request,
        token,
        "withdraw",
        _done(services.withdraw_signature, "withdraw", "signatories/withdrawn.html"),
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    """ "Stop emails": the signer takes back their "keep me informed"."""
    return _link_view(
        request,
        token,
        "unsubscribe",
        _done(
            services.stop_signer_emails, "unsubscribe", "signatories/unsubscribed.html"
        ),
        page="signatories/unsubscribe.html",
    )


@require_safe
@gzip_page  # 125 KB of outlines travel as about 26 KB; the map holds no secret
@cache_control(public=True, max_age=60)
def signature_map(request, slug):
    """The world map of a statement's signatures, as an SVG image."""
    statement = get_object_or_404(
        Statement.objects.public().filter(accepts_signatures=True), slug=slug
    )
    shown = {row["code"]: row["count"] for row in public_counts(statement)["countries"]}
    svg = worldmap.render_map(
        shown,
        title=_("Signatures by country"),
        hidden_label=_("not shown"),
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
