from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_default_rules(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from fupin.pairing.policy import rules_load_defaults

    rules_load_defaults(using=using)


class PairingConfig(AppConfig):
    name = "fupin.pairing"
    label = "pairing"
    verbose_name = _("Pairing and visits")

    def ready(self) -> None:
        post_migrate.connect(_load_default_rules, sender=self)
        from fupin.pairing import panels

        panels.register()
