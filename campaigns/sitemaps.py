from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from campaigns.public import public_campaigns


class CampaignSitemap(Sitemap):
    """Every public campaign, and the pages that list campaigns and members."""

    changefreq = "weekly"
    priority = 0.7
    limit = 5000

    def items(self):
        return public_campaigns().order_by("id")

    def lastmod(self, item):
        return item.updated_at


class CampaignPageSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.5

    def items(self):
        return ["campaigns:list", "campaigns:members"]

    def location(self, item):
        return reverse(item)
