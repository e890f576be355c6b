"""The evaluation panel of the household page, registered with the registry's panel hook.

The panel costs the household page no query: it loads the explanation of the household's latest
survey year from the evaluation page with htmx (a plain link without JavaScript).
"""

from typing import Any

from django.utils.translation import gettext_lazy as _

from fupin.registry.models import Household
from fupin.registry.panels import Panel, register_panel


def evaluation_panel(actor: Any, household: Household) -> Panel:
    return Panel(
        key="evaluation",
        title=str(_("Evaluation")),
        template="policy/_evaluation_panel.html",
        context={"household": household},
        order=20,
    )


def register() -> None:
    register_panel("evaluation", evaluation_panel)
