"""Reading an exchange package (exchange-format §1–§4): its container, its safety, its text, its
headers, and then its cells typed (``import_cells``). The decisions are in docs/import.md,
"Reading packages".

``read_package(path)`` gives a ``ParsedPackage`` (parsed.py): each sheet as one polars frame of
typed values plus the issues found cell by cell, or raises ``PackageUnreadable`` when there is
nothing sensible to read. ``read_raw_rows`` reads chosen rows again as the file holds them, for
the error workbook.

- Containers are told by their first bytes, not their names: an XLSX workbook (a ZIP holding
  ``xl/workbook.xml``), a ZIP of households.csv and members.csv (at its top, or in its one
  top folder), a folder holding both.
- Every ZIP is checked before it is read: total and per-member sizes as declared, compression
  ratio, and the bytes actually unpacked are counted against the same cap while reading
  (``IMPORT_MAX_UNCOMPRESSED_BYTES``, ``IMPORT_MAX_COMPRESSION_RATIO``). Workbook parts are
  refused when they declare a DTD or entities.
- CSV: UTF-8 (with or without a byte order mark) or GB18030, never guessed lossily; RFC 4180
  quoting checked with numpy before polars parses the file on all cores.
- XLSX: the worksheets are parsed streaming by ``import_xlsx`` (numpy over the bytes of each
  chunk of rows), not calamine, which holds a whole sheet in memory (1.4 GB and 11 s for a
  million people, before Python sees a cell). Formulas and merged ranges are reported.
"""

import codecs
import hashlib
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import numpy as np
import polars as pl
from django.conf import settings

from fupin.exchange.columns import (
    HOUSEHOLD_COLUMNS,
    HOUSEHOLD_CSV,
    HOUSEHOLD_SHEET,
    MEMBER_COLUMNS,
    MEMBER_CSV,
    MEMBER_SHEET,
    Column,
    header_lookup,
)
from fupin.exchange.import_cells import (
    EXCEL_MAX_CHARS,
    FLAGGED,
    ROW,
    CellRules,
    cell_rules,
    header_key,
    normalise_text,
    type_sheet,
)
from fupin.exchange.import_issues import Issue, PackageUnreadable
from fupin.exchange.import_xlsx import (
    SheetParser,
    has_dtd,
    prefetched,
    shared_strings,
    xml_chunks,
)
from fupin.exchange.parsed import Container, ParsedPackage, ParsedSheet

Progress = Callable[[int, int], None]

SHEETS = (HOUSEHOLD_SHEET, MEMBER_SHEET)
SHEET_COLUMNS = {HOUSEHOLD_SHEET: HOUSEHOLD_COLUMNS, MEMBER_SHEET: MEMBER_COLUMNS}
SHEET_FILES = {HOUSEHOLD_SHEET: HOUSEHOLD_CSV, MEMBER_SHEET: MEMBER_CSV}
# Sheet names accepted besides the Chinese ones (as the CSV files are named).
SHEET_ALIASES = {"households": HOUSEHOLD_SHEET, "members": MEMBER_SHEET}

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls, or an encrypted .xlsx
RATIO_FLOOR = 1 << 20  # members smaller than this (unpacked) are not checked for their ratio
READ_BLOCK = 16 << 20  # bytes read (or decoded) at a time
XML_PART_LIMIT = 64 << 20  # workbook.xml, styles and relationships are read whole
CELL_TEXT_LIMIT = EXCEL_MAX_CHARS  # read_raw_rows cuts cells here


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- Entry points -----------------------------------------------------------------------------


def read_package(
    path: Path, *, progress: Progress | None = None, rules: CellRules | None = None
) -> ParsedPackage:
    """Read and type the package at ``path`` (exchange-format §1–§4, §6).

    ``progress(done, total)`` is called now and then (bytes read of the sheets' size).
    ``rules`` default to the code lists in the database. Raises ``PackageUnreadable``.
    """
    say = progress or (lambda _done, _total: None)
    with open_package(Path(path)) as package:
        rules = rules or cell_rules()
        sheets: list[ParsedSheet] = []
        for name in SHEETS:
            raw = package.sheet(name, say)
            sheets.append(_typed_sheet(raw, rules))
        say(package.total, package.total)
        return ParsedPackage(
            file_name=package.file_name,
            sha256=package.sha256(),
            container=package.container,
            encoding=package.encoding,
            households=sheets[0],
            members=sheets[1],
        )


