from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from statements.models import Statement, StatementVersion


class StatementVersionSitemap(Sitemap):
    """Every language version of every public statement."""

    changefreq = "monthly"
    priority = 0.8
    limit = 5000

    def items(self):
        return (
            StatementVersion.objects.filter(statement__in=Statement.objects.public())
            .select_related("statement")
            .order_by("statement_id", "language")
        )

    def location(self, item):
        return item.get_absolute_url()

    def lastmod(self, item):
        return max(item.updated_at, item.statement.updated_at)


class PageSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.5

    def items(self):
        return ["home", "statements:list"]

    def location(self, item):
        return reverse(item)


SITEMAPS = {"pages": PageSitemap, "statements": StatementVersionSitemap}
