"""Import of an exchange package into the registry (exchange-format §5): read, validate,
compare, write, report.

``import_package`` reads the package (``package.read_package``), checks it across rows and
against the registry (``import_validate``), and applies the households that may be applied
with the registry's bulk writer (``registry.bulk``), in batches of whole households:

- ``strict`` (default): any error rejects the package; otherwise every batch is written in
  ONE transaction, so a crash or a kill leaves the registry as before or as after;
- ``partial``: households with any error (their row, any member row, or a move from a rejected
  household) are rejected whole; each batch of the others is one transaction, so each
  household is all or nothing, and running the import again completes it;
- ``dry_run``: everything but the writes. In strict mode with errors the counts are what would
  have happened.

People who move between two households of the package are in the same batch as both
households, so the old row leaves before the new row joins. Importing the same package twice
writes nothing the second time, not even history.
"""

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from fupin.core.audit import ChangeSource, audit_record
from fupin.core.bulk import bulk_session
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET
from fupin.exchange.import_validate import Validation, validate_package
from fupin.exchange.parsed import ParsedPackage
from fupin.exchange.report import ImportReport
from fupin.registry.bulk import (
    HOUSEHOLD_SCHEMA,
    MEMBER_SCHEMA,
    BulkCounts,
    registry_bulk_upsert,
)

MODES = ("strict", "partial")
BATCH_HOUSEHOLDS = 5_000
# SQLite's page cache while an import writes (KiB): big enough for the indexes of a city's
# members, small enough for the import to stay within its memory budget (it counts as the
# process's memory).
SQLITE_CACHE_KIB = 131_072

Progress = Callable[[str, int, int], None]


def import_package(
    path: Path,
    *,
    actor: Any,
    mode: str = "strict",
    dry_run: bool = False,
    progress: Progress | None = None,
    file_name: str | None = None,
    batch_households: int = BATCH_HOUSEHOLDS,
) -> ImportReport:
    """Import the package at ``path`` as ``actor`` (None: the operator on the command line,
    with the whole registry in scope) and report.

    ``progress(stage, done, total)`` is called for the stages "read", "validate" and "write"
    (households written; "compare" instead when nothing is written).
    ``file_name`` names the file in the history (default: the package's own name). Raises
    ``PackageUnreadable`` when the package cannot be read at all.
    """
    from fupin.exchange.package import read_package

    if mode not in MODES:
        msg = f"mode must be one of {MODES}, not {mode!r}"
        raise ValueError(msg)
    started = time.perf_counter()
    say: Progress = progress or (lambda _stage, _done, _total: None)
    package = read_package(Path(path), progress=lambda done, total: say("read", done, total))
    return apply_package(
        package,
        actor=actor,
        mode=mode,
        dry_run=dry_run,
        progress=say,
        file_name=file_name,
        batch_households=batch_households,
        started=started,
    )


def apply_package(
    package: ParsedPackage,
    *,
    actor: Any,
    mode: str = "strict",
    dry_run: bool = False,
    progress: Progress | None = None,
    file_name: str | None = None,
    batch_households: int = BATCH_HOUSEHOLDS,
    started: float | None = None,
) -> ImportReport:
    """Validate and apply a package already read (see ``import_package``)."""
    started = time.perf_counter() if started is None else started
    say: Progress = progress or (lambda _stage, _done, _total: None)
    say("validate", 0, 1)
    validation = validate_package(package, actor=actor)
    say("validate", 1, 1)
    name = file_name or package.file_name
    source = ChangeSource.import_file(file_name=name, checksum=package.sha256)
    households, members = registry_frames(validation)
    keep = _absent_optional_columns(package)
    write = not dry_run and not (mode == "strict" and validation.errors)
    batches = _batches(households, members, validation.moves, batch_households)
    counts = BulkCounts()
    total = households.height
    with translation.override(settings.LANGUAGE_CODE):
        left_reason = gettext("not in the import file %(file)s") % {"file": name}

    def run(batch: tuple[pl.DataFrame, pl.DataFrame], *, write_batch: bool) -> None:
        counts.add(
            registry_bulk_upsert(
                actor=actor,
                source=source,
                households=batch[0],
                members=batch[1],
                left_reason=left_reason,
                keep=keep,
                write=write_batch,
            )
        )
        say(stage, counts_done(counts), total)

    # "write" when the batches are written, "compare" when they are only compared.
    stage = "write" if write else "compare"
    say(stage, 0, total)
    with bulk_session(SQLITE_CACHE_KIB):
        if write and mode == "strict":
            with transaction.atomic():
                for batch in batches:
                    run(batch, write_batch=True)
                _audit_import(
                    actor, source=source, name=name, mode=mode, counts=counts, validation=validation
                )
        elif write:
            for batch in batches:
                with transaction.atomic():
                    run(batch, write_batch=True)
            if counts.changed:
                with transaction.atomic():
                    _audit_import(
                        actor,
                        source=source,
                        name=name,
                        mode=mode,
                        counts=counts,
                        validation=validation,
                    )
        else:
            for batch in batches:
                run(batch, write_batch=False)
    return _report(
        package,
        validation,
        counts=counts,
        mode=mode,
        dry_run=dry_run,
        name=name,
        written=write,
        started=started,
    )


def counts_done(counts: BulkCounts) -> int:
    return counts.households_created + counts.households_updated + counts.households_unchanged


