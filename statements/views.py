from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Prefetch, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from ima_site.tokens import is_organizer
from statements.forms import StatementFilterForm
from statements.models import Link, MediaContact, Statement, StatementVersion
from statements.parts import PagePart, PartMaker, Slot, in_page_order

PAGE_SIZE = 20

# Other apps add to the statement page (signing adds its count, form and
# signatories) without this app knowing them: each maker takes (request, statement,
# preview) and returns its typed parts. Registered in their AppConfig.ready().
STATEMENT_PAGE_PARTS: list[PartMaker] = []


def search_query(text: str) -> SearchQuery:
    return SearchQuery(text, config="simple", search_type="websearch")


def filter_statements(queryset, data: dict):
    """Apply the list's filters (validated form data) to a queryset of statements."""
    if data.get("kind"):
        queryset = queryset.filter(kind=data["kind"])
    if data.get("country"):
        queryset = queryset.filter(countries__contains=[data["country"]])
    if data.get("topic"):
        queryset = queryset.filter(topics__slug=data["topic"])
    if data.get("year"):
        queryset = queryset.filter(issued_on__year=data["year"])
    if data.get("language"):
        queryset = queryset.filter(
            pk__in=StatementVersion.objects.filter(language=data["language"]).values(
                "statement_id"
            )
        )
    if data.get("q"):
        query = search_query(data["q"])
        best_rank = (
            StatementVersion.objects.filter(
                statement=OuterRef("pk"), search_vector=query
            )
            .annotate(rank=SearchRank(F("search_vector"), query))
            .order_by("-rank")
            .values("rank")[:1]
        )
        queryset = (
            queryset.annotate(rank=Subquery(best_rank))
            .filter(rank__isnull=False)
            .order_by("-rank", "-issued_on", "-id")
        )
    return queryset


def with_display_version(statements, language: str):
    """Pair each statement with the version to show in this interface language."""
    return [(statement, statement.version_for(language)) for statement in statements]


@require_safe
def home(request):
    language = get_language()
    public = Statement.objects.public().with_page_data()
    current = public.exclude(status=Statement.Status.ARCHIVED).newest_first()
    latest = current[:8]
    open_for_signing = current.taking_signatures()[:4]
    return render(
        request,
        "statements/home.html",
        {
            "latest": with_display_version(latest, language),
            "open_for_signing": with_display_version(open_for_signing, language),
        },
    )


@require_safe
def statement_list(request):
    form = StatementFilterForm(request.GET or None)
    queryset = Statement.objects.public().with_page_data()
    filters = {}
    if form.is_bound:
        # A filter that is not understood is left out; the valid ones still apply.
        form.is_valid()
        filters = form.cleaned_data
    queryset = filter_statements(queryset, filters)
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "statements/list.html",
        {
            "form": form,
            "page": page,
            "statements": with_display_version(page.object_list, get_language()),
            "query_string": query.urlencode(),
            "filters": filters,
            "country_name": dict(form.fields["country"].choices).get(
                filters.get("country")
            ),
        },
    )


def statement_for_page(slug: str) -> Statement:
    queryset = Statement.objects.prefetch_related(
        "versions",
        "topics",
        Prefetch("links", queryset=Link.objects.order_by("position", "id")),
        Prefetch("contacts", queryset=MediaContact.objects.order_by("position", "id")),
    )
    return get_object_or_404(queryset, slug=slug)


@require_safe
def statement_detail(request, slug):
    statement = statement_for_page(slug)
    if statement.status == Statement.Status.WITHDRAWN:
        return render(
            request, "statements/withdrawn.html", {"statement": statement}, status=410
        )
    if not statement.is_public():
        raise Http404(_("No such statement."))
    return render_statement(request, statement, preview=False)


