from django.urls import path

from statements import feeds

urlpatterns = [
    path("statements.rss", feeds.LatestStatementsFeed(), name="feed-rss"),
    path("statements.atom", feeds.LatestStatementsAtomFeed(), name="feed-atom"),
    path("country/<str:code>.rss", feeds.CountryFeed(), name="feed-country-rss"),
    path("country/<str:code>.atom", feeds.CountryAtomFeed(), name="feed-country-atom"),
    path("topic/<slug:slug>.rss", feeds.TopicFeed(), name="feed-topic-rss"),
    path("topic/<slug:slug>.atom", feeds.TopicAtomFeed(), name="feed-topic-atom"),
]
