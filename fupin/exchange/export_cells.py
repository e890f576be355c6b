"""How a value becomes a cell of an export file (exchange-format §2–§4, §8), in SQL.

The database renders every cell itself, in the file's own syntax (a CSV field, or an XLSX ``<c>``
element), and joins them into rows; a household's members come as one string. Python only
completes the other causes (a JSON list, few distinct values, cached) and numbers XLSX rows.
Rendering in SQL takes the per-cell work off Python, which is what lets an export of a million
people go at the speed of the database (bench/bench_export.py). ``csv_text`` and
``xlsx_text_cell`` are the same rules in Python, the reference the SQL is tested against.

What the cells hold:

- Codes: their Chinese label (a value outside its code list: the stored value, so nothing is
  lost silently). Booleans: 是 / 否. Empty: no value.
- Years and counts: integers. Amounts and areas: numbers with 2 decimals (``1013.00``).
- Dates: ``YYYY-MM-DD`` text (in XLSX too: text round-trips exactly, where a date cell is a
  serial number each reader interprets its own way).
- CSV: fields quoted as RFC 4180 needs (a comma, quote or line break inside); text that begins
  with ``=``, ``+``, ``-``, ``@`` or an apostrophe gets an apostrophe in front, so a spreadsheet
  shows it as text and never runs it as a formula. An importer removes one leading apostrophe
  when the next character is one of those five (``csv_unquote_text``).
- XLSX: text is an inline string in a text-format cell (an id number stays text when edited),
  never a formula; text that begins with a formula character also carries Excel's quote prefix.
  Characters XML cannot hold are written as Excel's ``_xHHHH_`` escapes (and every ``_x`` as
  ``_x005F_x``, which reads back the same), edge spaces are preserved. Code labels and 是/否 are
  shared strings; numbers are number cells, amounts shown with 2 decimals.
- Masked exports (exchange-format §4) mask id numbers and phones exactly as
  ``fupin.core.masking`` does.

Division codes and id numbers are digits (and X), validated on every write, and are written as
they are; all other text, free or validated, goes through the full rules.
"""

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from fupin.core.code_lists import CodeList
from fupin.exchange.columns import Column, Kind

YES, NO = "是", "否"
FORMULA_START = ("=", "+", "-", "@")
CSV_QUOTED_START = (*FORMULA_START, "'")
CSV_LINE_END = "\r\n"
# The row number in XLSX rows rendered by the database: "<" never occurs in escaped text.
ROW = "<>"
XLSX_ROW_START = f'<row r="{ROW}">'
# Kinds written as they are (see the module docstring).
DIGITS = frozenset({Kind.DIVISION, Kind.ID_NUMBER})
# Characters an XLSX string cannot hold as they are: those XML 1.0 forbids, and CR (XML
# turns it into LF). Tab and LF are kept (with xml:space="preserve").
ESCAPED_CONTROLS = tuple(chr(c) for c in range(1, 32) if c not in (9, 10))
_STARS = "*" * 64


# --- Composable SQL ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sql:
    """A piece of SQL with its parameters, in the order their placeholders appear."""

    text: str
    params: tuple[Any, ...] = ()


def value(param: Any) -> Sql:
    return Sql("%s", (param,))


def sqlite_literal(param: Any) -> str:
    """``param`` as an SQLite literal: what binding it would give. SQLite strings have no escape
    sequences but the doubled quote."""
    if param is None:
        return "NULL"
    if isinstance(param, bool):
        return "1" if param else "0"
    if isinstance(param, int):
        return str(param)
    text = str(param)
    if "\x00" in text:
        msg = "NUL in an SQL literal"
        raise ValueError(msg)
    return "'" + text.replace("'", "''") + "'"


