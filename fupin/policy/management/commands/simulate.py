import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from fupin.core.audit import ChangeSource
from fupin.core.errors import NotFound
from fupin.policy.management.commands._common import pad, year_arg
from fupin.policy.models import Scenario, ScenarioFlip
from fupin.policy.parameters import parse_override
from fupin.policy.simulation import scenario_rerun, scenario_run

KEYS = (
    ("exit_qualified", gettext_lazy("exit")),
    ("still_poor", gettext_lazy("still poor")),
    ("monitoring.unstable", gettext_lazy("unstable")),
    ("monitoring.marginal", gettext_lazy("marginal")),
    ("monitoring.sudden", gettext_lazy("sudden")),
    ("risk_eliminated", gettext_lazy("eliminated")),
    ("identified", gettext_lazy("identified")),
    ("villages", gettext_lazy("villages exit")),
)


def _count(entry: dict[str, Any], key: str) -> int:
    if key.startswith("monitoring."):
        return int(entry["monitoring"].get(key.split(".", 1)[1], 0))
    if key == "villages":
        return int(entry.get("villages_qualifying", 0))
    return int(entry["outcomes"].get(key, 0))


class Command(BaseCommand):
    help = (
        "Simulate a change of policy parameters (政策模拟): counts per county now and under the "
        "scenario, and the households whose outcome flips with the criterion that flipped them. "
        "The scenario is saved with its policy and data versions; --rerun runs a saved one again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--year", type=year_arg, help="the policy year")
        parser.add_argument(
            "--set",
            dest="changes",
            action="append",
            default=[],
            metavar="NAME[.QUALIFIER]=VALUE",
            help="a changed parameter, e.g. poverty_line.provincial=4200 (repeatable)",
        )
        parser.add_argument("--division", default="", help="12-digit code: only its subtree")
        parser.add_argument("--name", default="", help="a name for the saved scenario")
        parser.add_argument(
            "--rerun", type=int, help="run the saved scenario with this number again"
        )
        parser.add_argument("--flips", type=int, default=20, help="flipping households to print")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["rerun"] is not None:
            self._rerun(options["rerun"], as_json=options["json"])
            return
        if options["year"] is None or not options["changes"]:
            raise CommandError(_("Give --year and at least one --set NAME=VALUE."))
        overrides: dict[str, dict[str, Decimal]] = {}
        try:
            for text in options["changes"]:
                name, qualifier, value = parse_override(text)
                overrides.setdefault(name, {})[qualifier] = value
            scenario = scenario_run(
                actor=None,
                source=ChangeSource.command("simulate"),
                year=options["year"],
                overrides=overrides,
                division_code=options["division"] or None,
                name=options["name"],
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except NotFound:
            raise CommandError(_("Unknown division.")) from None
        flips = list(
            ScenarioFlip.objects.filter(scenario=scenario)
            .select_related("household")
            .order_by("household__household_no")[: options["flips"]]
        )
        if options["json"]:
            payload = {
                "id": scenario.pk,
                "year": scenario.year,
                "overrides": scenario.overrides,
                "policy_version": scenario.policy_version,
                "data_version": scenario.data_version,
                "seconds": round(scenario.seconds, 3),
                **{k: v for k, v in scenario.result.items() if k != "base_parameters"},
                "flip_sample": [
                    {
                        "household_no": f.household.household_no,
                        "before": f.before,
                        "after": f.after,
                        "criteria": [c for c in f.criteria.split(",") if c],
                    }
                    for f in flips
                ],
            }
            self.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2))
            return
        self._print(scenario, flips)

    def _print(self, scenario: Scenario, flips: list[ScenarioFlip]) -> None:
        changes = ", ".join(
            f"{n}{'.' + q if q else ''}={v}"
            for n, by_q in scenario.overrides.items()
            for q, v in by_q.items()
        )
        self.stdout.write(
            _(
                "Scenario %(id)s for %(year)s (%(changes)s): policy version %(policy)s, data "
                "version %(data)s, %(seconds).1f s."
            )
            % {
                "id": scenario.pk,
                "year": scenario.year,
                "changes": changes,
                "policy": scenario.policy_version,
                "data": scenario.data_version,
                "seconds": scenario.seconds,
            }
        )
        now, after = scenario.result["now"], scenario.result["scenario"]
        rows = [
            *zip(now["counties"], after["counties"], strict=True),
            (now["total"], after["total"]),
        ]
        header = pad(_("county"), 16) + "".join(
            pad(str(label), 22, right=True) for _k, label in KEYS
        )
        self.stdout.write("")
        self.stdout.write(header + "   " + _("(now → scenario)"))
        self.stdout.write("-" * len(header))
        for before, changed in rows:
            name = f"{before['code'][:6]} {before['name']}".strip() or _("total")
            cells = "".join(
                pad(f"{_count(before, k):,} → {_count(changed, k):,}", 22, right=True)
                for k, _label in KEYS
            )
            self.stdout.write(pad(name, 16) + cells)
        summary = scenario.result["flips"]
        self.stdout.write("")
        self.stdout.write(
            _("%(total)s households flip: %(out)s out → in, %(into)s in → out.")
            % {
                "total": f"{summary['total']:,}",
                "out": summary["out_to_in"],
                "into": summary["in_to_out"],
            }
        )
        for code, count in summary["by_criterion"].items():
            self.stdout.write(f"  {code}: {count:,}")
        for f in flips:
            self.stdout.write(
                f"  {f.household.household_no}: {f.before} → {f.after} ({f.criteria})"
            )

    def _rerun(self, scenario_id: int, *, as_json: bool) -> None:
        scenario = Scenario.objects.select_related("division").filter(pk=scenario_id).first()
        if scenario is None:
            raise CommandError(_("No scenario %(id)s.") % {"id": scenario_id})
        outcome = scenario_rerun(scenario)
        if as_json:
            payload = {"same_answer": outcome.same_answer, "same_data": outcome.same_data}
            self.stdout.write(json.dumps(payload))
            return
        if outcome.same_answer:
            self.stdout.write(_("Same answer as when the scenario was saved."))
        elif outcome.same_data:
            self.stdout.write(_("The answer differs although the data version is the same."))
        else:
            self.stdout.write(
                _("The answer differs: the data changed since the scenario was saved.")
            )
