from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_bundled_code_lists(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from fupin.core.code_lists import code_lists_load_bundled

    code_lists_load_bundled(using=using)


class CoreConfig(AppConfig):
    name = "fupin.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        post_migrate.connect(_load_bundled_code_lists, sender=self)
