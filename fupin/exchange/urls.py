from django.urls import path

from fupin.exchange import views

app_name = "exchange"

urlpatterns = [
    path("", views.job_list_view, name="job-list"),
    path("import/", views.import_view, name="import"),
    path("export/", views.export_view, name="export"),
    path("jobs/<uuid:job_id>/", views.job_detail_view, name="job-detail"),
    path("jobs/<uuid:job_id>/progress/", views.job_progress_view, name="job-progress"),
    path("jobs/<uuid:job_id>/download/", views.job_download_view, name="job-download"),
    path(
        "jobs/<uuid:job_id>/errors.xlsx", views.job_error_workbook_view, name="job-error-workbook"
    ),
]
