from django.urls import path
from rest_framework.routers import SimpleRouter

from campaigns import api_alerts, api_letters
from campaigns.api import (
    CampaignViewSet,
    LetterViewSet,
    MissionViewSet,
    OrganizationViewSet,
)

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("missions", MissionViewSet, basename="mission")
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("letters", LetterViewSet, basename="letter")

urlpatterns = [
    *router.urls,
    # The organizers' alerts (campaigns/api_alerts.py).
    path("alerts/", api_alerts.AlertCreate.as_view(), name="api-alerts"),
    path("alerts/<int:id>/", api_alerts.AlertDetail.as_view(), name="api-alert"),
    path(
        "alerts/<int:id>/recipients/",
        api_alerts.AlertRecipients.as_view(),
        name="api-alert-recipients",
    ),
    path(
        "alerts/<int:id>/test/", api_alerts.AlertTest.as_view(), name="api-alert-test"
    ),
    path(
        "alerts/<int:id>/send/", api_alerts.AlertSend.as_view(), name="api-alert-send"
    ),
    # The organizers' side of letters (campaigns/api_letters.py).
    path(
        "letters/<slug:slug>/targets/",
        api_letters.LetterTargets.as_view(),
        name="api-letter-targets",
    ),
    path(
        "letters/<slug:slug>/deliver/",
        api_letters.LetterDeliver.as_view(),
        name="api-letter-deliver",
    ),
    path(
        "letters/<slug:slug>/replies/",
        api_letters.LetterReplies.as_view(),
        name="api-letter-replies",
    ),
]
