"""URLs of the member contacts' personal links, and of report photos.

No app_name of its own: campaigns/urls.py includes this module, so the names are
in the "campaigns" namespace (campaigns:contact_pledge, campaigns:report_photo).
"""

from django.urls import path

from campaigns import concern_views, contact_views

urlpatterns = [
    path("c/pledge/<str:token>/", contact_views.pledge, name="contact_pledge"),
    path("c/pledge/<str:token>/report/", contact_views.report, name="contact_report"),
    path(
        "c/pledge/<str:token>/photos/<int:photo_id>/",
        contact_views.own_photo,
        name="contact_photo",
    ),
    path(
        "c/pledge/<str:token>/photos/<int:photo_id>/remove/",
        contact_views.remove_photo,
        name="contact_remove_photo",
    ),
    path("c/letter/<str:token>/", concern_views.concern, name="contact_concern"),
    path(
        "c/letter/<str:token>/letter.pdf",
        concern_views.concern_pdf,
        name="contact_concern_pdf",
    ),
    path("c/details/<str:token>/", contact_views.details, name="contact_details"),
    # The link mailed to a contact's new address, to confirm it.
    path(
        "c/email/<str:token>/",
        contact_views.confirm_email,
        name="contact_confirm_email",
    ),
    path(
        "c/unsubscribe/<str:token>/",
        contact_views.unsubscribe,
        name="contact_unsubscribe",
    ),
    path(
        "c/unsubscribe-now/<str:token>/",
        contact_views.unsubscribe_one_click,
        name="contact_unsubscribe_one_click",
    ),
    path("reports/photos/<int:pk>/", contact_views.report_photo, name="report_photo"),
]
