from django.urls import path

from statements import views

app_name = "statements"

urlpatterns = [
    path("", views.statement_list, name="list"),
    path("<slug:slug>/", views.statement_detail, name="detail"),
    path("<slug:slug>/preview/", views.statement_preview, name="preview"),
]
