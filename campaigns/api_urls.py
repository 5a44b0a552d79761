from rest_framework.routers import SimpleRouter

from campaigns.api import CampaignViewSet, MissionViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("campaigns", CampaignViewSet, basename="campaign")
router.register("missions", MissionViewSet, basename="mission")
router.register("organizations", OrganizationViewSet, basename="organization")

urlpatterns = router.urls
