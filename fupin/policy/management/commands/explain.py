import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from fupin.policy.explain import Explanation, explain_household
from fupin.policy.management.commands._common import year_arg
from fupin.registry.models import Household

OPS = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "==": "=", "is": "=", "in": "∈"}


def _value(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if unit == "yuan":
        return f"{value:,.2f} " + _("yuan")
    if unit == "percent":
        return f"{value:.2f}%"
    if unit == "months":
        return f"{value} " + _("months")
    return str(value)


class Command(BaseCommand):
    help = (
        "Explain one household's evaluation for a year: each criterion with the household's "
        "value, the threshold, pass or fail, and where the threshold comes from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("household_no", help="household number (户编号)")
        parser.add_argument("--year", type=year_arg, required=True, help="the policy year")
        parser.add_argument("--json", action="store_true", help="print the explanation as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        household = (
            Household.objects.select_related("division")
            .filter(household_no=options["household_no"])
            .first()
        )
        if household is None:
            raise CommandError(_("No household %(no)s.") % {"no": options["household_no"]})
        try:
            explanation = explain_household(household, options["year"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if options["json"]:
            self.stdout.write(json.dumps(explanation.as_dict(), ensure_ascii=False, indent=2))
            return
        self._print(explanation)

    def _print(self, e: Explanation) -> None:
        head = _("Household %(no)s, %(year)s: %(outcome)s") % {
            "no": e.household_no,
            "year": e.year,
            "outcome": e.outcome_label,
        }
        if e.category:
            head += f" · {e.category_label}"
        self.stdout.write(head)
        if e.risks:
            self.stdout.write(_("Risk types: ") + ", ".join(r["label"] for r in e.risks))
        self.stdout.write(
            _("Counted per-capita net income: %(income)s · policy version %(version)s")
            % {"income": _value(e.per_capita_income, "yuan"), "version": e.policy_version}
        )
        if e.stored is not None and not e.stored.agrees:
            self.stdout.write(
                _(
                    "Note: the stored evaluation (run %(run)s) said %(outcome)s; data or policy changed since."
                )
                % {"run": e.stored.run_id, "outcome": e.stored.outcome}
            )
        for test in e.tests:
            state = _("passes") if test.passed else _("does not pass")
            applies = _("applies") if test.applies else _("for information")
            self.stdout.write("")
            self.stdout.write(f"{test.name} — {applies}, {state}")
            for c in test.criteria:
                mark = "✓" if c.passed else "✗"
                role = "" if c.decisive else " " + _("(considered)")
                self.stdout.write(
                    f"  {mark} {c.name}{role}: {_value(c.value, c.unit)} "
                    f"{OPS.get(c.op, c.op)} {_value(c.threshold, c.unit)}"
                )
                for s in c.sources:
                    where = f"{s.parameter}[{s.qualifier}]" if s.qualifier else s.parameter
                    if s.override:
                        self.stdout.write(f"      {where} = {s.value}: " + _("simulated value"))
                        continue
                    period = f"{s.valid_from}–{s.valid_to or ''}"
                    self.stdout.write(
                        f"      {where} = {s.value} (v{s.version}, {period}): {s.note}"
                    )
        if e.out_of_school:
            names = ", ".join(f"{m['name']} ({m['birth_date']})" for m in e.out_of_school)
            self.stdout.write("")
            self.stdout.write(_("Out of school: ") + names)
        if e.renovation:
            self.stdout.write(
                _("Housing renovation accepted on %(day)s (%(kind)s).")
                % {"day": e.renovation["accepted_on"], "kind": e.renovation["kind"]}
            )
