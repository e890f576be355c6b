from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the CSP forbids inline scripts.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("fupin.registry.api_urls")),
    path("", include("fupin.policy.api_urls")),
    path("", include("fupin.assistance.api_urls")),
    path("", include("fupin.exchange.api_urls")),
    path("", include("fupin.pairing.api_urls")),
    path("", include("fupin.procedures.api_urls")),
]
