from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from campaigns.sitemaps import CampaignPageSitemap, CampaignSitemap
from ima_site import views
from statements import views as statement_views
from statements.sitemaps import SITEMAPS

handler400 = "ima_site.api.bad_request"
handler404 = "ima_site.api.not_found"
handler500 = "ima_site.views.server_error"

urlpatterns = [
    path("robots.txt", views.robots_txt, name="robots"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", views.health, name="health"),
    path(
        "sitemap.xml",
        sitemap,
        {
            "sitemaps": {
                **SITEMAPS,
                "campaigns": CampaignSitemap,
                "campaign-pages": CampaignPageSitemap,
            }
        },
        name="django.contrib.sitemaps.views.sitemap",
    ),
    path("feeds/", include("statements.feed_urls")),
    path("api/v1/", include("statements.api_urls")),
    path("api/v1/", include("signatories.api_urls")),
    path("api/v1/", include("campaigns.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "api/docs/",
        # Swagger UI sets a few inline styles; its scripts still come from this site.
        csp_override(
            {**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]}
        )(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

urlpatterns += i18n_patterns(
    path("", statement_views.home, name="home"),
    path("statements/", include("statements.urls")),
    path("", include("signatories.urls")),
    path("", include("campaigns.urls")),
    # Before the admin's own URLs, which end in a catch-all.
    path("admin/two-factor/", include("ima_site.twofactor")),
    path("admin/", admin.site.urls),
    prefix_default_language=False,
)
