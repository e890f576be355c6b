"""The worksheets and shared strings of an XLSX workbook, parsed streaming with numpy.

A worksheet is read in chunks of whole rows (``xml_chunks``). In each chunk numpy finds every
tag (each ``<`` and the ``>`` that ends it) and tells the few elements that matter by their
first letters: ``row``, ``c`` (a cell, with its one-letter attributes ``r``, ``t``, ``s``),
``v`` and ``t`` (text), ``f`` (a formula), ``rPh`` (phonetic runs, not part of the text). The
texts are cut out with one boolean mask over the chunk's bytes, one separator byte per cell,
and polars splits them into a column: no Python per cell. Shared strings are found the same
way (``si`` instead of ``c``). What is rare and hard (a comment or CDATA inside a cell, a
character reference, Excel's ``_xHHHH_`` escapes, a number with float noise) goes through
Python, for those cells only.

Why not calamine (or any DOM): it holds the whole sheet in memory before Python sees a cell,
1.4 GB and 11 s for a million people here, and then each cell costs a Python object; this
parser needs a few chunks of memory and a few seconds (docs/import.md).
"""

import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from queue import Empty, Full, Queue
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import polars as pl

from fupin.exchange.import_cells import ROW, excel_serial_date
from fupin.exchange.import_issues import PackageUnreadable

READ_BLOCK = 8 << 20  # bytes of XML read (and parsed) at a time
DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
# Cell types, from the ``t`` attribute.
T_NUMBER, T_SHARED, T_INLINE, T_STRING, T_BOOL, T_ERROR, T_DATE = range(7)
LT, GT, EQ, SLASH, QUOTE, APOSTROPHE = 60, 62, 61, 47, 34, 39
SEPARATOR = 2  # between cell texts: no XML text can hold this byte


def has_dtd(data: bytes) -> bool:
    """Whether ``data`` declares a DTD or an entity (one scan for ``<!``, which is rare)."""
    at = data.find(b"<!")
    while at >= 0:
        if data.startswith(DTD_MARKERS, at):
            return True
        at = data.find(b"<!", at + 2)
    return False


# --- Chunks -----------------------------------------------------------------------------------


@dataclass
class Chunk:
    body: bytes  # whole elements of the unit (rows, or shared strings), namespace prefix removed
    tail: bytes = b""  # what follows the last unit (only in the last chunk)
    size: int = 0  # bytes of the part read so far


def xml_chunks(stream: Any, unit: bytes, part: str, file: str) -> Iterator[Chunk]:
    """The part in chunks of whole ``unit`` elements (``row`` or ``si``), each ending with the
    unit's closing tag, with the namespace prefix (``<x:row>``) removed; DTDs and entity
    declarations refused. The last chunk carries what follows the last unit (for a sheet:
    ``mergeCells``)."""
    prefix = b""
    carry = b""
    size = 0
    started = False
    closing = b"</" + unit + b">"
    while True:
        block = stream.read(READ_BLOCK)
        size += len(block)
        if has_dtd(carry[-16:] + block[:16]) or has_dtd(block):
            raise PackageUnreadable("xml_dtd", part, file=file)
        data = carry + block if carry else block
        if not started:
            root = re.search(rb"<([A-Za-z_][\w.-]*:)?(worksheet|sst)[\s>/]", data)
            if root is None:
                if not block:
                    raise PackageUnreadable("damaged", part, file=file)
                carry = data
                continue
            prefix = root.group(1) or b""
            started = True
            if prefix:
                closing = b"</" + prefix + unit + b">"
        if not block:
            yield Chunk(b"", _strip_prefix(data, prefix), size)
            return
        cut = data.rfind(closing)
        if cut < 0:
            carry = data
            continue
        cut += len(closing)
        carry = data[cut:]
        yield Chunk(_strip_prefix(data[:cut], prefix), b"", size)


def _strip_prefix(data: bytes, prefix: bytes) -> bytes:
    if not prefix:
        return data
    return data.replace(b"<" + prefix, b"<").replace(b"</" + prefix, b"</")


Attributes = dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]


