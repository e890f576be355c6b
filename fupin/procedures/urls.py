from django.urls import path

from fupin.procedures import views

app_name = "procedures"

urlpatterns = [
    path("", views.case_list_view, name="case-list"),
    path("notices/", views.notice_list_view, name="notice-list"),
    path("notices/new/", views.notice_new_view, name="notice-new"),
    path("notices/<uuid:notice_id>/", views.notice_detail_view, name="notice-detail"),
    path("notices/<uuid:notice_id>/pdf/", views.notice_pdf_view, name="notice-pdf"),
    path("new/", views.case_open_view, name="case-open"),
    path("batch/", views.case_batch_view, name="case-batch"),
    path("<uuid:case_id>/", views.case_detail_view, name="case-detail"),
    path("<uuid:case_id>/transition/", views.case_transition_view, name="case-transition"),
    path("<uuid:case_id>/comments/", views.case_comment_view, name="case-comment"),
    path("<uuid:case_id>/objections/", views.case_objection_view, name="case-objection"),
    path("<uuid:case_id>/resolve/", views.case_resolve_view, name="case-resolve"),
    path("<uuid:case_id>/attachments/", views.case_attachment_view, name="case-attachment"),
    path(
        "attachments/<uuid:attachment_id>/",
        views.attachment_file_view,
        name="attachment-file",
    ),
]
