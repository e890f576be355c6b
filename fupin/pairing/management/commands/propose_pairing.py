"""``fupin propose-pairing [--division CODE] [--apply] [--json]``."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from fupin.core.audit import ChangeSource
from fupin.divisions.selectors import division_get_by_code
from fupin.pairing.policy import today
from fupin.pairing.proposal import Proposal, proposal_apply, propose


class Command(BaseCommand):
    help = (
        "Propose responsible officials for every household in the pairing programme that has "
        "none, within the rank quotas and near each official's paired village; --apply writes "
        "the pairings (with their history). Prints the figures and the shortfall."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--division", default="", help="12-digit division code (its subtree)")
        parser.add_argument("--apply", action="store_true", help="write the proposed pairings")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        division = None
        if options["division"]:
            division = division_get_by_code(options["division"])
            if division is None:
                raise CommandError(f"Unknown division code {options['division']}.")
        day = today()
        try:
            if options["apply"]:
                proposal = proposal_apply(
                    actor=None,
                    source=ChangeSource.command("propose-pairing"),
                    division=division,
                    day=day,
                )
            else:
                proposal = propose(division=division, day=day)
        except DatabaseError as exc:
            raise CommandError(f"The pairings could not be written: {exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps(proposal.summary(), ensure_ascii=False, indent=2))
        else:
            self._print(proposal, applied=options["apply"])

    def _print(self, p: Proposal, *, applied: bool) -> None:
        out = self.stdout.write
        out(f"Scope: {p.division_code or 'all divisions'} on {p.day.isoformat()}")
        out(f"Officials: {p.officials:,} ({p.officials_used:,} get new households)")
        out(
            f"Households without a responsible official: {p.households:,}; "
            f"free places: {p.free_places:,}; matched: {p.matched:,}; shortfall: {p.shortfall:,}"
        )
        out(
            f"Orphans without an official: {p.orphans:,}; free places: {p.free_orphan_places:,}; "
            f"matched: {p.orphans_matched:,}; shortfall: {p.orphan_shortfall:,}"
        )
        out("Matched by distance: " + ", ".join(f"{k} {v:,}" for k, v in p.by_level.items()))
        for c in p.counties:
            out(
                f"  {c.code} {c.name}: {c.households:,} households, {c.matched:,} matched, "
                f"shortfall {c.shortfall:,}; orphans {c.orphans:,}/{c.orphans_matched:,}"
            )
        verb = "Applied" if applied else "Proposed (nothing written; --apply writes)"
        out(
            f"{verb}: {p.applied if applied else p.matched + p.orphans_matched:,} pairings in {p.seconds:.2f} s"
        )
