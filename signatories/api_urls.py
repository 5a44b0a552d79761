from django.urls import path

from signatories import api

urlpatterns = [
    path(
        "statements/<slug:slug>/count/",
        api.StatementCount.as_view(),
        name="statement-count",
    ),
    path(
        "statements/<slug:slug>/signatures/",
        api.Signatures.as_view(),
        name="api-signatures",
    ),
    path(
        "statements/<slug:slug>/signatures/export.csv",
        api.SignatureExport.as_view(),
        name="api-signature-export",
    ),
]
