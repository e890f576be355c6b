from django.urls import path

from fupin.assistance import views

app_name = "assistance"

urlpatterns = [
    path("measures/", views.measure_list_view, name="measure-list"),
    path(
        "households/<str:household_no>/measures/new/",
        views.measure_add_view,
        name="measure-add",
    ),
    path("measures/<uuid:measure_id>/", views.measure_detail_view, name="measure-detail"),
    path("measures/<uuid:measure_id>/edit/", views.measure_edit_view, name="measure-edit"),
    path("measures/<uuid:measure_id>/status/", views.measure_status_view, name="measure-status"),
    path("measures/<uuid:measure_id>/stages/", views.measure_stage_view, name="measure-stage"),
    path("measures/<uuid:measure_id>/photos/", views.measure_photo_view, name="measure-photo"),
    path("photos/<uuid:photo_id>/", views.photo_file_view, name="photo-file"),
    path("catalogue/", views.catalogue_view, name="catalogue"),
    path("catalogue/new/", views.measure_type_create_view, name="measure-type-create"),
    path("catalogue/<str:type_code>/edit/", views.measure_type_edit_view, name="measure-type-edit"),
    path("projects/", views.project_list_view, name="project-list"),
    path("projects/new/", views.project_create_view, name="project-create"),
    path("projects/overdue/", views.overdue_view, name="overdue"),
    path("projects/<str:project_code>/", views.project_detail_view, name="project-detail"),
    path("projects/<str:project_code>/edit/", views.project_edit_view, name="project-edit"),
    path(
        "projects/<str:project_code>/funding/", views.project_funding_view, name="project-funding"
    ),
    path(
        "projects/<str:project_code>/disbursements/new/",
        views.disbursement_add_view,
        name="disbursement-add",
    ),
    path("projects/<str:project_code>/milestones/", views.milestone_view, name="milestone"),
    path(
        "projects/<str:project_code>/beneficiaries/",
        views.beneficiaries_view,
        name="beneficiaries",
    ),
    path("projects/<str:project_code>/benefits/", views.benefits_view, name="benefits"),
    path("projects/<str:project_code>/photos/", views.project_photo_view, name="project-photo"),
]
