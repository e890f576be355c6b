from django.urls import path

from fupin.registry import views

app_name = "audit"

urlpatterns = [
    path("", views.audit_event_list_view, name="event-list"),
]
