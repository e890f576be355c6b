from django.urls import path

from fupin.pairing import views

app_name = "pairing"

urlpatterns = [
    path("", views.coverage_view, name="coverage"),
    path("proposal/", views.proposal_view, name="proposal"),
    path("overdue/", views.overdue_view, name="overdue"),
    path("rules/", views.rules_view, name="rules"),
    path("households/<str:household_no>/", views.household_view, name="household"),
    path("households/<str:household_no>/assign/", views.assign_view, name="assign"),
    path("households/<str:household_no>/visits/new/", views.visit_add_view, name="visit-add"),
    path("pairings/<uuid:pairing_id>/end/", views.end_view, name="end"),
    path("visits/<uuid:visit_id>/", views.visit_view, name="visit"),
    path(
        "visits/<uuid:visit_id>/photos/<uuid:photo_id>",
        views.visit_photo_view,
        name="visit-photo",
    ),
    path("officials/<str:username>/", views.official_view, name="official"),
    path("key-villages/", views.key_village_list_view, name="key-villages"),
    path("key-villages/<str:code>/", views.key_village_view, name="key-village"),
    path("key-villages/<str:code>/team/new/", views.team_add_view, name="team-add"),
    path("team/<uuid:member_id>/end/", views.team_end_view, name="team-end"),
    path("team/<uuid:member_id>/attendance/", views.attendance_view, name="attendance"),
]
