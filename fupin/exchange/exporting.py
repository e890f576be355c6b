"""Export of the registry in exchange format v1 (shared/exchange-format.md §8).

``export_registry`` writes the households and their active members of the actor's area (or of
one division in it), optionally only those changed since a time and one survey year, as one
XLSX workbook or two CSV files (a folder, or a ZIP), masks personal data for people without the
right to see it, and audits the export. What the cells hold, and why, is in ``export_cells``;
how the rows are read, in ``export_query``; the files around them, in ``export_files`` and
``export_zip``.

Files appear complete or not at all: each is written under a temporary name next to its place
and renamed at the end. They are readable by their owner only (mode 0600): they hold personal
data.
"""

import datetime as dt
import os
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from django.utils import timezone

from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.code_lists import CodeList, code_lists
from fupin.core.errors import PermissionDenied
from fupin.divisions.models import Division
from fupin.exchange.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_CSV,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_CSV,
    MEMBER_SHEET,
)
from fupin.exchange.export_cells import CsvCells, Dialect, XlsxCells
from fupin.exchange.export_files import XLSX_MAX_ROWS, CsvFile, XlsxBook
from fupin.exchange.export_query import (
    LABEL_LISTS,
    ExportSql,
    Reader,
    Selection,
    Sheet,
    Snapshot,
    read_snapshot,
)
from fupin.exchange.export_zip import DeflatedMember, ZipWriter

FORMATS = ("xlsx", "csv")
_POLL_SECONDS = 0.2

Progress = Callable[[str, int, int], None]


@dataclass
class ExportResult:
    households: int
    members: int
    files: list[Path]
    path: Path


class ExportError(ValueError):
    """An export that cannot be made: a bad argument or a path that cannot be written. The
    message is Chinese, for the person who asked, with a short English gloss."""


class UnknownDivisionError(ExportError, LookupError):
    """The division does not exist or lies outside the actor's area (both look the same)."""


def export_registry(
    path: Path,
    *,
    actor: Any | None,
    fmt: str = "xlsx",
    division_code: str = "",
    since: dt.datetime | None = None,
    year: int | None = None,
    masked: bool | None = None,
    progress: Progress | None = None,
    source: ChangeSource | None = None,
) -> ExportResult:
    """Export the registry (exchange-format §8) to ``path`` and audit it.

    ``actor`` None is the operator on the command line (the whole registry); a user exports their
    own area only, and ``division_code`` outside it is unknown (``UnknownDivisionError``).
    ``masked`` None masks id numbers and phones unless the actor may see personal data in all of
    the exported area; False for an actor without that right raises ``PermissionDenied``.
    ``fmt`` "xlsx" writes one workbook; "csv" a ZIP when ``path`` ends with .zip, else a folder
    holding households.csv and members.csv. ``progress(stage, done, total)`` is called per
    chunk for the stages "households" and "members".
    """
    path = Path(path)
    if fmt not in FORMATS:
        raise ExportError(f"未知的导出格式 {fmt!r}，应为 xlsx 或 csv (unknown format)")
    if year is not None and not 1900 <= year <= 9999:
        raise ExportError(f"年度 {year} 不正确 (bad year)")
    if since is not None and timezone.is_naive(since):
        since = timezone.make_aware(since)
    paths = _export_paths(actor, division_code)
    masked = _decide_masked(actor, masked, paths)
    container = "xlsx" if fmt == "xlsx" else ("zip" if path.suffix.lower() == ".zip" else "folder")
    _check_target(path, container)
    labels = code_lists(*LABEL_LISTS)
    selection = Selection(paths, since, year)

    with read_snapshot() as snapshot:
        run = _Run(snapshot, labels, selection, masked, progress)
        try:
            files = _write(run, fmt, path, container)
        except OSError as exc:
            raise ExportError(f"无法写入 {path}：{exc.strerror or exc} (cannot write)") from exc

    audit_record(
        actor=actor,
        action="export",
        entity="registry",
        entity_key=path.name[:64],
        division_path=_audit_path(paths),
        source=source or ChangeSource.command("export"),
        after={
            "format": fmt,
            "container": container,
            "file_name": path.name,
            "division_code": division_code,
            "since": since.isoformat() if since else None,
            "year": year,
            "masked": masked,
            "households": run.written["households"],
            "members": run.written["members"],
        },
    )
    return ExportResult(
        households=run.written["households"],
        members=run.written["members"],
        files=files,
        path=path,
    )


# --- Who may export what -----------------------------------------------------------------------