def prefetched(chunks: Iterator[Chunk], depth: int = 2) -> Iterator[Chunk]:
    """``chunks`` produced on a thread of their own (unzipping and cutting, which release the
    GIL), ``depth`` ahead of the parser; an exception there is raised here."""
    queue: Queue[Chunk | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(None)
        except BaseException as exc:  # handed to the consumer
            queue.put(exc)

    worker = threading.Thread(target=produce, name="xlsx-unzip", daemon=True)
    worker.start()
    try:
        while (item := queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                queue.get_nowait()
            except Empty:
                worker.join(0.05)


# --- Tags -------------------------------------------------------------------------------------


def _name_end(follow: np.ndarray) -> np.ndarray:
    """Whether the byte after a tag name's letters ends the name."""
    ends = (follow == GT) | (follow == SLASH) | (follow == 32) | (follow == 9)
    return np.asarray(ends | (follow == 10) | (follow == 13), dtype=bool)


class Tokens:
    """The tags of a chunk of XML: where each ``<`` is and its first letters; where a tag ends
    (its ``>``) and its one-letter attributes are found for the tags that need them."""

    def __init__(self, body: bytes, file: str) -> None:
        self.body = body
        self.file = file
        n = len(body)
        self.n = n
        self.a = np.frombuffer(body + b"\x00" * 8, dtype=np.uint8)
        self.lt = np.flatnonzero(self.a[:n] == LT)
        self.c1 = self.a[self.lt + 1]
        self.c2 = self.a[self.lt + 2]
        self.next_lt = np.append(self.lt[1:], n)
        self._gt: np.ndarray | None = None

    def ends(self, tags: np.ndarray) -> np.ndarray:
        """Where each tag of the mask ``tags`` ends (its ``>``)."""
        if self._gt is None:
            self._gt = np.flatnonzero(self.a[: self.n] == GT)
        starts = self.lt[tags]
        index = np.searchsorted(self._gt, starts)
        if index.size and int(index[-1]) >= self._gt.size:
            raise PackageUnreadable("damaged", "unterminated tag", file=self.file)
        return np.asarray(self._gt[index])

    def named(self, letter: int) -> np.ndarray:
        """Tags whose name is the single letter ``letter``."""
        return np.asarray((self.c1 == letter) & _name_end(self.c2), dtype=bool)

    def named_long(self, name: bytes) -> np.ndarray:
        """Tags named ``name`` (``row``, ``rPh``, or ``/rPh`` for the end of one)."""
        a = self.a
        match = (self.c1 == name[0]) & (self.c2 == name[1])
        candidates = np.flatnonzero(match)
        at = self.lt[candidates]
        good = np.ones(candidates.size, dtype=bool)
        for offset, letter in enumerate(name[2:], 3):
            good &= a[at + offset] == letter
        good &= _name_end(a[at + len(name) + 1])
        match[candidates[~good]] = False
        return np.asarray(match, dtype=bool)

    def odd(self) -> np.ndarray:
        """Comments, CDATA and processing instructions."""
        return np.asarray((self.c1 == 33) | (self.c1 == 63), dtype=bool)

    def attributes(self, owners: dict[str, np.ndarray], letters: bytes = b"rst") -> Attributes:
        """For each kind of owner tag (a mask over the tags) and each attribute letter: the
        ranks (among that kind) of the tags having the attribute, and where its value starts.
        An attribute is ``x="…"`` (or ``'``) after white space, and belongs to the last tag
        begun before it: text, where such a pattern might also occur, is only ever inside
        ``<t>`` or ``<v>``, never directly inside a row or a cell."""
        a = self.a
        equals = np.flatnonzero(a[: self.n] == EQ)
        equals = equals[equals >= 2]
        name = a[equals - 1]
        before = a[equals - 2]
        after = a[equals + 1]
        wanted = np.zeros(name.size, dtype=bool)
        for letter in letters:
            wanted |= name == letter
        ok = (
            wanted
            & ((before == 32) | (before == 9) | (before == 10) | (before == 13))
            & ((after == QUOTE) | (after == APOSTROPHE))
        )
        equals, name = equals[ok], name[ok]
        any_owner = np.zeros(self.lt.size, dtype=bool)
        for mask in owners.values():
            any_owner |= mask
        tag = np.searchsorted(self.lt, equals, side="right") - 1
        mine = (tag >= 0) & any_owner[np.maximum(tag, 0)]
        tag, name, start = tag[mine], name[mine], equals[mine] + 2
        out: Attributes = {}
        for kind, mask in owners.items():
            rank = np.cumsum(mask) - 1
            mine = mask[tag]
            for letter in letters:
                pick = mine & (name == letter)
                out[(kind, letter)] = (rank[tag[pick]], start[pick])
        return out

    def texts(self, units: np.ndarray, text_tags: np.ndarray) -> pl.Series:
        """The text of each unit (``units``: a mask of tags, e.g. the cells): the content of
        its text tags outside phonetic runs, joined, as written (entities not decoded); null
        when it has none.

        The texts are gathered after one separator byte per unit, and polars splits them
        at the separators."""
        unit_of = np.cumsum(units) - 1
        take = text_tags & (unit_of >= 0) & (self.c2 != SLASH)
        rph = self.named_long(b"rPh")
        if rph.any():
            depth = np.cumsum(rph, dtype=np.int32) - np.cumsum(
                self.named_long(b"/rPh"), dtype=np.int32
            )
            take &= depth <= 0
        # <v> and <t> end two bytes on; a <t xml:space="preserve"> is looked up.
        plain = take & (self.c2 == GT)
        spaced = take & ~plain
        starts = self.lt[take] + 3
        ends = self.next_lt[take]
        if spaced.any():
            spaced_end = self.ends(spaced)
            closing = self.a[spaced_end - 1] == SLASH
            spaced_at = np.flatnonzero(spaced[take])
            starts[spaced_at] = spaced_end + 1
            ends[spaced_at[closing]] = starts[spaced_at[closing]]
        nonempty = ends > starts
        starts, ends = starts[nonempty], ends[nonempty]
        span_unit = unit_of[take][nonempty]
        count = int(np.count_nonzero(units))
        out = _gather_texts(self.a, count, span_unit, starts, ends)
        try:
            values = pl.read_csv(
                out,
                has_header=False,
                separator="\x01",
                eol_char="\x02",
                quote_char=None,
                schema={"v": pl.String},
                raise_if_empty=False,
            ).get_column("v")
        except pl.exceptions.PolarsError as exc:
            detail = str(exc).split("\n", 1)[0][:200]
            raise PackageUnreadable("damaged", detail, file=self.file) from None
        if values.len() != count + 2:
            raise PackageUnreadable("damaged", "cell text", file=self.file)
        values = values.slice(1, count)
        odd = self.odd()
        if odd.any():
            values = self._odd_units(values, units, unit_of, odd)
        return values

    def _odd_units(
        self, values: pl.Series, units: np.ndarray, unit_of: np.ndarray, odd: np.ndarray
    ) -> pl.Series:
        """Units holding a comment, CDATA or a processing instruction, parsed one by one."""
        which = np.unique(unit_of[odd & (unit_of >= 0)])
        if not which.size:
            return values
        starts = self.lt[units]
        bounds = np.append(starts[1:], self.n)
        fixed = pl.Series(
            [_element_text(self.body[starts[i] : bounds[i]], self.file) for i in which.tolist()],
            dtype=pl.String,
        )
        return values.scatter(which, fixed)


def _gather_texts(
    a: np.ndarray, units: int, span_unit: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> bytes:
    """The units' texts one after the other, each after a separator byte, and an end mark:
    the spans (``starts``–``ends`` of ``a``, in order, each of unit ``span_unit``) copied with
    one gather, whatever the size of the chunk around them."""
    # int32 offsets: a chunk is far below 2 GB, and the index arrays are the bulk of the work.
    lengths = (ends - starts).astype(np.int32)
    starts = starts.astype(np.int32)
    per_unit = np.bincount(span_unit, weights=lengths, minlength=units).astype(np.int32)
    unit_start = np.cumsum(per_unit + 1) - (per_unit + 1)  # where each unit's separator goes
    before = np.cumsum(per_unit) - per_unit  # span bytes of the units before
    span_before = np.cumsum(lengths) - lengths  # span bytes of the spans before
    total = int(per_unit.sum()) + units
    out = np.empty(total + 4, dtype=np.uint8)
    out[unit_start] = SEPARATOR
    if lengths.size:
        destination = unit_start[span_unit] + 1 + span_before - before[span_unit]
        within = np.arange(int(lengths.sum()), dtype=np.int32) - np.repeat(span_before, lengths)
        out[np.repeat(destination, lengths) + within] = a[np.repeat(starts, lengths) + within]
    out[total:] = np.frombuffer(b"\x02END", dtype=np.uint8)
    return out.tobytes()


def _element_text(fragment: bytes, file: str) -> str | None:
    """The text of one ``<c>`` or ``<si>`` element, with ElementTree (its part is DTD-free),
    escaped again for the one decoding every text gets later."""
    tag = re.match(rb"<(\w+)", fragment)
    if tag is None:
        return None
    closing = b"</" + tag.group(1) + b">"
    end = fragment.rfind(closing)
    element_bytes = fragment[: end + len(closing)] if end >= 0 else fragment
    try:
        element = ET.fromstring(element_bytes)  # noqa: S314 (no DTD: checked)
    except ET.ParseError:
        raise PackageUnreadable("damaged", "cell", file=file) from None
    texts: list[str] = []

    def walk(node: ET.Element, phonetic: bool) -> None:
        name = node.tag.rsplit("}", 1)[-1]
        inside = phonetic or name == "rPh"
        if name in ("t", "v") and not inside and node.text:
            texts.append(node.text)
        for child in node:
            walk(child, inside)

    walk(element, False)
    return escape("".join(texts)) if texts else None


# --- Text -------------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(#x[0-9A-Fa-f]+|#[0-9]+|lt|gt|amp|quot|apos);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _entity(match: re.Match[str]) -> str:
    name = match.group(1)
    try:
        if name.startswith("#x"):
            return chr(int(name[2:], 16))
        if name.startswith("#"):
            return chr(int(name[1:]))
    except (ValueError, OverflowError):
        return "\ufffd"
    return _NAMED[name]


def python_text(text: str | None) -> str | None:
    """XML text decoded in Python: entities and character references, then Excel's escapes."""
    if text is None:
        return None
    # Line ends as XML reads the raw text; a CR written as &#13; or _x000D_ stays a CR.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ENTITY.sub(_entity, text)
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def _scatter_where(
    values: pl.Series, mask: pl.Series, change: Callable[[pl.Series], pl.Series]
) -> pl.Series:
    """``values`` with ``change`` applied to the entries where ``mask`` holds (only those are
    computed)."""
    if not mask.any():
        return values
    positions = mask.arg_true()
    return values.scatter(positions, change(values.gather(positions)))


def decode_text(values: pl.Series) -> pl.Series:
    """XML text as the file means it: entities decoded, Excel's ``_xHHHH_`` escapes decoded,
    line ends as XML reads them. Plain entities are replaced by polars; text with a character
    reference or an escape goes through Python."""
    if values.is_empty():
        return values
    special = values.str.contains(r"[&\r]|_x").fill_null(False)
    if not special.any():
        return values
    amp = values.str.contains("&", literal=True).fill_null(False)
    slow = (
        values.str.contains("&#", literal=True) | values.str.contains("_x", literal=True)
    ).fill_null(False)
    plain = amp & ~slow
    out = _scatter_where(
        values,
        plain,
        lambda v: v.str.replace_many(
            ["&lt;", "&gt;", "&quot;", "&apos;"], ["<", ">", '"', "'"]
        ).str.replace_all("&amp;", "&", literal=True),
    )
    cr = values.str.contains("\r", literal=True).fill_null(False) & ~slow
    out = _scatter_where(
        out,
        cr,
        lambda v: v.str.replace_all("\r\n", "\n", literal=True).str.replace_all(
            "\r", "\n", literal=True
        ),
    )
    return _scatter_where(
        out, slow, lambda v: pl.Series([python_text(t) for t in v.to_list()], dtype=pl.String)
    )


def shared_strings(stream: Any, part: str, file: str) -> pl.Series:
    """The shared strings table (``xl/sharedStrings.xml``), decoded."""
    parts: list[pl.Series] = []
    for chunk in xml_chunks(stream, b"si", part, file):
        if chunk.body:
            tokens = Tokens(chunk.body, file)
            units = (tokens.c1 == 115) & (tokens.c2 == 105) & _name_end(tokens.a[tokens.lt + 3])
            parts.append(tokens.texts(units, tokens.named(116)))
    if not parts:
        return pl.Series([], dtype=pl.String)
    return decode_text(pl.concat(parts)).fill_null("")


# --- Numbers ----------------------------------------------------------------------------------


def python_number(text: str | None) -> str | None:
    """A number as Excel's General format shows it: at most 15 significant digits."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    shown = f"{value:.15g}"
    return shown.replace("e+", "E+").replace("e-", "E-")


def number_texts(values: pl.Series) -> pl.Series:
    """Numbers as Excel's General format shows them: integers of up to 15 digits as they are,
    decimals without trailing zeros (``1013.00`` → ``1013``, ``12.50`` → ``12.5``); the rest
    (exponents, float noise such as ``0.30000000000000004``) through Python."""
    frame = pl.DataFrame({"v": values})
    v = pl.col("v")
    length = v.str.len_bytes()
    out = frame.select(
        pl.when(v.str.contains(r"^-?[0-9]{1,15}$"))
        .then(v)
        .when(v.str.contains(r"^-?[0-9]+\.[0-9]+$") & (length <= 17))
        .then(v.str.strip_chars_end("0").str.strip_suffix("."))
        .alias("v")
    ).get_column("v")
    slow = out.is_null() & values.is_not_null()
    return _scatter_where(
        out,
        slow,
        lambda _v: pl.Series(
            [python_number(t) for t in values.filter(slow).to_list()], dtype=pl.String
        ),
    )


def serial_date_texts(values: pl.Series, *, date1904: bool) -> pl.Series:
    """Date cells' serial numbers as YYYY-MM-DD (null when no date)."""
    return (
        pl.DataFrame({"v": values})
        .select(
            excel_serial_date(pl.col("v").cast(pl.Float64, strict=False), date1904=date1904)
            .dt.strftime("%Y-%m-%d")
            .alias("v")
        )
        .get_column("v")
    )


# --- Worksheets -------------------------------------------------------------------------------


def _digits(a: np.ndarray, starts: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The number written at each start (up to ``width`` digits), and how many digits it has.
    One position at a time, stopping when no start has a digit there (most are short)."""
    value = np.zeros(starts.size, dtype=np.int64)
    count = np.zeros(starts.size, dtype=np.int64)
    running = np.ones(starts.size, dtype=bool)
    for j in range(width):
        digit = a[starts + j] - np.uint8(48)  # wraps below '0' to large values
        running &= digit <= 9
        if not running.any():
            break
        value = np.where(running, value * 10 + digit, value)
        count += running
    return value, count


def _letters(a: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column index (A → 0) of the cell reference written at each start (up to 3 letters,
    either case), and how many letters it has."""
    value = np.zeros(starts.size, dtype=np.int64)
    count = np.zeros(starts.size, dtype=np.int64)
    running = np.ones(starts.size, dtype=bool)
    for j in range(3):
        letter = (a[starts + j] | np.uint8(32)) - np.uint8(97)  # a–z and A–Z → 0–25
        running &= letter <= 25
        if not running.any():
            break
        value = np.where(running, value * 26 + letter + 1, value)
        count += running
    return value - 1, count


# A cell's type by the first letter of its ``t``, and that value's length ("str" is told from
# "s" by its second letter).
_TYPE_CODE = np.full(256, T_NUMBER, dtype=np.int8)
_TYPE_LENGTH = np.zeros(256, dtype=np.int64)
for _letter, _code, _length in (
    (b"s", T_SHARED, 1),
    (b"i", T_INLINE, 9),
    (b"n", T_NUMBER, 1),
    (b"b", T_BOOL, 1),
    (b"e", T_ERROR, 1),
    (b"d", T_DATE, 1),
):
    _TYPE_CODE[_letter[0]] = _code
    _TYPE_LENGTH[_letter[0]] = _length


def _canonical_cells(
    a: np.ndarray, at: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Column, type and style of cells written the way Excel and most programs write them:
    ``<c r="B2"``, then ``s="…"`` and ``t="…"`` in either order (double quotes, one space),
    then ``>`` or ``/>``; read from fixed offsets, without looking for ``=`` signs. None when a
    cell of the chunk is written otherwise (``Tokens.attributes`` reads those)."""
    ok = (a[at + 2] == 32) & (a[at + 3] == 114) & (a[at + 4] == EQ) & (a[at + 5] == QUOTE)
    if not ok.all():
        return None
    column, letters = _letters(a, at + 6)
    _row, digits = _digits(a, at + 6 + letters, 7)
    close = at + 6 + letters + digits
    ok &= (letters > 0) & (digits > 0) & (a[close] == QUOTE)
    cursor = close + 1
    kind = np.full(at.size, T_NUMBER, dtype=np.int8)
    style = np.zeros(at.size, dtype=np.int64)
    seen_s = np.zeros(at.size, dtype=bool)
    seen_t = np.zeros(at.size, dtype=bool)
    for _ in range(2):
        attribute = (a[cursor] == 32) & (a[cursor + 2] == EQ) & (a[cursor + 3] == QUOTE)
        letter = a[cursor + 1]
        value, width = _digits(a, cursor + 4, 6)
        is_s = attribute & (letter == 115) & ~seen_s & (width > 0)
        is_s &= a[cursor + 4 + width] == QUOTE
        first, second = a[cursor + 4], a[cursor + 5]
        length = _TYPE_LENGTH[first]
        code = _TYPE_CODE[first]
        text = (first == 115) & (second == 116)  # str
        length = np.where(text, 3, length)
        code = np.where(text, np.int8(T_STRING), code)
        is_t = attribute & (letter == 116) & ~seen_t & (length > 0)
        is_t &= a[cursor + 4 + length] == QUOTE
        style = np.where(is_s, value, style)
        kind = np.where(is_t, code, kind)
        seen_s |= is_s
        seen_t |= is_t
        cursor = np.where(is_s, cursor + 5 + width, np.where(is_t, cursor + 5 + length, cursor))
    end = a[cursor]
    ok &= (end == GT) | ((end == SLASH) & (a[cursor + 1] == GT))
    if not ok.all():
        return None
    return column, kind, style


def _canonical_rows(a: np.ndarray, at: np.ndarray) -> np.ndarray | None:
    """Row numbers of rows written ``<row r="N"``; None when a row is written otherwise."""
    ok = (a[at + 4] == 32) & (a[at + 5] == 114) & (a[at + 6] == EQ) & (a[at + 7] == QUOTE)
    if not ok.all():
        return None
    value, digits = _digits(a, at + 8, 8)
    if not ((digits > 0) & (a[at + 8 + digits] == QUOTE)).all():
        return None
    return value


def column_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    value = 0
    for char in letters.upper():
        value = value * 26 + ord(char) - 64
    return value - 1


_MERGE = re.compile(
    rb"<mergeCell\b[^>]*?\bref\s*=\s*[\"']([A-Za-z]+)([0-9]+)(?::([A-Za-z]+)([0-9]+))?"
)


@dataclass
class SheetParser:
    """One worksheet fed chunk by chunk: row 1 becomes ``headers`` (and fixes ``width``); the
    other rows come back as frames of ``_row`` and ``c0`` … ``c<width-1>`` (text as Excel shows
    it, null when empty). Formula cells and merged ranges are collected for the reader."""

    shared: Callable[[], pl.Series]
    date_styles: np.ndarray  # per cell format: shows a date
    date1904: bool
    file: str
    keep_rows: np.ndarray | None = None  # only these rows (sorted), for read_raw_rows

    def __post_init__(self) -> None:
        self.headers: list[str] = []
        self.width = 0
        self.header_seen = False
        self.last_row = 0
        self.formulas: list[tuple[int, int]] = []
        self.merges: list[tuple[int, int, int, int]] = []

    def feed(self, body: bytes) -> pl.DataFrame | None:
        t = Tokens(body, self.file)
        rows = t.named_long(b"row")
        cells = t.named(99)
        fast_rows = _canonical_rows(t.a, t.lt[rows])
        fast_cells = _canonical_cells(t.a, t.lt[cells])
        attributes: Attributes = {}
        if fast_rows is None or fast_cells is None:
            attributes = t.attributes({"row": rows, "c": cells})
        numbers = self._row_numbers(rows, t.a, attributes, fast_rows)
        if not cells.any():
            return None
        row_of_cell = (np.cumsum(rows) - 1)[cells]
        if int(row_of_cell[0]) < 0:
            raise PackageUnreadable("damaged", "cell outside a row", file=self.file)
        cell_row = numbers[row_of_cell]
        if fast_cells is not None:
            column, kind, style = fast_cells
        else:
            column, kind, style = self._cell_attributes(t.a, row_of_cell, attributes)
        texts = ((t.c1 == 118) & _name_end(t.c2)) | t.named(116)  # <v>, <t>
        values = t.texts(cells, texts)
        formula = t.named(102)  # <f>
        if formula.any():
            unit_of = np.cumsum(cells) - 1
            has = np.zeros(cell_row.size, dtype=bool)
            has[unit_of[formula & (unit_of >= 0)]] = True
            self._formulas(cell_row, column, has)
        if not self.header_seen:
            self._header(cell_row, column, kind, style, values)
        keep = (cell_row > 1) & (column < self.width) & (column >= 0)
        if self.keep_rows is not None:
            keep &= np.isin(cell_row, self.keep_rows)
        if not keep.any():
            return None
        where = np.flatnonzero(keep)
        text = self._cell_texts(kind[where], style[where], values.gather(where))
        return self._wide(cell_row[where], column[where], text)

    def finish(self, tail: bytes) -> None:
        for match in _MERGE.finditer(tail):
            c1 = column_index(match.group(1).decode())
            r1 = int(match.group(2))
            c2 = column_index(match.group(3).decode()) if match.group(3) else c1
            r2 = int(match.group(4)) if match.group(4) else r1
            self.merges.append((r1, c1, r2, c2))

    def flagged(self) -> list[tuple[int, int]]:
        """Formula cells and the top-left cell of each merged range: (row, column index)."""
        return sorted({*self.formulas, *((r1, c1) for r1, c1, _r2, _c2 in self.merges)})

    def _formulas(self, cell_row: np.ndarray, column: np.ndarray, has: np.ndarray) -> None:
        where = has & (cell_row >= 1)
        if self.header_seen:
            where &= column < self.width
        self.formulas.extend(zip(cell_row[where].tolist(), column[where].tolist(), strict=True))

    def _row_numbers(
        self, rows: np.ndarray, a: np.ndarray, attributes: Attributes, fast: np.ndarray | None
    ) -> np.ndarray:
        """The number of each row of the chunk (its ``r``, or one more than the row before)."""
        count = int(rows.sum())
        numbers = np.full(count, -1, dtype=np.int64)
        if fast is not None:
            numbers = fast.astype(np.int64)
        else:
            rank, starts = attributes[("row", 114)]
            values, digits = _digits(a, starts, 8)
            numbers[rank[digits > 0]] = values[digits > 0]
        if (numbers < 0).any():
            position = np.arange(count)
            last = np.maximum.accumulate(np.where(numbers >= 0, position, -1))
            base = np.where(last >= 0, numbers[np.maximum(last, 0)], self.last_row)
            numbers = np.where(
                numbers >= 0, numbers, base + position - np.where(last >= 0, last, -1)
            )
        if count:
            self.last_row = int(numbers[-1])
        return numbers

    def _cell_attributes(
        self, a: np.ndarray, row_of_cell: np.ndarray, attributes: Attributes
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Column index, type and style of each cell, from its ``r``, ``t`` and ``s``."""
        count = int(row_of_cell.size)
        column = np.full(count, -1, dtype=np.int64)
        rank, starts = attributes[("c", 114)]
        if rank.size:
            letters, width = _letters(a, starts)
            column[rank[width > 0]] = letters[width > 0]
        if (column < 0).any():
            # A cell without ``r`` follows the one before it in its row (or is the first).
            position = np.arange(count)
            first = np.concatenate(([True], row_of_cell[1:] != row_of_cell[:-1]))
            last = np.maximum.accumulate(np.where((column >= 0) | first, position, -1))
            column = np.where(column >= 0, column, np.maximum(column[last], 0) + position - last)
        kind = np.full(count, T_NUMBER, dtype=np.int8)
        rank, starts = attributes[("c", 116)]
        if rank.size:
            first_letter, second = a[starts], a[starts + 1]
            quote = (second == QUOTE) | (second == APOSTROPHE)
            kind[rank] = np.select(
                [
                    (first_letter == 115) & quote,  # s
                    first_letter == 115,  # str
                    first_letter == 105,  # inlineStr
                    first_letter == 98,  # b
                    first_letter == 101,  # e
                    first_letter == 100,  # d
                ],
                [T_SHARED, T_STRING, T_INLINE, T_BOOL, T_ERROR, T_DATE],
                default=T_NUMBER,
            )
        style = np.zeros(count, dtype=np.int64)
        rank, starts = attributes[("c", 115)]
        if rank.size:
            values, width = _digits(a, starts, 6)
            style[rank[width > 0]] = values[width > 0]
        return column, kind, style

    def _header(
        self,
        cell_row: np.ndarray,
        column: np.ndarray,
        kind: np.ndarray,
        style: np.ndarray,
        values: pl.Series,
    ) -> None:
        """Row 1, the header (the first row, when it is row 1): its texts and the width."""
        self.header_seen = True
        where = np.flatnonzero((cell_row == 1) & (column >= 0) & (column < 16384))
        if not where.size:
            return
        texts = self._cell_texts(kind[where], style[where], values.gather(where)).to_list()
        self.width = int(column[where].max()) + 1
        self.headers = [""] * self.width
        for col, text in zip(column[where].tolist(), texts, strict=True):
            self.headers[col] = text or ""
        self.formulas = [(r, c) for r, c in self.formulas if c < self.width]

    def _cell_texts(self, kind: np.ndarray, style: np.ndarray, values: pl.Series) -> pl.Series:
        """Each cell's text as Excel shows it: shared strings looked up, entities decoded,
        numbers without float noise, date cells as YYYY-MM-DD, booleans as TRUE/FALSE."""
        v = decode_text(values)
        shared = kind == T_SHARED
        if shared.any():
            table = self.shared()
            positions = np.flatnonzero(shared)
            index = v.gather(positions).cast(pl.Int64, strict=False)
            bad = index.is_null().any() or not bool(index.is_between(0, table.len() - 1).all())
            if bad:
                raise PackageUnreadable("damaged", "shared string index", file=self.file)
            v = v.scatter(positions, table.gather(index))
        number = (kind == T_NUMBER) & v.is_not_null().to_numpy()
        if number.any():
            positions = np.flatnonzero(number)
            shown = number_texts(v.gather(positions))
            dates = self.date_styles[np.minimum(style[positions], self.date_styles.size - 1)]
            if dates.any():
                at = np.flatnonzero(dates)
                as_date = serial_date_texts(v.gather(positions[at]), date1904=self.date1904)
                shown = shown.scatter(
                    at, pl.select(pl.coalesce(as_date, shown.gather(at))).to_series()
                )
            v = v.scatter(positions, shown)
        boolean = kind == T_BOOL
        if boolean.any():
            positions = np.flatnonzero(boolean)
            truth = v.gather(positions) == "1"
            v = v.scatter(
                positions,
                pl.select(
                    pl.when(truth).then(pl.lit("TRUE")).otherwise(pl.lit("FALSE"))
                ).to_series(),
            )
        iso = kind == T_DATE
        if iso.any():
            positions = np.flatnonzero(iso)
            dates_text = v.gather(positions)
            midnight = dates_text.str.contains(
                r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T00:00(:00(\.0+)?)?Z?)?$"
            )
            v = v.scatter(
                positions,
                pl.select(
                    pl.when(midnight).then(dates_text.str.slice(0, 10)).otherwise(dates_text)
                ).to_series(),
            )
        return v

    def _wide(self, cell_row: np.ndarray, column: np.ndarray, text: pl.Series) -> pl.DataFrame:
        """One row per sheet row, one column per header cell."""
        steps = np.diff(cell_row)
        if (steps >= 0).all():  # rows come in order, as the format wants them
            rows = cell_row[np.concatenate(([True], steps > 0))]
        else:
            rows = np.unique(cell_row)
        at = np.searchsorted(rows, cell_row)
        table = np.full((rows.size, self.width), text.len(), dtype=np.int64)
        table[at, column] = np.arange(text.len())
        padded = pl.DataFrame({"v": pl.concat([text, pl.Series([None], dtype=pl.String)])})
        columns = padded.select(
            pl.col("v").gather(pl.Series(table[:, i])).alias(f"c{i}") for i in range(self.width)
        )
        return columns.insert_column(0, pl.Series(ROW, rows, dtype=pl.Int64))
