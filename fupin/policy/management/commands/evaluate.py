import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.core.audit import ChangeSource
from fupin.core.errors import NotFound
from fupin.policy.management.commands._common import pad, width, year_arg
from fupin.policy.services import evaluation_run

COLUMNS = (
    ("households", gettext_lazy("households")),
    ("exit_qualified", gettext_lazy("exit")),
    ("still_poor", gettext_lazy("still poor")),
    ("monitoring.unstable", gettext_lazy("unstable")),
    ("monitoring.marginal", gettext_lazy("marginal")),
    ("monitoring.sudden", gettext_lazy("sudden")),
    ("risk_eliminated", gettext_lazy("eliminated")),
    ("incidence", gettext_lazy("incidence %")),
    ("qualifies", gettext_lazy("county exit")),
    ("villages", gettext_lazy("villages exit")),
)


def _qualifies(entry: dict[str, Any]) -> str:
    if "qualifies" not in entry:
        return ""
    return _("yes") if entry["qualifies"] else _("no")


def _incidence(entry: dict[str, Any]) -> str:
    value = entry.get("incidence")
    return "—" if value is None else f"{value:.2f}"


CELLS: dict[str, Any] = {
    "households": lambda e: f"{e['households']:,}",
    "incidence": _incidence,
    "qualifies": _qualifies,
    "villages": lambda e: f"{e.get('villages_qualifying', 0):,}/{e.get('villages', 0):,}",
}


def _cell(entry: dict[str, Any], key: str) -> str:
    if key in CELLS:
        return str(CELLS[key](entry))
    if key.startswith("monitoring."):
        return f"{entry['monitoring'].get(key.split('.', 1)[1], 0):,}"
    return f"{entry['outcomes'].get(key, 0):,}"


class Command(BaseCommand):
    help = (
        "Evaluate every household of a year (identification, exit, monitoring) with the policy "
        "in force, store the results with the policy and data versions, and print counts per "
        "county. The whole registry unless --division narrows it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=year_arg, required=True, help="the policy year")
        parser.add_argument("--division", default="", help="12-digit code: only its subtree")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = evaluation_run(
                actor=None,
                source=ChangeSource.command("evaluate"),
                year=options["year"],
                division_code=options["division"] or None,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except NotFound:
            raise CommandError(_("Unknown division.")) from None
        run = outcome.run
        assert run is not None
        if options["json"]:
            payload = {
                "run": run.pk,
                "year": run.year,
                "division": options["division"] or None,
                "policy_version": run.policy_version,
                "data_version": run.data_version,
                "households": run.households,
                "seconds": round(run.seconds, 3),
                **run.summary,
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            _(
                "Evaluation of %(year)s: run %(run)s, policy version %(policy)s, data version "
                "%(data)s, %(households)s households in %(seconds).1f s."
            )
            % {
                "year": run.year,
                "run": run.pk,
                "policy": run.policy_version,
                "data": run.data_version,
                "households": f"{run.households:,}",
                "seconds": run.seconds,
            }
        )
        self.stdout.write("")
        self._table([*run.summary["counties"], {**run.summary["total"], "name": _("total")}])

    def _table(self, rows: list[dict[str, Any]]) -> None:
        names = [f"{r['code'][:6]} {r['name']}".strip() for r in rows]
        first = max([width(str(_("county"))), *(width(n) for n in names)])
        cells = [[_cell(r, key) for key, _label in COLUMNS] for r in rows]
        widths = [
            max(len(label), *(len(c[i]) for c in cells)) for i, (_key, label) in enumerate(COLUMNS)
        ]
        header = (
            pad(_("county"), first)
            + "  "
            + "  ".join(
                pad(str(label), widths[i], right=True) for i, (_key, label) in enumerate(COLUMNS)
            )
        )
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for name, row_cells in zip(names, cells, strict=True):
            self.stdout.write(
                pad(name, first)
                + "  "
                + "  ".join(pad(c, widths[i], right=True) for i, c in enumerate(row_cells))
            )
