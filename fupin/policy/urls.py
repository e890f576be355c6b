from django.urls import path

from fupin.policy import views

app_name = "policy"

urlpatterns = [
    path("policy/", views.policy_value_list_view, name="value-list"),
    path("policy/values/new/", views.policy_value_add_view, name="value-add"),
    path("policy/values/<uuid:lineage>/", views.policy_value_history_view, name="value-history"),
    path("policy/values/<uuid:lineage>/edit/", views.policy_value_edit_view, name="value-edit"),
    path("policy/runs/<int:run_id>/", views.evaluation_run_view, name="run-detail"),
    path("policy/simulate/", views.simulation_view, name="simulate"),
    path("policy/scenarios/<int:scenario_id>/", views.scenario_detail_view, name="scenario-detail"),
    path(
        "policy/scenarios/<int:scenario_id>/rerun/",
        views.scenario_rerun_view,
        name="scenario-rerun",
    ),
    path(
        "households/<str:household_no>/evaluation/",
        views.household_evaluation_view,
        name="household-evaluation",
    ),
    path(
        "households/<str:household_no>/renovations/",
        views.renovation_add_view,
        name="renovation-add",
    ),
]