def inline_sqlite(statement: Sql) -> str:
    """The statement with its parameters written in as literals, for SQLite.

    SQLite loads a bound parameter into a register each time an expression reads it, so a
    CASE over a code list costs one load per WHEN per row; literals are loaded once per
    statement. With the CASEs of a sheet that is a quarter of the export's time.
    """
    pieces = statement.text.split("%s")
    if len(pieces) != len(statement.params) + 1:
        msg = "placeholders and parameters differ"
        raise ValueError(msg)
    out = [pieces[0].replace("%%", "%")]
    for param, piece in zip(statement.params, pieces[1:], strict=True):
        out += (sqlite_literal(param), piece.replace("%%", "%"))
    return "".join(out)


def compose(template: str, *parts: Sql) -> Sql:
    """``template`` with each ``{}`` replaced by the next part (in order, so the parameters
    stay in the order of their placeholders)."""
    pieces = template.split("{}")
    if len(pieces) != len(parts) + 1:
        msg = f"{len(parts)} parts for {len(pieces) - 1} slots in {template!r}"
        raise ValueError(msg)
    text = [pieces[0]]
    params: list[Any] = []
    for part, after in zip(parts, pieces[1:], strict=True):
        text += (part.text, after)
        params += part.params
    return Sql("".join(text), tuple(params))


def joined(parts: Sequence[Sql], separator: str = ", ") -> Sql:
    """The parts with ``separator`` between them."""
    return Sql(separator.join(p.text for p in parts), tuple(v for p in parts for v in p.params))


def case(subject: Sql, whens: Sequence[tuple[Any, Sql]], otherwise: Sql | None) -> Sql:
    """``CASE subject WHEN value THEN result … ELSE otherwise END``."""
    parts = [subject]
    template = "CASE {}"
    for when, then in whens:
        template += " WHEN {} THEN {}"
        parts += [value(when), then]
    if otherwise is not None:
        template += " ELSE {}"
        parts.append(otherwise)
    return compose(template + " END", *parts)