def read_raw_rows(path: Path, sheet: str, rows: set[int]) -> tuple[list[str], list[list[str]]]:
    """The header cells of ``sheet`` (户信息 or 成员信息) as the file holds them, and the cell
    texts of the given Excel rows in row order (each padded to the header's width; a row the
    sheet lacks comes back empty). Text is as the file shows it, untrimmed and untyped; CSV
    quoting and the export's apostrophe are removed, XLSX numbers read as Excel shows them.
    """
    wanted = sorted(rows)
    with open_package(Path(path)) as package:
        raw = package.sheet(sheet, lambda _d, _t: None, keep_rows={r for r in wanted if r > 1})
    width = len(raw.headers)
    names = [f"c{i}" for i in range(width)]
    found: dict[int, list[str]] = {1: [h[:CELL_TEXT_LIMIT] for h in raw.headers]}
    for row in raw.frame.iter_rows(named=True):
        found[row[ROW]] = [(row.get(n) or "")[:CELL_TEXT_LIMIT] for n in names]
    empty = [""] * width
    return list(raw.headers), [found.get(r, empty) for r in wanted]


# --- Sheets as text, then typed ---------------------------------------------------------------


@dataclass
class RawSheet:
    """One sheet as text: its header cells, and its data rows as ``_row`` plus ``c0``, ``c1`` …
    (one String column per header cell, null when empty); cells the container reader found
    wrong (a formula, a merged range) are listed in ``flagged`` as (row, column index)."""

    name: str
    file: str
    headers: list[str]
    frame: pl.DataFrame
    flagged: list[tuple[int, int]] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)


def _typed_sheet(raw: RawSheet, rules: CellRules) -> ParsedSheet:
    columns = SHEET_COLUMNS[raw.name]
    keyed, present, errors, warnings = _keyed(raw, columns)
    typed = type_sheet(keyed, sheet=raw.name, columns=columns, rules=rules)
    order = {c.zh: i for i, c in enumerate(columns)}
    cell_errors = [i for i in typed.errors if i.code != "too_many_errors"]
    tail = [i for i in typed.errors if i.code == "too_many_errors"]
    located = sorted(
        [*errors, *cell_errors], key=lambda i: (i.row, order.get(i.column, len(order)))
    )
    return ParsedSheet(
        name=raw.name,
        file=raw.file,
        rows=typed.rows,
        present=frozenset(present),
        errors=located + tail,
        warnings=[*raw.warnings, *warnings],
    )


def _keyed(
    raw: RawSheet, columns: Sequence[Column]
) -> tuple[pl.DataFrame, list[str], list[Issue], list[Issue]]:
    """The frame with a column per recognised header (named by key, the first of duplicates),
    the keys present, and the header and flagged-cell issues (their cells made ``FLAGGED``)."""
    lookup = header_lookup(tuple(columns))
    errors: list[Issue] = []
    warnings: list[Issue] = []
    chosen: dict[str, int] = {}
    for index, text in enumerate(raw.headers):
        if not normalise_text(text):
            continue  # a column without a header is not read
        column = header_key(text, lookup)
        if column is None:
            warnings.append(
                Issue(raw.name, 1, normalise_text(text)[:50], "unknown_column", text[:50])
            )
        elif column.key in chosen:
            errors.append(Issue(raw.name, 1, column.zh, "duplicate_column", text[:50]))
        else:
            chosen[column.key] = index
    errors.extend(
        Issue(raw.name, 1, column.zh, "missing_column")
        for column in columns
        if column.required and column.key not in chosen
    )
    by_index = {index: key for key, index in chosen.items()}
    zh = {c.key: c.zh for c in columns}
    flagged: dict[str, list[int]] = {}
    # Formulas and merged cells matter where a column is read: not in the header row, nor in
    # a column that is ignored.
    for row, index in sorted(set(raw.flagged)):
        key = by_index.get(index)
        if key and row > 1:
            errors.append(Issue(raw.name, row, zh[key], "bad_format"))
            flagged.setdefault(key, []).append(row)
    frame = raw.frame.select(
        pl.col(ROW).cast(pl.Int64),
        *(pl.col(f"c{index}").cast(pl.String).alias(key) for key, index in chosen.items()),
    )
    if flagged:
        frame = frame.with_columns(
            pl.when(pl.col(ROW).is_in(pl.Series(rows, dtype=pl.Int64).implode()))
            .then(pl.lit(FLAGGED))
            .otherwise(pl.col(key))
            .alias(key)
            for key, rows in flagged.items()
        )
    return frame, list(chosen), errors, warnings


