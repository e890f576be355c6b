from django.urls import path

from fupin.registry import views

app_name = "registry"

urlpatterns = [
    path("", views.household_list_view, name="household-list"),
    path("new/", views.household_register_view, name="household-register"),
    path("<str:household_no>/", views.household_detail_view, name="household-detail"),
    path("<str:household_no>/edit/", views.household_edit_view, name="household-edit"),
    path("<str:household_no>/members/new/", views.member_add_view, name="member-add"),
    path(
        "<str:household_no>/members/<uuid:public_id>/edit/",
        views.member_edit_view,
        name="member-edit",
    ),
    path(
        "<str:household_no>/members/<uuid:public_id>/leave/",
        views.member_leave_view,
        name="member-leave",
    ),
    path("<str:household_no>/records/new/", views.record_edit_view, name="record-add"),
    path("<str:household_no>/records/<int:year>/edit/", views.record_edit_view, name="record-edit"),
]
