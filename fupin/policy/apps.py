from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _load_bundled_policy_values(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from fupin.policy.models import PolicyValue
    from fupin.policy.services import policy_values_load_bundled

    # Not after a migration back to before the policy tables existed.
    if PolicyValue._meta.db_table in connections[using].introspection.table_names():
        policy_values_load_bundled(using=using)


class PolicyConfig(AppConfig):
    name = "fupin.policy"
    label = "policy"
    verbose_name = _("Policy")

    def ready(self) -> None:
        post_migrate.connect(_load_bundled_policy_values, sender=self)
        # The household page shows the evaluation through the registry's panel hook: the
        # registry never imports this app.
        from fupin.policy.panels import register

        register()
