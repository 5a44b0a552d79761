from functools import cache

from django.conf import settings
from django.http import HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_safe


@require_safe
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /*/admin/",
        "Disallow: /statements/*/preview/",
        "Disallow: /*/statements/*/preview/",
        "Allow: /",
        f"Sitemap: {settings.SITE_URL}/sitemap.xml",
        "",
    ]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")


@cache
def _favicon() -> bytes:
    return (settings.BASE_DIR / "static" / "favicon.ico").read_bytes()


# HEAD too: link checkers and uptime monitors ask with it.
@require_safe
@cache_control(max_age=604800, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for on their own: a small icon, cached for
    a week, instead of a 404 in every log."""
    return HttpResponse(_favicon(), content_type="image/x-icon")


@require_GET
def health(request):
    """For load balancers: the process answers. Touches no database and no Redis."""
    return HttpResponse("ok\n", content_type="text/plain")


def server_error(request):
    """A 500 page that needs no database and no context processor; JSON for the API."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    template = loader.get_template("500.html")
    return HttpResponseServerError(template.render({"SITE_NAME": settings.SITE_NAME}))
