from django.urls import include, path, re_path

from campaigns import concern_link, letter_download, views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="detail"),
    path("campaigns/<slug:slug>/map.svg", views.campaign_map, name="map"),
    # Members ask for their letter-of-concern link by email.
    path(
        "campaigns/<slug:slug>/letter-link/",
        concern_link.request_link,
        name="concern_link",
    ),
    path(
        "campaigns/<slug:slug>/letter-link/sent/",
        concern_link.link_sent,
        name="concern_link_sent",
    ),
    # The public proof of a sign-on letter: the letter as delivered, the replies.
    path("campaigns/letters/<slug:slug>.pdf", views.letter_pdf, name="letter_pdf"),
    path(
        "campaigns/letters/replies/<int:pk>.pdf",
        views.letter_reply_pdf,
        name="letter_reply_pdf",
    ),
    path("members/", views.member_list, name="members"),
    re_path(
        r"^missions/(?P<country>[A-Za-z]{2})/$", views.mission_list, name="missions"
    ),
    # The member contacts' personal links and the report photos (their own module).
    path("", include("campaigns.contact_urls")),
    # A compiled letter too large to attach, linked from its email.
    path(
        "letters/download/<str:token>/",
        letter_download.letter_download,
        name="letter_download",
    ),
]
