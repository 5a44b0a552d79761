from django.urls import path

from signatories import views

urlpatterns = [
    path("statements/<slug:slug>/count/", views.count, name="statement-count"),
]
