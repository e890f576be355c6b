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
            return [], [
                RowError(name, 1, "-", "bad_encoding", _("The file is neither UTF-8 nor GB18030."))
            ]
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [
            RowError(
                name,
                1,
                c,
                "missing_column",
                _("Required column %(column)s is missing.") % {"column": c},
            )
            for c in missing
        ]
    rows = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    return rows, []


def divisions_load_csv(
    path: Path, *, actor: Any = None, valid_from: dt.date | None = None
) -> LoadResult:
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
            errors.append(
                RowError(name, number, "code", "bad_format", _("A division code has 12 digits."))
            )
            continue
        if code in seen:
            errors.append(
                RowError(
                    name, number, "code", "duplicate", _("This code appears twice in the file.")
                )
            )
        seen.add(code)
        if not 1 <= len(row.get("name", "")) <= 50:
            errors.append(
                RowError(
                    name, number, "name", "required", _("A name of 1 to 50 characters is required.")
                )
            )
        if level not in LEVEL_RANK:
            errors.append(
                RowError(
                    name,
                    number,
                    "level",
                    "bad_code",
                    _("Level must be one of: %(levels)s.") % {"levels": ", ".join(LEVEL_RANK)},
                )
            )
        file_levels[code] = level
    for number, row in enumerate(rows, start=2):
        code, parent_code = row.get("code", ""), row.get("parent_code", "")
        if not _CODE.match(code) or row.get("level") not in LEVEL_RANK:
            continue
        if not parent_code:
            if row["level"] not in (Level.PROVINCE, Level.CITY):
                errors.append(
                    RowError(
                        name,
                        number,
                        "parent_code",
                        "required",
                        _("Only the root division may have no parent."),
                    )
                )
            continue
        parent_level = file_levels.get(parent_code) or (
            existing[parent_code].level if parent_code in existing else None
        )
        if parent_level is None:
            errors.append(
                RowError(
                    name,
                    number,
                    "parent_code",
                    "unknown_division",
                    _("The parent code is neither in the file nor in the registry."),
                )
            )
        elif LEVEL_RANK.get(parent_level, 99) >= LEVEL_RANK[row["level"]]:
            errors.append(
                RowError(
                    name,
                    number,
                    "parent_code",
                    "bad_level",
                    _("The parent must be of a higher level than the division."),
                )
            )
    if errors:
        raise DivisionFileError(errors)
    return _apply(rows, existing, name, actor, valid_from)


@transaction.atomic
def _apply(
    rows: list[dict[str, str]],
    existing: dict[str, Division],
    file_name: str,
    actor: Any,
    valid_from: dt.date | None,
) -> LoadResult:
    parent_of = {
        code: (d.parent.code if d.parent_id and d.parent else "")
        for code, d in Division.objects.select_related("parent").in_bulk(field_name="code").items()
    }
    old_parent = dict(parent_of)
    for r in rows:
        parent_of[r["code"]] = r["parent_code"]
    paths: dict[str, str] = {}

    def path_of(code: str) -> str:
        chain = []
        while code and code not in paths:
            chain.append(code)
            code = parent_of.get(code, "")
        prefix = paths.get(code, "")
        for item in reversed(chain):
            prefix = f"{prefix}{item}/"
            paths[item] = prefix
        return prefix

    for code in parent_of:
        path_of(code)
    changes: list[DivisionChange] = []
    updated = 0
    for r in rows:
        d = existing.get(r["code"])
        if d is None:
            continue
        diffs = [
            (f, old, new)
            for f, old, new in (
                ("name", d.name, r["name"]),
                ("level", d.level, r["level"]),
                ("parent", old_parent.get(r["code"], ""), r["parent_code"]),
            )
            if old != new
        ]
        changes.extend(
            DivisionChange(division=d, field=f, old_value=old, new_value=new, source_file=file_name)
            for f, old, new in diffs
        )
        updated += bool(diffs)
        d.name, d.level = r["name"], r["level"]
    fresh = sorted(
        (r for r in rows if r["code"] not in existing), key=lambda r: paths[r["code"]].count("/")
    )
    ids = {code: d.pk for code, d in existing.items()}
    # Create level by level so that every new division gets its parent at once.
    for depth in sorted({paths[r["code"]].count("/") for r in fresh}):
        batch = [
            Division(
                code=r["code"],
                name=r["name"],
                level=r["level"],
                path=paths[r["code"]],
                parent_id=ids.get(r["parent_code"]),
                valid_from=valid_from,
            )
            for r in fresh
            if paths[r["code"]].count("/") == depth
        ]
        Division.objects.bulk_create(batch, batch_size=2000)
        ids.update(
            Division.objects.filter(code__in=[d.code for d in batch]).values_list("code", "pk")
        )
    by_code = Division.objects.in_bulk(field_name="code")
    dirty = []
    for code, d in by_code.items():
        parent = by_code.get(parent_of.get(code, ""))
        parent_id = parent.pk if parent else None
        row_changed = code in existing and (
            d.name != existing[code].name or d.level != existing[code].level
        )
        if d.parent_id != parent_id or d.path != paths[code] or row_changed:
            if code in existing:
                d.name, d.level = existing[code].name, existing[code].level
            d.parent_id = parent_id
            dirty.append(d)
    moved = [d for d in dirty if d.path != paths[d.code]]
    # Two steps keep the unique path index satisfied while paths move.
    for d in moved:
        d.path = f"~{d.pk}~"
    Division.objects.bulk_update(moved, ["path"], batch_size=1000)
    for d in dirty:
        d.path = paths[d.code]
    Division.objects.bulk_update(dirty, ["name", "level", "parent", "path"], batch_size=1000)
    DivisionChange.objects.bulk_create(changes)
    created = len(fresh)
    if created or updated:
        audit_record(
            actor=actor,
            action="divisions.load",
            entity="division",
            entity_key=file_name,
            source=ChangeSource.command("load-divisions"),
            after={"created": created, "updated": updated},
        )
    return LoadResult(created=created, updated=updated, unchanged=len(rows) - created - updated)