# --- Containers -------------------------------------------------------------------------------


class Package:
    """An opened package: where each sheet comes from, and how to read it as text."""

    container: Container

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file_name = path.name
        self.total = 1  # bytes to read, for progress
        self.done = 0
        self._encodings: dict[str, str] = {}

    def sheet(
        self,
        name: str,
        progress: Progress,
        *,
        keep_rows: set[int] | None = None,
    ) -> RawSheet:
        raise NotImplementedError

    @property
    def encoding(self) -> str:
        return ""

    def sha256(self) -> str:
        return _sha256([self.path])

    def close(self) -> None:
        pass


def _sha256(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    return digest.hexdigest()


@contextmanager
def open_package(path: Path) -> Iterator[Package]:
    """The package at ``path``, told by its content; PackageUnreadable when it is none."""
    package = _open(path)
    try:
        yield package
    finally:
        package.close()


def _open(path: Path) -> Package:
    if not path.exists():
        raise PackageUnreadable("not_found", file=path.name)
    if path.is_dir():
        return _folder(path)
    with path.open("rb") as handle:
        head = handle.read(8)
    if not head:
        raise PackageUnreadable("empty", file=path.name)
    if head.startswith(ZIP_MAGIC):
        return _zip(path)
    if head.startswith(OLE_MAGIC):
        raise PackageUnreadable("unknown_container", "xls / encrypted workbook", file=path.name)
    if path.suffix.lower() == ".csv" or _looks_like_text(path):
        name = path.name.lower()
        other = MEMBER_CSV if name == HOUSEHOLD_CSV else HOUSEHOLD_CSV
        missing = other if name in (HOUSEHOLD_CSV, MEMBER_CSV) else f"{HOUSEHOLD_CSV}, {MEMBER_CSV}"
        raise PackageUnreadable("missing_sheet", missing, file=path.name)
    raise PackageUnreadable("unknown_container", file=path.name)


def _looks_like_text(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(4096)
    return b"\x00" not in head and (b"," in head or b"\n" in head)


def _folder(path: Path) -> Package:
    files = {p.name.lower(): p for p in path.iterdir() if p.is_file()}
    found = {name: files.get(name) for name in (HOUSEHOLD_CSV, MEMBER_CSV)}
    missing = [name for name, p in found.items() if p is None]
    if len(missing) == 2:
        raise PackageUnreadable("unknown_container", file=path.name)
    if missing:
        raise PackageUnreadable("missing_sheet", missing[0], file=path.name)
    return CsvPackage(path, "csv_folder", {n: p for n, p in found.items() if p is not None})


def _zip(path: Path) -> Package:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PackageUnreadable("damaged", type(exc).__name__, file=path.name) from None
    try:
        names = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        if any(n.lower() == "xl/workbook.xml" for n in names) or "[Content_Types].xml" in names:
            return XlsxPackage(path, archive)
        members = _csv_members(names)
        missing = [n for n in (HOUSEHOLD_CSV, MEMBER_CSV) if n not in members]
        if len(missing) == 2:
            raise PackageUnreadable("unknown_container", file=path.name)
        if missing:
            raise PackageUnreadable("missing_sheet", missing[0], file=path.name)
        return CsvPackage(path, "csv_zip", members, archive=archive)
    except BaseException:
        archive.close()
        raise


def _csv_members(names: dict[str, zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """households.csv and members.csv at the top of the ZIP, or in its single top folder (a
    folder zipped whole, as Windows' "send to compressed folder" does); macOS' resource forks
    are ignored."""
    real = {n: i for n, i in names.items() if not n.startswith("__MACOSX/")}
    top = {n.lower(): i for n, i in real.items() if "/" not in n}
    found = {f: top[f] for f in (HOUSEHOLD_CSV, MEMBER_CSV) if f in top}
    if found:
        return found
    folders = {n.split("/", 1)[0] for n in real if "/" in n}
    if len(folders) == 1 and not top:
        inner = {n.split("/", 1)[1].lower(): i for n, i in real.items() if n.count("/") == 1}
        return {f: inner[f] for f in (HOUSEHOLD_CSV, MEMBER_CSV) if f in inner}
    return {}


class _Limits:
    """The ZIP bomb caps (settings), and the bytes unpacked so far against them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.max_bytes = _setting("IMPORT_MAX_UNCOMPRESSED_BYTES", 2 * 1024**3)
        self.max_ratio = _setting("IMPORT_MAX_COMPRESSION_RATIO", 1000)
        self.unpacked = 0

    def check_declared(self, infos: Sequence[zipfile.ZipInfo]) -> None:
        total = sum(i.file_size for i in infos)
        if total > self.max_bytes:
            raise PackageUnreadable("zip_bomb", f"{total:,} bytes", file=self.file)
        for info in infos:
            if info.file_size > RATIO_FLOOR and (
                info.file_size > self.max_ratio * max(info.compress_size, 1)
            ):
                raise PackageUnreadable("zip_bomb", info.filename, file=self.file)

    def count(self, size: int, info: zipfile.ZipInfo) -> None:
        self.unpacked += size
        if self.unpacked > self.max_bytes:
            raise PackageUnreadable("zip_bomb", f"> {self.max_bytes:,} bytes", file=self.file)


# What reading a damaged member raises: a bad CRC, a truncated or corrupt deflate stream, an
# encrypted member, an unknown compression method.
_DAMAGE = (zipfile.BadZipFile, EOFError, OSError, zlib.error, RuntimeError, NotImplementedError)


@contextmanager
def _member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: _Limits
) -> Iterator["_Counted"]:
    try:
        stream = archive.open(info)
    except _DAMAGE as exc:
        raise PackageUnreadable("damaged", f"{info.filename}: {exc}", file=limits.file) from None
    with stream:
        yield _Counted(stream, info, limits)


class _Counted:
    """A member's stream whose bytes count against the cap (declared sizes can lie)."""

    def __init__(self, stream: IO[bytes], info: zipfile.ZipInfo, limits: _Limits) -> None:
        self._stream = stream
        self._info = info
        self._limits = limits

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            chunks = []
            while block := self.read(READ_BLOCK):
                chunks.append(block)
            return b"".join(chunks)
        try:
            data = self._stream.read(size)
        except _DAMAGE as exc:
            name = self._info.filename
            raise PackageUnreadable("damaged", f"{name}: {exc}", file=self._limits.file) from None
        self._limits.count(len(data), self._info)
        return data


# --- CSV ---------------------------------------------------------------------------------------


class CsvPackage(Package):
    def __init__(
        self,
        path: Path,
        container: Container,
        files: dict[str, Any],
        *,
        archive: zipfile.ZipFile | None = None,
    ) -> None:
        super().__init__(path)
        self.container = container
        self.files = files  # households.csv / members.csv → Path or ZipInfo
        self.archive = archive
        self.limits = _Limits(path.name)
        if archive is not None:
            self.limits.check_declared(list(files.values()))
            self.total = sum(i.file_size for i in files.values()) or 1
        else:
            self.total = sum(p.stat().st_size for p in files.values()) or 1

    @property
    def encoding(self) -> str:
        found = set(self._encodings.values())
        for name in ("gb18030", "utf-8-sig", "utf-8"):
            if name in found:
                return name
        return "utf-8"

    def sha256(self) -> str:
        if self.archive is not None:
            return _sha256([self.path])
        return _sha256([self.files[HOUSEHOLD_CSV], self.files[MEMBER_CSV]])

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()

    def _bytes(self, file: str) -> bytes:
        source = self.files[file]
        if self.archive is None:
            return Path(source).read_bytes()
        with _member(self.archive, source, self.limits) as stream:
            return stream.read()

    def sheet(
        self,
        name: str,
        progress: Progress,
        *,
        keep_rows: set[int] | None = None,
    ) -> RawSheet:
        file = SHEET_FILES[name]
        data = self._bytes(file)
        self.done += len(data)
        progress(min(self.done, self.total), self.total)
        encoding, text = decode_csv(data, file)
        del data
        self._encodings[file] = encoding
        headers, frame = parse_csv(text, file)
        if keep_rows is not None:
            frame = frame.filter(
                pl.col(ROW).is_in(pl.Series(sorted(keep_rows), dtype=pl.Int64).implode())
            )
        return RawSheet(name, file, headers, frame)


UTF8_BOM = codecs.BOM_UTF8
GB18030_BOM = b"\x84\x31\x95\x33"


def decode_csv(data: bytes, file: str) -> tuple[str, bytes]:
    """The encoding of a CSV file and its text as UTF-8 (the file itself when it is UTF-8).

    Valid UTF-8 is UTF-8; otherwise the file must decode as GB18030 without a single error,
    and hold no line that is UTF-8 Chinese (a file of both is refused, at the first row of the
    rarer kind). Decoded in blocks, so that no text object of the whole file is made."""
    skip, encoding = (len(UTF8_BOM), "utf-8-sig") if data.startswith(UTF8_BOM) else (0, "utf-8")
    bad = _first_invalid(data, skip, "utf-8")
    if bad is None:
        return encoding, data  # polars skips the byte order mark itself
    if encoding == "utf-8-sig":
        raise PackageUnreadable("encoding", _row_detail(data, bad), file=file)
    skip = len(GB18030_BOM) if data.startswith(GB18030_BOM) else 0
    out: list[bytes] = []
    bad_gb = _first_invalid(data, skip, "gb18030", out)
    if bad_gb is not None:
        # Neither: the encoding that reads further is the file's, broken where it stops.
        raise PackageUnreadable("encoding", _row_detail(data, max(bad, bad_gb)), file=file)
    mixed = _utf8_line(data)
    if mixed is not None:
        raise PackageUnreadable("encoding", _row_detail(data, mixed), file=file)
    return "gb18030", b"".join(out)


def _first_invalid(
    data: bytes, skip: int, encoding: str, out: list[bytes] | None = None
) -> int | None:
    """Where ``data`` (from ``skip``) stops being valid ``encoding``, or None; with ``out``,
    the text re-encoded as UTF-8 is appended there block by block."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    view = memoryview(data)
    for start in range(skip, max(len(data), skip + 1), READ_BLOCK):
        block = view[start : start + READ_BLOCK]
        final = start + READ_BLOCK >= len(data)
        pending = len(decoder.getstate()[0])  # bytes of the block before, not yet decoded
        try:
            text = decoder.decode(block, final)
        except UnicodeDecodeError as exc:
            return max(start - pending + exc.start, skip)
        if out is not None:
            out.append(text.encode("utf-8"))
    return None


_UTF8_CJK = re.compile(rb"[\xe0-\xef][\x80-\xbf][\x80-\xbf]")


def _utf8_line(data: bytes) -> int | None:
    """In a file that decodes as GB18030: where the rarer of its two kinds of lines starts, if
    some of its lines are UTF-8 Chinese (valid UTF-8 with 3-byte sequences) and others not;
    None when none is."""
    utf8_lines: list[int] = []
    seen: set[int] = set()
    for match in _UTF8_CJK.finditer(data):
        start = data.rfind(b"\n", 0, match.start()) + 1
        if start in seen:
            continue
        seen.add(start)
        end = data.find(b"\n", match.start())
        line = data[start : end if end >= 0 else len(data)]
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        utf8_lines.append(start)
    if not utf8_lines:
        return None
    others = []
    position = 0
    for line in data.split(b"\n"):
        if not line.isascii() and position not in seen:
            others.append(position)
        elif not line.isascii():
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                others.append(position)
        position += len(line) + 1
    if not others:
        return None
    return others[0] if len(others) <= len(utf8_lines) else utf8_lines[0]


def _row_detail(data: bytes, position: int) -> str:
    return f"第 {record_of(data, position)} 行"


def record_of(data: bytes, position: int) -> int:
    """The row (as Excel numbers them, from 1) holding the byte at ``position`` of a CSV file:
    line breaks inside quoted fields do not start rows."""
    quotes = positions(data, 34)
    breaks = _record_breaks(data, quotes)
    return int(np.searchsorted(breaks, position, side="left")) + 1


def positions(data: bytes, byte: int, block: int = 16 << 20) -> np.ndarray:
    """Where ``byte`` occurs in ``data``, found block by block (no temporary the size of the
    file)."""
    a = np.frombuffer(data, dtype=np.uint8)
    found = [
        np.flatnonzero(a[start : start + block] == byte) + start
        for start in range(0, a.size, block)
    ]
    return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)


def _lone_crs(data: bytes) -> np.ndarray:
    """CRs not followed by LF (old Mac line ends)."""
    if b"\r" not in data:
        return np.zeros(0, dtype=np.int64)
    cr = positions(data, 13)
    a = np.frombuffer(data, dtype=np.uint8)
    following = a[np.minimum(cr + 1, a.size - 1)]
    return np.asarray(cr[(following != 10) | (cr + 1 == a.size)])


def _record_breaks(data: bytes, quotes: np.ndarray) -> np.ndarray:
    """Positions of the line ends (LF, or a CR not followed by LF) outside quoted fields."""
    lf = positions(data, 10)
    cr = _lone_crs(data)
    ends = np.union1d(lf, cr) if cr.size else lf
    outside = np.searchsorted(quotes, ends) % 2 == 0
    return np.asarray(ends[outside])


def parse_csv(text: bytes, file: str) -> tuple[list[str], pl.DataFrame]:
    """The header cells and the data rows (``_row``, ``c0`` …) of a CSV file in UTF-8.

    RFC 4180 is checked first, so that a malformed file is refused at the row where it goes
    wrong: a quote may open a field only at its start and must close it before a comma or a
    line end (``""`` inside is a quote). Lone CRs (old Mac line ends) become LF."""
    a = np.frombuffer(text, dtype=np.uint8)
    quotes = positions(text, 34)
    _check_quotes(text, a, quotes, file)
    lone_cr = _lone_crs(text)
    lone_cr = lone_cr[np.searchsorted(quotes, lone_cr) % 2 == 0]
    if lone_cr.size:
        fixed = a.copy()
        fixed[lone_cr] = 10
        text = fixed.tobytes()
    if re.search(rb"[^\r\n]", text[len(UTF8_BOM) :] if text.startswith(UTF8_BOM) else text) is None:
        return [], _empty_frame(0)
    try:
        frame = pl.read_csv(
            text,
            has_header=False,
            infer_schema=False,
            quote_char='"',
            separator=",",
            truncate_ragged_lines=True,
            encoding="utf8",
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        raise PackageUnreadable("bad_csv", str(exc).split("\n", 1)[0][:200], file=file) from None
    width = frame.width
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)})
    frame = frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))
    # The export's apostrophe before a formula character (export_cells.csv_text), in the
    # columns that have one.
    names = [f"c{i}" for i in range(width)]
    quoted = frame.select(pl.col(names).str.starts_with("'").any()).row(0) if names else ()
    frame = frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^'[=+\-@']"))
        .then(pl.col(c).str.slice(1))
        .otherwise(pl.col(c))
        .alias(c)
        for c, has in zip(names, quoted, strict=True)
        if has
    )
    header_row = frame.head(1).row(0) if frame.height else ()
    headers = [str(v) if v is not None else "" for v in header_row[1:]]
    return headers, frame.slice(1)


def _empty_frame(width: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            ROW: pl.Series([], dtype=pl.Int64),
            **{f"c{i}": pl.Series([], dtype=pl.String) for i in range(width)},
        }
    )


def _check_quotes(text: bytes, a: np.ndarray, quotes: np.ndarray, file: str) -> None:
    if not quotes.size:
        return
    n = a.size
    index = np.arange(quotes.size)
    opening = index % 2 == 0
    before = np.where(quotes > 0, a[np.maximum(quotes - 1, 0)], 10)
    after = np.where(quotes + 1 < n, a[np.minimum(quotes + 1, n - 1)], 10)
    previous_quote = np.concatenate(([-2], quotes[:-1]))
    next_quote = np.concatenate((quotes[1:], [n + 2]))
    first = len(UTF8_BOM) if text.startswith(UTF8_BOM) else 0
    field_start = np.isin(before, (44, 10, 13)) | (quotes == first) | (previous_quote == quotes - 1)
    field_end = np.isin(after, (44, 10, 13)) | (quotes == n - 1) | (next_quote == quotes + 1)
    wrong = (opening & ~field_start) | (~opening & ~field_end)
    if wrong.any():
        position = int(quotes[np.argmax(wrong)])
        raise PackageUnreadable("bad_csv", _row_detail(text, position), file=file)
    if quotes.size % 2:
        raise PackageUnreadable("bad_csv", _row_detail(text, int(quotes[-1])), file=file)


# --- XLSX --------------------------------------------------------------------------------------

# Built-in number formats that show dates (ECMA-376 §18.8.30, and the CJK ones).
DATE_FORMATS = frozenset((14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 36, *range(50, 59)))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _attr(element: ET.Element, name: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == name:
            return value
    return None


def _resolve(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    parts: list[str] = []
    for piece in (PurePosixPath(base).parent / target).parts:
        if piece == "..":
            if parts:
                parts.pop()
        elif piece != ".":
            parts.append(piece)
    return "/".join(parts)


@dataclass
class _SheetRef:
    name: str
    part: str
    hidden: bool


class XlsxPackage(Package):
    container: Container = "xlsx"

    @property
    def encoding(self) -> str:
        return "xlsx"

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        super().__init__(path)
        self.archive = archive
        self.limits = _Limits(path.name)
        self.infos = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        self._lower = {n.lower(): n for n in self.infos}
        self.limits.check_declared(list(self.infos.values()))
        workbook_part = self._workbook_part()
        workbook = self._xml(workbook_part)
        if _local(workbook.tag) != "workbook":
            raise PackageUnreadable("unknown_container", workbook_part, file=path.name)
        rels = self._rels(workbook_part)
        self.date1904 = False
        self.sheets: dict[str, _SheetRef] = {}
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                self.date1904 = (element.get("date1904") or "").lower() in ("1", "true")
            elif tag == "sheet":
                target = rels.get(_attr(element, "id") or "", ("", ""))[0]
                name = element.get("name") or ""
                self.sheets[name] = _SheetRef(
                    name, target, (element.get("state") or "visible") != "visible"
                )
        # The Chinese names first; households / members only when the Chinese one is absent.
        self._refs: dict[str, _SheetRef] = {}
        for exact in (True, False):
            for sheet_name, ref in self.sheets.items():
                key = self._sheet_name(sheet_name)
                if (key == normalise_text(sheet_name)) == exact:
                    self._refs.setdefault(key, ref)
        targets = {ref.part for key, ref in self._refs.items() if key in SHEETS}
        shared = next((t for t, kind in rels.values() if kind.endswith("/sharedStrings")), "")
        styles = next((t for t, kind in rels.values() if kind.endswith("/styles")), "")
        # Every other part is checked for DTDs now; the sheets and shared strings as they
        # stream through the parser.
        for name in self.infos:
            if name not in targets and name != shared and name not in (workbook_part,):
                self._scan(name)
        self.date_styles = self._date_styles(styles)
        self._shared_part = shared
        self._shared: pl.Series | None = None
        self.total = (
            sum(self._info(self._refs[s].part).file_size for s in SHEETS if s in self._refs) or 1
        )
        # Read now, used or not: a part with a DTD refuses the package whatever the sheets hold.
        self.shared()

    @staticmethod
    def _sheet_name(name: str) -> str:
        text = normalise_text(name)
        return SHEET_ALIASES.get(text.lower(), text)

    def close(self) -> None:
        self.archive.close()

    def _info(self, name: str) -> zipfile.ZipInfo:
        real = name if name in self.infos else self._lower.get(name.lower())
        if real is None:
            raise PackageUnreadable("damaged", f"missing part {name}", file=self.file_name)
        return self.infos[real]

    def _workbook_part(self) -> str:
        try:
            root = self._rels("")
        except PackageUnreadable:
            root = {}
        for target, kind in root.values():
            if kind.endswith("/officeDocument"):
                return target
        return "xl/workbook.xml"

    def _read_small(self, name: str) -> bytes:
        info = self._info(name)
        if info.file_size > XML_PART_LIMIT:
            raise PackageUnreadable("damaged", f"{name} too large", file=self.file_name)
        with _member(self.archive, info, self.limits) as stream:
            data = stream.read(XML_PART_LIMIT + 1)
        if has_dtd(data):
            raise PackageUnreadable("xml_dtd", name, file=self.file_name)
        return data

    def _xml(self, name: str) -> ET.Element:
        data = self._read_small(name)
        try:
            return ET.fromstring(data)  # noqa: S314 (no DTD: checked above)
        except ET.ParseError as exc:
            raise PackageUnreadable("damaged", f"{name}: {exc}", file=self.file_name) from None

    def _rels(self, part: str) -> dict[str, tuple[str, str]]:
        """Relationship id → (target part, type) of ``part`` ("" for the package)."""
        folder = PurePosixPath(part).parent
        rels_name = (
            str(folder / "_rels" / (PurePosixPath(part).name + ".rels")) if part else "_rels/.rels"
        )
        if rels_name not in self.infos and rels_name.lower() not in self._lower:
            return {}
        out: dict[str, tuple[str, str]] = {}
        for element in self._xml(rels_name).iter():
            if _local(element.tag) == "Relationship":
                target = element.get("Target") or ""
                if (element.get("TargetMode") or "") == "External":
                    continue
                out[element.get("Id") or ""] = (
                    _resolve(part or "x", target) if part else target.lstrip("/"),
                    element.get("Type") or "",
                )
        return out

    def _scan(self, name: str) -> None:
        """Refuse a DTD or entity declaration anywhere in a part (streaming, in blocks)."""
        with _member(self.archive, self._info(name), self.limits) as stream:
            tail = b""
            while block := stream.read(READ_BLOCK):
                if has_dtd(tail + block[:16]) or has_dtd(block):
                    raise PackageUnreadable("xml_dtd", name, file=self.file_name)
                tail = block[-16:]

    def _date_styles(self, part: str) -> np.ndarray:
        """For each cell format (``s``), whether it shows a number as a date."""
        if not part or (part not in self.infos and part.lower() not in self._lower):
            return np.zeros(1, dtype=bool)
        root = self._xml(part)
        custom: dict[int, str] = {}
        flags: list[bool] = []
        for element in root.iter():
            if _local(element.tag) == "numFmt":
                custom[int(element.get("numFmtId") or -1)] = element.get("formatCode") or ""
        for element in root.iter():
            if _local(element.tag) == "cellXfs":
                for xf in element:
                    if _local(xf.tag) != "xf":
                        continue
                    number_format = int(xf.get("numFmtId") or 0)
                    flags.append(
                        number_format in DATE_FORMATS
                        or (number_format in custom and _is_date_format(custom[number_format]))
                    )
                break
        return np.array([*flags, False], dtype=bool)

    def shared(self) -> pl.Series:
        """The shared strings table, read once, on first use."""
        if self._shared is None:
            part = self._shared_part
            if not part or (part not in self.infos and part.lower() not in self._lower):
                self._shared = pl.Series([], dtype=pl.String)
            else:
                with _member(self.archive, self._info(part), self.limits) as stream:
                    self._shared = shared_strings(stream, part, self.file_name)
        return self._shared

    def sheet(
        self,
        name: str,
        progress: Progress,
        *,
        keep_rows: set[int] | None = None,
    ) -> RawSheet:
        ref = self._refs.get(name)
        if ref is None:
            raise PackageUnreadable("missing_sheet", name, file=self.file_name)
        parser = SheetParser(
            shared=self.shared,
            date_styles=self.date_styles,
            date1904=self.date1904,
            file=self.file_name,
            keep_rows=np.array(sorted(keep_rows), dtype=np.int64)
            if keep_rows is not None
            else None,
        )
        frames: list[pl.DataFrame] = []
        start = self.done
        with _member(self.archive, self._info(ref.part), self.limits) as stream:
            for chunk in prefetched(xml_chunks(stream, b"row", ref.part, self.file_name)):
                if chunk.body:
                    frame = parser.feed(chunk.body)
                    if frame is not None:
                        frames.append(frame)
                if chunk.tail:
                    parser.finish(chunk.tail)
                self.done = start + chunk.size
                progress(min(self.done, self.total), self.total)
        frame = pl.concat(frames, how="vertical") if frames else _empty_frame(parser.width)
        warnings = [Issue(name, 0, "", "hidden_sheet")] if ref.hidden else []
        return RawSheet(name, name, parser.headers, frame, parser.flagged(), warnings)


def _is_date_format(code: str) -> bool:
    """Whether a custom number format shows a date: y or d outside quotes and brackets."""
    text = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.|_.|\*.', "", code).lower()
    return "y" in text or "d" in text