class Dialect:
    """What differs between SQLite and PostgreSQL in the rendering."""

    def __init__(self, vendor: str) -> None:
        self.postgres = vendor == "postgresql"

    def concat(self, parts: Sequence[Sql | str]) -> Sql:
        """The parts (SQL, or constant text) joined; NULL counts as empty."""
        if not any(parts):
            return Sql("''")
        if self.postgres:
            # concat() takes at most 100 arguments: nest it for longer rows.
            items = [p if isinstance(p, Sql) else value(p) for p in parts]
            while len(items) > 90:
                items = [
                    compose("concat(" + ", ".join(["{}"] * len(chunk)) + ")", *chunk)
                    for chunk in (items[i : i + 90] for i in range(0, len(items), 90))
                ]
            return compose("concat(" + ", ".join(["{}"] * len(items)) + ")", *items)
        # printf with the constants in its format: one string built per row, where a chain of
        # || builds one per operator.
        fmt = "".join(p.replace("%", "%%") if isinstance(p, str) else "%s" for p in parts)
        exprs = [p for p in parts if isinstance(p, Sql)]
        return compose("printf(" + ", ".join(["{}"] * (len(exprs) + 1)) + ")", value(fmt), *exprs)

    def text(self, expr: Sql) -> Sql:
        return compose("CAST({} AS TEXT)", expr)

    def money(self, expr: Sql) -> Sql:
        if self.postgres:
            return compose("CAST({} AS TEXT)", expr)  # numeric(n, 2) prints its 2 decimals
        return compose(
            "CASE WHEN {} IS NULL THEN NULL ELSE printf({}, {}) END", expr, value("%.2f"), expr
        )

    def date(self, expr: Sql) -> Sql:
        if self.postgres:
            return compose("to_char({}, 'YYYY-MM-DD')", expr)
        # SQLite keeps dates as YYYY-MM-DD text; the cast skips Django's date converter.
        return compose("CAST({} AS TEXT)", expr)

    def json_text(self, expr: Sql) -> Sql:
        return compose("CAST({} AS TEXT)", expr) if self.postgres else expr

    def contains(self, expr: Sql, text: str) -> Sql:
        function = "strpos" if self.postgres else "instr"
        return compose(function + "({}, {}) > 0", expr, value(text))

    def has_control(self, expr: Sql) -> Sql:
        """Whether the text holds a character below U+0020."""
        if self.postgres:
            return compose("{} ~ {}", expr, value("[\\x01-\\x1f]"))
        return compose("{} GLOB {}", expr, value("*[" + chr(1) + "-" + chr(31) + "]*"))

    def trim(self, expr: Sql) -> Sql:
        """``expr`` without leading and trailing spaces (U+0020 only)."""
        return compose(("btrim" if self.postgres else "trim") + "({}, ' ')", expr)

    def replace_all(self, expr: Sql, pairs: Sequence[tuple[str, str]]) -> Sql:
        for old, new in pairs:
            expr = compose("replace({}, {}, {})", expr, value(old), value(new))
        return expr

    def mask(self, expr: Sql, keep_start: int, keep_end: int) -> Sql:
        """``fupin.core.masking``: the first and last characters kept, stars between; all
        stars when too short."""
        keep = keep_start + keep_end
        if self.postgres:
            return compose(
                "CASE WHEN length({}) <= {} THEN repeat('*', length({}))"
                " ELSE left({}, {}) || repeat('*', length({}) - {}) || right({}, {}) END",
                expr, value(keep), expr, expr, value(keep_start), expr, value(keep), expr,
                value(keep_end),
            )  # fmt: skip
        return compose(
            "CASE WHEN length({}) <= {} THEN substr({}, 1, length({}))"
            " ELSE substr({}, 1, {}) || substr({}, 1, length({}) - {}) || substr({}, {}) END",
            expr, value(keep), value(_STARS), expr, expr, value(keep_start), value(_STARS), expr,
            value(keep), expr, value(-keep_end),
        )  # fmt: skip

    def member_lines(self, line: Sql, separator: str, where: Sql, order: Sql, member: Sql) -> Sql:
        """A household's member lines joined, in order, after their number and U+0001
        (correlated on ``h``; NULL when it has none)."""
        if self.postgres:
            return compose(
                "(SELECT count(*) || chr(1) || string_agg({}, {} ORDER BY {}) FROM {} m WHERE {})",
                line, value(separator), order, member, where,
            )  # fmt: skip
        # A subquery with ORDER BY under an aggregate is never flattened: group_concat reads
        # its rows in that order.
        return compose(
            "(SELECT count(*) || char(1) || group_concat(line, {})"
            " FROM (SELECT {} AS line FROM {} m WHERE {} ORDER BY {}))",
            value(separator), line, member, where, order,
        )  # fmt: skip


def _starts_with(expr: Sql, chars: Sequence[str]) -> Sql:
    slots = ", ".join(["{}"] * len(chars))
    return compose(f"substr({{}}, 1, 1) IN ({slots})", expr, *(value(c) for c in chars))


# --- The rules in Python (the reference) -------------------------------------------------------


def csv_text(text: str) -> str:
    """A text value as a CSV field: apostrophe before a formula start, quotes where needed."""
    if text.startswith(CSV_QUOTED_START):
        text = "'" + text
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        text = '"' + text.replace('"', '""') + '"'
    return text


def csv_unquote_text(text: str) -> str:
    """The importer's side of ``csv_text`` (after CSV parsing): one leading apostrophe before a
    formula start or an apostrophe is dropped."""
    if text.startswith("'") and text[1:2] in CSV_QUOTED_START:
        return text[1:]
    return text


def _special(text: str) -> bool:
    return any(c < " " for c in text) or "_x" in text or text != text.strip(" ")


def xml_text_element(text: str) -> str:
    """``<t>`` holding ``text`` as Excel reads it back (module docstring)."""
    body = escape(text)
    if not _special(text):
        return f"<t>{body}</t>"
    return f'<t xml:space="preserve">{_careful(body)}</t>'


