from django.urls import include, path, re_path

from campaigns import letter_download, views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/<slug:slug>/", views.campaign_detail, name="detail"),
    path("campaigns/<slug:slug>/map.svg", views.campaign_map, name="map"),
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