def registry_frames(validation: Validation) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The accepted rows in the registry's terms (registry.bulk's schemas)."""
    households = validation.households.select(
        [pl.col(key).cast(dtype) for key, dtype in HOUSEHOLD_SCHEMA.items()]
    )
    members = validation.members.select(
        [pl.col(key).cast(dtype) for key, dtype in MEMBER_SCHEMA.items()]
    )
    return households, members


def _absent_optional_columns(package: ParsedPackage) -> frozenset[str]:
    """Optional columns the file lacks: the registry keeps its values for them."""
    absent = {
        c.key
        for c in HOUSEHOLD_COLUMNS
        if not c.required and c.key not in package.households.present
    }
    absent |= {
        c.key for c in MEMBER_COLUMNS if not c.required and c.key not in package.members.present
    }
    return frozenset(absent)


def _batches(
    households: pl.DataFrame, members: pl.DataFrame, moves: pl.DataFrame, size: int
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Batches of about ``size`` whole households in file order; households linked by a move
    share a batch."""
    numbers: list[str] = households["household_no"].to_list()
    position = {number: i for i, number in enumerate(numbers)}
    parent: dict[int, int] = {}

    def root(i: int) -> int:
        while parent.get(i, i) != i:
            parent[i] = parent.get(parent[i], parent[i])
            i = parent[i]
        return i

    for source, target in moves.select("from_household_no", "to_household_no").iter_rows():
        a, b = root(position[source]), root(position[target])
        if a != b:
            parent[max(a, b)] = min(a, b)  # a component's root is its first household
    group = [root(i) for i in range(len(numbers))]
    order = sorted(range(len(numbers)), key=lambda i: (group[i], i))
    batch_of = [0] * len(numbers)
    batch, filled = 0, 0
    for k, i in enumerate(order):
        if filled >= size and group[i] != group[order[k - 1]]:
            batch, filled = batch + 1, 0
        batch_of[i] = batch
        filled += 1
    if not numbers:
        return
    # Filtered batch by batch: a copy of one batch at a time, not of the whole package.
    household_batch = pl.Series("_batch", batch_of, dtype=pl.Int64)
    index = pl.DataFrame({"household_no": numbers, "_batch": household_batch})
    member_batch = (
        members.select("household_no")
        .join(index, on="household_no", how="left", maintain_order="left")
        .get_column("_batch")
    )
    for key in range(batch + 1):
        yield households.filter(household_batch == key), members.filter(member_batch == key)


def _audit_import(
    actor: Any,
    *,
    source: ChangeSource,
    name: str,
    mode: str,
    counts: BulkCounts,
    validation: Validation,
) -> None:
    """One event for the import as a whole, when it changed something."""
    if not counts.changed:
        return
    audit_record(
        actor=actor,
        action="import",
        entity="registry",
        entity_key=name[:64],
        division_path=_common_path(validation.households["division_path"]),
        source=source,
        after={
            "mode": mode,
            "households_created": counts.households_created,
            "households_updated": counts.households_updated,
            "households_unchanged": counts.households_unchanged,
            "households_rejected": validation.rejected_households,
            "members_created": counts.members_created,
            "members_updated": counts.members_updated,
            "members_left": counts.members_left,
            "members_rejected": validation.rejected_members,
        },
    )


def _common_path(paths: pl.Series) -> str:
    """The deepest division holding every imported household (for the audit trail's scope)."""
    paths = paths.drop_nulls()
    if paths.is_empty():
        return ""
    low, high = str(paths.min()), str(paths.max())
    common = ""
    for a, b in zip(low.split("/"), high.split("/"), strict=False):
        if a != b or not a:
            break
        common += a + "/"
    return common


def _rejected_rows(package: ParsedPackage, validation: Validation) -> dict[str, list[int]]:
    """The Excel rows not applied because of errors: the rows of rejected households (all
    of them, unless the whole package was rejected) and every row with an error."""
    out: dict[str, set[int]] = {HOUSEHOLD_SHEET: set(), MEMBER_SHEET: set()}
    for issue in validation.errors:
        if issue.row > 1:
            out.setdefault(issue.sheet, set()).add(issue.row)
    if not validation.package_rejected and validation.rejected:
        rejected = sorted(validation.rejected)
        for sheet in (package.households, package.members):
            rows = sheet.rows.filter(pl.col("household_no").is_in(rejected))["_row"].to_list()
            out[sheet.name].update(rows)
    return {sheet: sorted(rows) for sheet, rows in out.items()}


def _report(
    package: ParsedPackage,
    validation: Validation,
    *,
    counts: BulkCounts,
    mode: str,
    dry_run: bool,
    name: str,
    written: bool,
    started: float,
) -> ImportReport:
    return ImportReport(
        ok=not validation.errors,
        mode=mode,
        dry_run=dry_run,
        encoding=package.encoding,
        households={
            "created": counts.households_created,
            "updated": counts.households_updated,
            "unchanged": counts.households_unchanged,
            "rejected": validation.rejected_households,
        },
        members={
            "created": counts.members_created,
            "updated": counts.members_updated,
            "unchanged": counts.members_unchanged,
            "left": counts.members_left,
            "rejected": validation.rejected_members,
        },
        errors=validation.errors,
        warnings=validation.warnings,
        file_name=name,
        sha256=package.sha256,
        container=package.container,
        seconds=time.perf_counter() - started,
        applied=written and counts.changed,
        moved=counts.members_moved,
        rejected_rows=_rejected_rows(package, validation) if validation.errors else {},
    )