# Marks around text the database escaped for markup only ("<!" and "!>" cannot occur in it);
# U+0002 before it, found with one memchr over a chunk (outside marks it cannot occur either).
_MARK_START = '<t xml:space="preserve">\x02<!'
_MARK_END = "!></t></is></c>"
_MARKED = re.compile(rb"\x02<!(.*?)!>", re.DOTALL)


def _careful(escaped: str) -> str:
    body = escaped.replace("_x", "_x005F_x")
    for char in ESCAPED_CONTROLS:
        body = body.replace(char, f"_x{ord(char):04X}_")
    return body


def xlsx_finish(text: bytes) -> bytes:
    """Rendered XLSX rows (UTF-8) with the marked text (``XlsxCells.text``) escaped in full.
    Control characters are single bytes in UTF-8, so bytes serve."""
    if b"\x02" not in text:
        return text
    return _MARKED.sub(lambda m: _careful(m.group(1).decode("utf-8")).encode("utf-8"), text)


def xlsx_text_cell(reference: str, text: str) -> str:
    """An inline-string cell in text format (style 3; 4 adds the quote prefix)."""
    style = "4" if text.startswith(FORMULA_START) else "3"
    return f'<c r="{reference}" s="{style}" t="inlineStr"><is>{xml_text_element(text)}</is></c>'


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --- Cells of a format -------------------------------------------------------------------------


class Cells:
    """The cells of one file format, in SQL; Python only for the other causes."""

    separator = ""
    row_start = ""
    row_end = ""
    line_separator = ""

    def __init__(self, dialect: Dialect, labels: dict[str, CodeList], *, masked: bool) -> None:
        self.dialect = dialect
        self.labels = labels
        self.masked = masked

    def sql(self, index: int, column: Column, expr: Sql) -> Sql:
        """The cell of ``column`` (the ``index``-th of its sheet) for the value ``expr``."""
        kind = column.kind
        d = self.dialect
        if self.masked and kind in (Kind.ID_NUMBER, Kind.PHONE):
            kept = (4, 4) if kind == Kind.ID_NUMBER else (3, 4)
            cell = self.text(index, d.mask(expr, *kept))
        elif kind == Kind.CODE:
            codes = self.labels[column.code_list].codes.values()
            whens = [(c.code, self.label(index, c.label_zh)) for c in codes]
            cell = case(expr, whens, self.text(index, expr))
        elif kind == Kind.YES_NO:
            cell = compose(
                "CASE WHEN {} THEN {} WHEN NOT {} THEN {} END",
                expr, self.label(index, YES), expr, self.label(index, NO),
            )  # fmt: skip
        elif kind in (Kind.MONEY, Kind.DECIMAL, Kind.YEAR, Kind.INTEGER):
            money = kind in (Kind.MONEY, Kind.DECIMAL)
            cell = self.number(index, d.money(expr) if money else d.text(expr), money=money)
        elif kind == Kind.DATE:
            cell = self.digits(index, d.date(expr))
        elif kind in DIGITS:
            cell = self.digits(index, expr)
        else:
            cell = self.text(index, expr)
        return cell

    def label(self, index: int, text: str) -> Sql:
        raise NotImplementedError

    def number(self, index: int, text: Sql, *, money: bool) -> Sql:
        raise NotImplementedError

    def digits(self, index: int, text: Sql) -> Sql:
        raise NotImplementedError

    def text(self, index: int, text: Sql) -> Sql:
        raise NotImplementedError

    def python_text(self, index: int, text: str) -> str:
        raise NotImplementedError

    def other_causes(self, index: int, column: Column) -> Callable[[Any], bytes]:
        """Stored other causes (JSON text) → their labels joined with 、, as a cell (UTF-8);
        cached, as households share few distinct lists."""
        causes = self.labels[column.code_list]
        cache: dict[Any, bytes] = {}

        def render(raw: Any) -> bytes:
            cell = cache.get(raw)
            if cell is None:
                codes = json.loads(raw) if isinstance(raw, str | bytes) else raw or []
                # The exchange format is always Chinese, whatever language is active.
                joined_labels = "、".join(
                    causes.codes[str(code)].label_zh if str(code) in causes.codes else str(code)
                    for code in codes
                )
                text = self.python_text(index, joined_labels) if joined_labels else ""
                cell = text.encode("utf-8")
                if isinstance(raw, str | bytes):
                    cache[raw] = cell
            return cell

        return render