@never_cache
@require_safe
def statement_preview(request, slug):
    """The page exactly as the public will see it, for organizers, before publishing."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    # Still an organizer, now: an open session outlives a change of role.
    if not (
        is_organizer(request.user)
        and request.user.has_perm("statements.view_statement")
    ):
        raise PermissionDenied
    response = render_statement(request, statement_for_page(slug), preview=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def group_contacts(contacts) -> list[tuple[str, list[MediaContact]]]:
    """Media contacts grouped by team, teams in the order they first appear."""
    groups: dict[str, list[MediaContact]] = {}
    for contact in contacts:
        groups.setdefault(contact.team, []).append(contact)
    return list(groups.items())


def share_links(url: str, title: str) -> list[tuple[str, str]]:
    """Plain links to share the page: nothing loads from another host until clicked."""
    u, t = quote(url, safe=""), quote(title, safe="")
    return [
        ("WhatsApp", f"https://wa.me/?text={t}%20{u}"),
        ("Facebook", f"https://www.facebook.com/sharer/sharer.php?u={u}"),
        ("X", f"https://twitter.com/intent/tweet?text={t}&url={u}"),
        ("Telegram", f"https://t.me/share/url?url={u}&text={t}"),
        (_("Email"), f"mailto:?subject={t}&body={u}"),
    ]


def version_texts(
    version: StatementVersion, original: StatementVersion
) -> dict[str, object]:
    """Slogans, addressees and role as this version shows them, each with the
    version whose language it is written in: a field the version leaves empty shows
    the original's text, which the page then marks with the original's language."""

    def written_in(own_text: object) -> StatementVersion:
        return version if own_text else original

    return {
        "slogans": version.shown_slogans(),
        "slogans_in": written_in(version.slogans),
        "addressees": version.shown_addressees(),
        "addressees_in": written_in(version.addressees),
        "signed_by_role": version.shown_signed_by_role(),
        "signed_by_role_in": written_in(version.signed_by_role),
    }


def statement_parts(
    statement: Statement,
    version: StatementVersion,
    original: StatementVersion,
    other_versions: list[StatementVersion],
    canonical: str,
) -> list[PagePart]:
    """The parts of the page this app draws: the statement and what is around it."""
    written_once = {"original": original, **version_texts(version, original)}
    links = list(statement.links.all())
    contact_groups = group_contacts(statement.contacts.all())
    topics = list(statement.topics.all())
    # (name, slot, values, shown): drawn by statements/parts/<name, with "_">.html.
    candidates = [
        ("heading", Slot.HEADING, written_once, True),
        ("text", Slot.TEXT, written_once, True),
        ("versions", Slot.ABOUT, {"other_versions": other_versions}, other_versions),
        ("links", Slot.ABOUT, {"links": links}, links),
        ("contacts", Slot.ABOUT, {"contact_groups": contact_groups}, contact_groups),
        ("filed-under", Slot.ABOUT, {"topics": topics}, statement.countries or topics),
        ("share", Slot.ABOUT,
         {"share_links": share_links(canonical, version.title)}, True),
    ]  # fmt: skip
    return [
        PagePart(
            name=name,
            slot=slot,
            template=f"statements/parts/{name.replace('-', '_')}.html",
            context=context,
        )
        for name, slot, context, shown in candidates
        if shown
    ]


def render_statement(
    request,
    statement: Statement,
    *,
    preview: bool,
    extra: dict | None = None,
    status: int = 200,
):
    """The statement page; `extra` replaces parts' values (a form sent back)."""
    interface_language = get_language()
    versions = list(statement.versions.all())
    requested = request.GET.get("lang")
    version = next((v for v in versions if v.language == requested), None)
    version = version or statement.version_for(interface_language)
    if version is None:
        raise Http404(_("This statement has no text yet."))
    canonical = settings.SITE_URL + version.get_absolute_url()
    original = statement.original_version()
    other_versions = [v for v in versions if v.pk != version.pk]
    parts = statement_parts(statement, version, original, other_versions, canonical)
    for make_parts in STATEMENT_PAGE_PARTS:
        parts.extend(make_parts(request, statement, preview))
    parts = [part.replacing(extra or {}) for part in in_page_order(parts)]
    response = render(
        request,
        "statements/detail.html",
        {
            "parts": [part for part in parts if part.slot < Slot.ABOUT],
            "about_parts": [part for part in parts if part.slot >= Slot.ABOUT],
            "statement": statement,
            "version": version,
            "alternates": [
                (v.language, settings.SITE_URL + v.get_absolute_url()) for v in versions
            ],
            "x_default": settings.SITE_URL + original.get_absolute_url(),
            "canonical": canonical,
            "preview": preview,
        },
        status=status,
    )
    if statement.accepts_signatures:
        # The signing form carries a token good once: no shared cache may hand one
        # page to many people, and the back button fetches a fresh one (a second
        # person signing on the same phone is not taken for a replaying bot).
        add_never_cache_headers(response)
    return response
