"""RSS and Atom feeds: all statements, per country, per topic."""

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_countries import countries as country_registry

from statements.markdown import markup_free
from statements.models import Statement, Topic

FEED_LENGTH = 30


class LatestStatementsFeed(Feed):
    title = _("Statements of the International Migrants Alliance")
    description = _("Statements, joint statements and sign-on letters, newest first.")

    def link(self, obj=None):
        return reverse("statements:list")

    def filter_items(self, queryset, obj):
        return queryset

    def items(self, obj=None):
        queryset = Statement.objects.public().with_page_data()
        return self.filter_items(queryset, obj).order_by("-publish_at", "-id")[
            :FEED_LENGTH
        ]

    def item_title(self, item):
        # Many readers show titles as HTML although RSS says text: send text only.
        return markup_free(item.original_version().title)

    def item_description(self, item):
        # Feed readers treat the description as HTML: the summary is escaped here,
        # the body is already sanitized.
        version = item.original_version()
        return format_html(
            "<p>{}</p>{}",
            version.description(),
            mark_safe(version.body_html()),  # noqa: S308
        )

    def item_link(self, item):
        return item.original_version().get_absolute_url()

    def item_pubdate(self, item):
        return item.publish_at

    def item_updateddate(self, item):
        return item.updated_at

    def item_categories(self, item):
        return [markup_free(topic.name) for topic in item.topics.all()]

    def item_author_name(self, item):
        return markup_free(item.issuer)


class LatestStatementsAtomFeed(LatestStatementsFeed):
    feed_type = Atom1Feed
    subtitle = LatestStatementsFeed.description


class CountryFeed(LatestStatementsFeed):
    def get_object(self, request, code):
        code = code.upper()
        if code not in country_registry:
            raise Http404("No such country")
        return code

    def title(self, obj):
        return _("Statements on %(country)s") % {"country": country_registry.name(obj)}

    def link(self, obj=None):
        return reverse("statements:list") + f"?country={obj}"

    def filter_items(self, queryset, obj):
        return queryset.filter(countries__contains=[obj])


class CountryAtomFeed(CountryFeed):
    feed_type = Atom1Feed
    subtitle = LatestStatementsFeed.description


class TopicFeed(LatestStatementsFeed):
    def get_object(self, request, slug):
        # A topic only drafts use is not to be learned from here.
        return get_object_or_404(
            Topic.objects.filter(statements__in=Statement.objects.public()).distinct(),
            slug=slug,
        )

    def title(self, obj):
        return _("Statements on %(topic)s") % {"topic": markup_free(obj.name)}

    def link(self, obj=None):
        return reverse("statements:list") + f"?topic={obj.slug}"

    def filter_items(self, queryset, obj):
        return queryset.filter(topics=obj)


class TopicAtomFeed(TopicFeed):
    feed_type = Atom1Feed
    subtitle = LatestStatementsFeed.description
