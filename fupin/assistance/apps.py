from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_bundled_catalogue(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from fupin.assistance.catalogue import catalogue_load_bundled

    catalogue_load_bundled(using=using)


class AssistanceConfig(AppConfig):
    name = "fupin.assistance"
    label = "assistance"
    verbose_name = _("Assistance")

    def ready(self) -> None:
        post_migrate.connect(_load_bundled_catalogue, sender=self)
        # The household page shows measures and projects through the registry's panel hooks:
        # the registry never imports this app.
        from fupin.assistance.panels import register

        register()
