from rest_framework.routers import SimpleRouter

from statements.api import StatementViewSet

router = SimpleRouter()
router.register("statements", StatementViewSet, basename="statement")

urlpatterns = router.urls