class CsvCells(Cells):
    separator = ","
    line_separator = CSV_LINE_END

    def label(self, index: int, text: str) -> Sql:
        return value(csv_text(text))

    def number(self, index: int, text: Sql, *, money: bool) -> Sql:
        return text

    def digits(self, index: int, text: Sql) -> Sql:
        return text

    def text(self, index: int, text: Sql) -> Sql:
        d = self.dialect
        prefixed = compose(
            "CASE WHEN {} THEN {} || {} ELSE {} END",
            _starts_with(text, CSV_QUOTED_START), value("'"), text, text,
        )  # fmt: skip
        needs_quotes = joined([d.contains(text, c) for c in (",", '"', "\n", "\r")], " OR ")
        return compose(
            "CASE WHEN {} THEN {} || replace({}, {}, {}) || {} ELSE {} END",
            needs_quotes, value('"'), prefixed, value('"'), value('""'), value('"'), prefixed,
        )  # fmt: skip

    def python_text(self, index: int, text: str) -> str:
        return csv_text(text)


class XlsxCells(Cells):
    row_start = XLSX_ROW_START
    row_end = "</row>"

    def __init__(
        self,
        dialect: Dialect,
        labels: dict[str, CodeList],
        *,
        masked: bool,
        string: Callable[[str], int],
    ) -> None:
        super().__init__(dialect, labels, masked=masked)
        self.string = string  # the workbook's shared string index

    def _ref(self, index: int) -> str:
        return f'<c r="{column_letter(index)}{ROW}"'

    def label(self, index: int, text: str) -> Sql:
        return value(f'{self._ref(index)} t="s"><v>{self.string(text)}</v></c>')

    def number(self, index: int, text: Sql, *, money: bool) -> Sql:
        head = self._ref(index) + (' s="2"><v>' if money else "><v>")
        return compose("{} || {} || {}", value(head), text, value("</v></c>"))

    def digits(self, index: int, text: Sql) -> Sql:
        head = self._ref(index) + ' s="3" t="inlineStr"><is><t>'
        return compose(
            "CASE WHEN {} <> '' THEN {} || {} || {} END",
            text, value(head), text, value("</t></is></c>"),
        )  # fmt: skip

    def text(self, index: int, text: Sql) -> Sql:
        d = self.dialect
        escaped = d.replace_all(text, [("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")])
        special = compose(
            "{} OR {} OR {} <> {}", d.has_control(text), d.contains(text, "_x"), text, d.trim(text)
        )  # fmt: skip
        ref = self._ref(index)
        style = compose(
            "CASE WHEN {} THEN {} ELSE {} END",
            _starts_with(text, FORMULA_START),
            value(ref + ' s="4" t="inlineStr"><is>'),
            value(ref + ' s="3" t="inlineStr"><is>'),
        )
        # Rare text that needs more than &<> escaped is marked for xlsx_finish.
        return compose(
            "CASE WHEN {} = '' THEN NULL"
            " WHEN {} THEN {} || {} || {} || {}"
            " ELSE {} || {} || {} || {} END",
            text,
            special, style, value(_MARK_START), escaped, value(_MARK_END),
            style, value("<t>"), escaped, value("</t></is></c>"),
        )  # fmt: skip

    def python_text(self, index: int, text: str) -> str:
        return f'{self._ref(index)} t="s"><v>{self.string(text)}</v></c>'
