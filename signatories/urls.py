from django.urls import path

from signatories import views

app_name = "signatories"

urlpatterns = [
    path("statements/<slug:slug>/sign/", views.sign, name="sign"),
    path("statements/<slug:slug>/signed/", views.signed, name="signed"),
    path("statements/<slug:slug>/embed/", views.embed, name="embed"),
    path("statements/<slug:slug>/map.svg", views.signature_map, name="map"),
    path("s/confirm/<str:token>/", views.confirm, name="confirm"),
    path("s/cancel/<str:token>/", views.cancel, name="cancel"),
    path("s/withdraw/<str:token>/", views.withdraw, name="withdraw"),
    path("s/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
