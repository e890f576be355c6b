"""Loading the division tree from the CSV of exchange-format §7."""

import csv
import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from fupin.core.audit import ChangeSource, audit_record
from fupin.divisions.models import LEVEL_RANK, Division, DivisionChange, Level

_CODE = re.compile(r"^[0-9]{12}$")
REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")


@dataclass(frozen=True)
class RowError:
    file: str
    row: int
    column: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}, row {self.row}, column {self.column}: {self.message} [{self.code}]"


class DivisionFileError(Exception):
    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class LoadResult:
    created: int
    updated: int
    unchanged: int


def _read_rows(path: Path) -> tuple[list[dict[str, str]], list[RowError]]:
    name = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = path.read_bytes().decode("gb18030")
        except UnicodeDecodeError:
            return [], [RowError(name, 1, "-", "bad_encoding", _("The file is neither UTF-8 nor GB18030."))]
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [
            RowError(name, 1, c, "missing_column", _("Required column %(column)s is missing.") % {"column": c})
            for c in missing
        ]
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    return rows, []


def divisions_load_csv(path: Path, *, actor: Any = None, valid_from: dt.date | None = None) -> LoadResult:
    """Upsert divisions from a ``code,name,level,parent_code`` CSV, all rows or none.

    A division whose name, level or parent changes keeps the old value in its history; paths
    of the whole tree are recomputed. Raises DivisionFileError with every located error.
    """
    rows, errors = _read_rows(path)
    if errors:
        raise DivisionFileError(errors)
    name = path.name
    existing = {d.code: d for d in Division.objects.all()}
    file_levels: dict[str, str] = {}
    seen: set[str] = set()
    for number, row in enumerate(rows, start=2):
        code, level = row.get("code", ""), row.get("level", "")
        if not _CODE.match(code):
            errors.append(RowError(name, number, "code", "bad_format", _("A division code has 12 digits.")))
            continue
        if code in seen:
            errors.append(RowError(name, number, "code", "duplicate", _("This code appears twice in the file.")))
        seen.add(code)
        if not 1 <= len(row.get("name", "")) <= 50:
            errors.append(RowError(name, number, "name", "required", _("A name of 1 to 50 characters is required.")))
        if level not in LEVEL_RANK:
            errors.append(RowError(name, number, "level", "bad_code", _("Level must be one of: %(levels)s.") % {"levels": ", ".join(LEVEL_RANK)}))
        file_levels[code] = level
    for number, row in enumerate(rows, start=2):
        code, parent_code = row.get("code", ""), row.get("parent_code", "")
        if not _CODE.match(code) or row.get("level") not in LEVEL_RANK:
            continue
        if not parent_code:
            if row["level"] not in (Level.PROVINCE, Level.CITY):
                errors.append(RowError(name, number, "parent_code", "required", _("Only the root division may have no parent.")))
            continue
        parent_level = file_levels.get(parent_code) or (existing[parent_code].level if parent_code in existing else None)
        if parent_level is None:
            errors.append(RowError(name, number, "parent_code", "unknown_division", _("The parent code is neither in the file nor in the registry.")))
        elif LEVEL_RANK.get(parent_level, 99) >= LEVEL_RANK[row["level"]]:
            errors.append(RowError(name, number, "parent_code", "bad_level", _("The parent must be of a higher level than the division.")))
    if errors:
        raise DivisionFileError(errors)
    return _apply(rows, existing, name, actor, valid_from)


@transaction.atomic
def _apply(
    rows: list[dict[str, str]], existing: dict[str, Division], file_name: str, actor: Any,
    valid_from: dt.date | None,
) -> LoadResult:
    created = updated = 0
    changes: list[DivisionChange] = []
    by_code = dict(existing)
    new_rows = [r for r in rows if r["code"] not in existing]
    # Create new divisions with a temporary unique path; real paths are computed below.
    fresh = [
        Division(code=r["code"], name=r["name"], level=r["level"], path=f"~{r['code']}/", valid_from=valid_from)
        for r in new_rows
    ]
    Division.objects.bulk_create(fresh, batch_size=2000)
    for d in Division.objects.filter(code__in=[r["code"] for r in new_rows]):
        by_code[d.code] = d
    created = len(fresh)
    dirty: dict[str, Division] = {}
    for r in rows:
        d = by_code[r["code"]]
        parent = by_code.get(r["parent_code"]) if r["parent_code"] else None
        if r["code"] in existing:
            for field, new in (("name", r["name"]), ("level", r["level"]), ("parent", r["parent_code"])):
                old = (d.parent.code if d.parent_id and d.parent else "") if field == "parent" else getattr(d, field)
                if old != new:
                    changes.append(DivisionChange(division=d, field=field, old_value=old, new_value=new, source_file=file_name))
            if d.name != r["name"] or d.level != r["level"] or d.parent_id != (parent.pk if parent else None):
                updated += 1
        d.name, d.level, d.parent = r["name"], r["level"], parent
        dirty[d.code] = d
    Division.objects.bulk_update(list(dirty.values()), ["name", "level", "parent"], batch_size=2000)
    DivisionChange.objects.bulk_create(changes)
    _recompute_paths()
    if created or updated:
        audit_record(
            actor=actor, action="divisions.load", entity="division", entity_key=file_name,
            source=ChangeSource.command("load-divisions"),
            after={"created": created, "updated": updated},
        )
    return LoadResult(created=created, updated=updated, unchanged=len(rows) - created - updated)


def _recompute_paths() -> None:
    nodes = list(Division.objects.only("id", "code", "parent_id", "path"))
    by_id = {n.pk: n for n in nodes}
    computed: dict[int, str] = {}

    def path_of(node: Division) -> str:
        if node.pk in computed:
            return computed[node.pk]
        chain = []
        current: Division | None = node
        while current is not None and current.pk not in computed:
            chain.append(current)
            current = by_id.get(current.parent_id) if current.parent_id else None
        prefix = computed[current.pk] if current is not None else ""
        for item in reversed(chain):
            prefix = f"{prefix}{item.code}/"
            computed[item.pk] = prefix
        return computed[node.pk]

    changed = [n for n in nodes if path_of(n) != n.path]
    if not changed:
        return
    # Two steps keep the unique index satisfied while paths move.
    for n in changed:
        n.path = f"~{n.pk}~"
    Division.objects.bulk_update(changed, ["path"], batch_size=2000)
    for n in changed:
        n.path = computed[n.pk]
    Division.objects.bulk_update(changed, ["path"], batch_size=2000)