def _export_paths(actor: Any | None, division_code: str) -> tuple[str, ...] | None:
    """The division subtrees to export; None for the whole registry (the operator)."""
    scope = actor_scope(actor) if actor is not None else None
    if division_code:
        path = Division.objects.filter(code=division_code).values_list("path", flat=True).first()
        if path is None or (scope is not None and not scope.can_see(path)):
            raise UnknownDivisionError(
                f"行政区划代码 {division_code} 不存在或不在您的管辖范围内 (unknown division)"
            )
        return (path,)
    if scope is None:
        return None
    if scope.is_empty:
        raise PermissionDenied("您没有可以导出的区划范围 (no area to export)")
    return tuple(scope.paths())


def _decide_masked(actor: Any | None, masked: bool | None, paths: tuple[str, ...] | None) -> bool:
    if actor is None:
        return bool(masked)
    scope = actor_scope(actor)
    personal = bool(paths) and all(scope.can_see_personal_data(p) for p in paths or ())
    if masked is None:
        return not personal
    if not masked and not personal:
        raise PermissionDenied(
            "您的角色不能导出未屏蔽的证件号码和电话 (your role may not export personal data)"
        )
    return masked


def _audit_path(paths: tuple[str, ...] | None) -> str:
    """The deepest division containing every exported subtree, for the audit trail."""
    if paths is None:
        paths = tuple(Division.objects.filter(parent=None).values_list("path", flat=True))
    return common_path(paths)


def common_path(paths: Sequence[str]) -> str:
    """The deepest division path containing all of ``paths`` ("" when they share no root)."""
    if not paths:
        return ""
    common = paths[0].split("/")[:-1]
    for path in paths[1:]:
        codes = path.split("/")[:-1]
        while codes[: len(common)] != common:
            common = common[:-1]
    return "/".join(common) + "/" if common else ""


# --- Writing ------------------------------------------------------------------------------------


class RowSink(Protocol):
    """A sheet's file: rendered rows in, as UTF-8 with their count."""

    def write(self, text: bytes, rows: int) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Task:
    """One sheet being written: rendered rows from ``reader`` into ``out``."""

    stage: str
    sheet: Sheet
    reader: Reader
    out: RowSink
    done: int = 0


class _Run:
    """One export while it writes: the snapshot, what to select, the counts so far."""

    def __init__(
        self,
        snapshot: Snapshot,
        labels: dict[str, CodeList],
        selection: Selection,
        masked: bool,
        progress: Progress | None,
    ) -> None:
        self.snapshot = snapshot
        self.labels = labels
        self.selection = selection
        self.masked = masked
        self.say: Progress = progress or (lambda _stage, _done, _total: None)
        self.dialect = Dialect(snapshot.main.db.vendor)
        self.totals = {"households": 0, "members": 0}
        self.written = {"households": 0, "members": 0}
        self._stop = threading.Event()

    def statements(self, cells: CsvCells | XlsxCells) -> ExportSql:
        return ExportSql(self.snapshot.main.db, cells, self.selection)

    def count_households(self, sql: ExportSql, *, limit: int | None = None) -> None:
        self.totals["households"] = self.snapshot.main.count(sql.household_count())
        if limit is not None and self.totals["households"] >= limit:
            raise _too_many(self.totals["households"])

    def run(self, sql: ExportSql, outs: tuple[RowSink, RowSink], limit: int | None = None) -> None:
        """Write both sheets: at once on two threads when the snapshot allows, else in turn.

        Progress is reported from this thread only (a callback may use the database)."""
        readers = self.snapshot.sheets
        tasks = [
            _Task("households", sql.households(), readers[0], outs[0]),
            _Task("members", sql.members(), readers[1], outs[1]),
        ]
        self._report(tasks, start=True)
        if not self.snapshot.parallel:
            self.totals["members"] = self.snapshot.main.count(sql.member_count())
            for task in tasks:
                self._fill(task, limit, report=lambda: self._report(tasks))
            self._report(tasks)
            return
        errors: list[BaseException] = []
        threads = [
            threading.Thread(
                target=self._fill_on_thread,
                args=(task, limit, errors),
                name=f"export-{task.stage}",
                daemon=True,
            )
            for task in tasks
        ]
        for thread in threads:
            thread.start()
        try:
            # The member count (for progress and the XLSX limit) while the sheets are written.
            self.totals["members"] = self.snapshot.main.count(sql.member_count())
            if limit is not None and self.totals["members"] >= limit:
                raise _too_many(self.totals["members"])
            while alive := [t for t in threads if t.is_alive()]:
                alive[0].join(_POLL_SECONDS)
                self._report(tasks)
        finally:
            self._stop.set()
            for thread in threads:
                thread.join()
        if errors:
            raise errors[0]
        self._report(tasks)

    def _fill_on_thread(self, task: _Task, limit: int | None, errors: list[BaseException]) -> None:
        try:
            self._fill(task, limit)
        except BaseException as exc:  # raised again on the calling thread
            errors.append(exc)
            self._stop.set()

    def _fill(
        self, task: _Task, limit: int | None, report: Callable[[], None] | None = None
    ) -> None:
        try:
            for chunk in task.reader.chunks(task.sheet.statement, task.sheet.width):
                if self._stop.is_set():
                    raise _Stopped
                text, rows = task.sheet.render(chunk, task.done + 2)
                if limit is not None and task.done + rows >= limit:
                    raise _too_many(task.done + rows)
                task.out.write(text, rows)
                task.done += rows
                if report:
                    report()
        finally:
            task.out.close()

    def _report(self, tasks: list[_Task], *, start: bool = False) -> None:
        for task in tasks:
            if start or task.done != self.written[task.stage]:
                self.written[task.stage] = task.done
                total = max(self.totals[task.stage], task.done)
                self.say(task.stage, task.done, total)


