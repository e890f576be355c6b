from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="registry:household-list", permanent=False)),
    path("accounts/", include("fupin.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("households/", include("fupin.registry.urls")),
    path("audit/", include("fupin.registry.audit_urls")),
    path("assistance/", include("fupin.assistance.urls")),
    path("pairing/", include("fupin.pairing.urls")),
    path("exchange/", include("fupin.exchange.urls")),
    path("procedures/", include("fupin.procedures.urls")),
    path("", include("fupin.policy.urls")),
    path("api/v1/", include("fupin.api_urls")),
]