class _Stopped(Exception):  # noqa: N818
    """A sheet stops because the other one failed."""


def _too_many(rows: int) -> ExportError:
    return ExportError(
        f"{rows:,} 行超过 XLSX 工作表的上限 {XLSX_MAX_ROWS - 1:,} 行，"
        "请改用 CSV 格式或按区划分别导出 (too many rows for XLSX; use CSV)"
    )


def _write(run: _Run, fmt: str, path: Path, container: str) -> list[Path]:
    """Write the files (under temporary names), then move them into place."""
    finished: list[tuple[Path, Path]] = []
    members: list[DeflatedMember] = []
    try:
        if container == "folder":
            path.mkdir(exist_ok=True)
            sql = run.statements(CsvCells(run.dialect, run.labels, masked=run.masked))
            run.count_households(sql)
            with (
                _new_file(path / HOUSEHOLD_CSV, finished) as households,
                _new_file(path / MEMBER_CSV, finished) as people,
            ):
                run.run(
                    sql,
                    (
                        CsvFile(households, HOUSEHOLD_COLUMNS),
                        CsvFile(people, MEMBER_COLUMNS),
                    ),
                )
        else:
            members = [DeflatedMember(path.parent), DeflatedMember(path.parent)]
            if container == "zip":
                sql = run.statements(CsvCells(run.dialect, run.labels, masked=run.masked))
                run.count_households(sql)
                run.run(
                    sql,
                    (
                        CsvFile(members[0], HOUSEHOLD_COLUMNS),
                        CsvFile(members[1], MEMBER_COLUMNS),
                    ),
                )
                with _new_file(path, finished) as handle, ZipWriter(handle) as archive:
                    archive.add_member(HOUSEHOLD_CSV, members[0])
                    archive.add_member(MEMBER_CSV, members[1])
            else:
                book = XlsxBook([HOUSEHOLD_SHEET, MEMBER_SHEET])
                sql = run.statements(
                    XlsxCells(run.dialect, run.labels, masked=run.masked, string=book.string)
                )
                run.count_households(sql, limit=XLSX_MAX_ROWS)
                run.run(
                    sql,
                    (
                        book.sheet(HOUSEHOLD_COLUMNS, members[0]),
                        book.sheet(MEMBER_COLUMNS, members[1]),
                    ),
                    limit=XLSX_MAX_ROWS,
                )
                with _new_file(path, finished) as handle, ZipWriter(handle) as archive:
                    book.write(archive, members)
    except BaseException:
        for temp, _target in finished:
            temp.unlink(missing_ok=True)
        raise
    finally:
        for member in members:
            member.discard()
    for temp, target in finished:
        temp.replace(target)
    return [path / HOUSEHOLD_CSV, path / MEMBER_CSV] if container == "folder" else [path]


@contextmanager
def _new_file(path: Path, finished: list[tuple[Path, Path]]) -> Iterator[IO[bytes]]:
    """A temporary file next to ``path``, listed in ``finished`` once written; removed on
    failure."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
            yield handle
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    finished.append((temp, path))


def _check_target(path: Path, container: str) -> None:
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"目录 {parent} 不存在 (no such directory)")
    if container == "folder":
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} 已存在且不是目录 (exists and is not a directory)")
        if not os.access(path if path.is_dir() else parent, os.W_OK):
            raise ExportError(f"无法写入 {path} (not writable)")
        return
    if path.is_dir():
        raise ExportError(f"{path} 是一个目录 (is a directory)")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ExportError(f"无法写入 {path} (not writable)")
