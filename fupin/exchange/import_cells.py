"""Cells of an imported sheet, normalised and typed column by column with polars expressions
(exchange-format §1–§4, §6; the reader's decisions are in docs/import.md, "Reading packages").

The package reader (``package``) hands over each sheet as text: one ``pl.String`` column per
column key the file has, plus ``_row`` (the row number Excel shows). ``type_sheet`` then, for
the whole sheet at once:

- trims each cell and turns full-width digits, letters and punctuation into half-width ones
  (full-width punctuation stays in names: it is part of them);
- drops rows that hold nothing (a formatted but empty Excel row, a CSV line of commas);
- parses each column by its ``Kind`` into the types ``parsed.py`` promises, null where the cell
  is empty or wrong;
- reports each wrong cell once, with the codes of §6, and for members the sex and birth date
  that disagree with the id number.

Nothing here loops over rows in Python: every rule is a polars expression, so a million people
type in a few seconds. Id numbers are checked with the same rules as
``fupin.registry.idnumbers.parse_id_number`` (the tests hold the two together).
"""

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.utils import timezone

from fupin.core.code_lists import CodeList, code_lists
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, MEMBER_COLUMNS, Column, Kind
from fupin.exchange.import_issues import Issue

# A cell the container reader has reported already (a formula, a merged range): it is typed
# as empty and gets no second error. XML cannot hold NUL; a CSV cell would have to be exactly
# this text, NULs included.
FLAGGED = "\x00flagged\x00"
ROW = "_row"
# Excel's own limit for the text of one cell; longer text is ``too_long`` in every column.
EXCEL_MAX_CHARS = 32_767
# The offending value in an issue is cut to this many characters.
VALUE_MAX_CHARS = 50
# Errors kept per sheet (all of them up to here, then one ``too_many_errors``): docs/import.md.
MAX_ERRORS_PER_SHEET = 100_000
SLICE_ROWS = 100_000  # rows typed at a time
# Kinds whose values are personal data: never copied into an issue (exchange-format §4, §6).
PERSONAL_KINDS = frozenset({Kind.TEXT, Kind.ID_NUMBER, Kind.PHONE, Kind.DATE})
# Largest amounts the registry stores (registry.models: decimal(12, 2) and decimal(8, 2)), in fen.
MONEY_MAX_FEN = 10**12 - 1
DECIMAL_MAX_FEN = 10**8 - 1
YEAR_MINIMUM = 1900  # for a year column without its own minimum (脱贫年度)
INTEGER_DIGITS = 9  # more digits than this is out of range for every integer column
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 = 1900-01-01, after Excel's 1900-02-29 (60)
EXCEL_EPOCH_1904 = dt.date(1904, 1, 1)
EXCEL_MAX_SERIAL = 2_958_465  # 9999-12-31
ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
ID_CHECK = "10X98765432"

# Whitespace trimmed from each cell: Unicode spaces Excel users meet (ideographic space,
# no-break space) and a stray byte order mark or zero-width space.
_SPACES = " \t\n\r\x0b\x0c\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
_FULL_ALNUM = [chr(c) for c in range(0xFF10, 0xFF1A)] + [
    chr(c) for c in (*range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
]
_FULL_PUNCT = [
    chr(c)
    for c in range(0xFF01, 0xFF5F)
    if not (0xFF10 <= c < 0xFF1A or 0xFF21 <= c < 0xFF3B or 0xFF41 <= c < 0xFF5B)
]


def half_width(char: str) -> str:
    return chr(ord(char) - 0xFEE0)


_ALNUM_FROM = _FULL_ALNUM
_ALNUM_TO = [half_width(c) for c in _FULL_ALNUM]
_ALL_FROM = [*_FULL_ALNUM, *_FULL_PUNCT, "\u3000"]
_ALL_TO = [*_ALNUM_TO, *(half_width(c) for c in _FULL_PUNCT), " "]
_FULL_WIDTH_ANY = "[\uff01-\uff5e\u3000]"
_FULL_WIDTH_ALNUM = "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]"
# What makes a column need more than Unicode trimming (strip_chars strips the White_Space
# characters, among them U+3000 and U+00A0, but not U+FEFF and U+200B).
_SPECIAL = "[\uff01-\uff5e\u3000\ufeff\u200b]"

YES_NO = {"是": True, "否": False}
CODES_SEPARATORS = "[,;、]"  # after half-width: 、 , ; ，(→,) ；(→;)
MAX_OTHER_CODES = 2


@dataclass(frozen=True)
class CellRules:
    """What typing needs besides the cells: the code lists' accepted texts, and today."""

    codes: Mapping[str, Mapping[str, str]]  # list key → accepted text → internal code
    today: dt.date
    # Lists whose labels are Latin letters (housing grade A–D): matched in any case.
    folded: frozenset[str] = frozenset()

    @property
    def year(self) -> int:
        return self.today.year


def code_texts(code_list: CodeList) -> dict[str, str]:
    """The texts a file may use for each value of ``code_list``: its Chinese label, its code and
    its aliases (缺劳力, 其它); ASCII ones also in lower case (``a`` for housing grade A). Values no
    longer valid are accepted too: whether a value fits the survey year is not a cell rule."""
    texts: dict[str, str] = {}
    for code in code_list.codes.values():
        for text in (code.label_zh, code.code, *code.aliases):
            texts.setdefault(text, code.code)
    for text, internal in list(texts.items()):
        if text.isascii():
            texts.setdefault(text.lower(), internal)
    return texts


def cell_rules(
    lists: Mapping[str, CodeList] | None = None, *, today: dt.date | None = None
) -> CellRules:
    """The rules for both sheets, the code lists read in one query unless given."""
    keys = sorted({c.code_list for c in (*HOUSEHOLD_COLUMNS, *MEMBER_COLUMNS) if c.code_list})
    if lists is None:
        lists = code_lists(*keys)
    return CellRules(
        codes={key: code_texts(lists[key]) for key in keys},
        today=today or timezone.localdate(),
        folded=frozenset(
            key for key in keys if all(c.label_zh.isascii() for c in lists[key].codes.values())
        ),
    )


# --- Normalisation -----------------------------------------------------------------------------


def normalise(expr: pl.Expr, *, punctuation: bool = True, plain: bool = False) -> pl.Expr:
    """Trimmed text with full-width characters made half-width; null when empty.

    Without ``punctuation`` only digits and letters change (names keep their （）·). With
    ``plain`` the column is known to hold no full-width character, byte order mark or
    zero-width space (``plain_columns``), and is only trimmed.
    """
    if plain:
        text = expr.str.strip_chars()
        return pl.when(text != "").then(text)
    pattern, old, new = (
        (_FULL_WIDTH_ANY, _ALL_FROM, _ALL_TO)
        if punctuation
        else (_FULL_WIDTH_ALNUM, _ALNUM_FROM, _ALNUM_TO)
    )
    # Only the cells that hold a full-width character are rewritten (the others are null
    # there, which string kernels skip).
    wide = pl.when(expr.str.contains(pattern)).then(expr)
    text = pl.coalesce(wide.str.replace_many(old, new), expr).str.strip_chars(_SPACES)
    return pl.when(text != "").then(text)


def plain_columns(frame: pl.DataFrame, names: Sequence[str]) -> set[str]:
    """The columns without a full-width character, a byte order mark or a zero-width space:
    most columns of most files, which then are only trimmed (``normalise``)."""
    if not names or frame.is_empty():
        return set(names)
    special = frame.select(pl.col(n).str.contains(_SPECIAL).any() for n in names).row(0)
    return {n for n, found in zip(names, special, strict=True) if not found}


def normalise_text(value: str, *, punctuation: bool = True) -> str:
    """``normalise`` for one Python string (headers, sheet names); "" when empty."""
    table = dict(
        zip(
            _ALL_FROM if punctuation else _ALNUM_FROM,
            _ALL_TO if punctuation else _ALNUM_TO,
            strict=True,
        )
    )
    return "".join(table.get(c, c) for c in value).strip(_SPACES)


def header_key(text: str, lookup: Mapping[str, Column]) -> Column | None:
    """The column a header cell names: its Chinese name or key, trimmed, half-width, any case."""
    name = normalise_text(text)
    return lookup.get(name) or lookup.get(name.lower())


# --- One column --------------------------------------------------------------------------------
#
# Each rule is a few steps of polars expressions over named columns: ``text`` is the column of
# the cell's normalised text (null when empty or already reported); a step may add helper
# columns (named with ``part``) that later steps read. Materialising them keeps each piece
# computed once (eager polars does not share common sub-expressions inside when/then chains).
# The last step defines ``value`` and ``error`` (the §6 code, null when the cell is right).


@dataclass(frozen=True)
class Rule:
    key: str  # the column key the rule types

    @property
    def text(self) -> pl.Expr:
        # A flagged cell (FLAGGED) is typed like any text; its error and value are dropped.
        return pl.col(self.key)

    def part(self, name: str) -> str:
        return f"_{name}_{self.key}"

    def col(self, name: str) -> pl.Expr:
        return pl.col(self.part(name))

    @property
    def value_name(self) -> str:
        return f"_val_{self.key}"

    @property
    def error_name(self) -> str:
        return f"_err_{self.key}"


Steps = list[list[pl.Expr]]


def _first_error(checks: Sequence[tuple[pl.Expr, str]]) -> pl.Expr:
    """The code of the first check that holds, else null."""
    condition, code = checks[0]
    chain: Any = pl.when(condition).then(pl.lit(code))
    for condition, code in checks[1:]:
        chain = chain.when(condition).then(pl.lit(code))
    result: pl.Expr = chain.otherwise(pl.lit(None, dtype=pl.String))
    return result


def _final(rule: Rule, value: pl.Expr, checks: Sequence[tuple[pl.Expr, str]]) -> list[pl.Expr]:
    return [value.alias(rule.value_name), _first_error(checks).alias(rule.error_name)]


def _text(rule: Rule, column: Column, _rules: CellRules) -> Steps:
    limit = column.max_length or EXCEL_MAX_CHARS
    return [_final(rule, rule.text, [(rule.text.str.len_chars() > limit, "too_long")])]


def _household_no(rule: Rule, column: Column, _rules: CellRules) -> Steps:
    text = rule.text
    return [
        _final(
            rule,
            text,
            [
                (text.str.len_chars() > (column.max_length or 32), "too_long"),
                (~text.str.contains(r"^[0-9A-Za-z-]+$"), "bad_format"),
            ],
        )
    ]


MOBILE = r"1[3-9][0-9]{9}"
LANDLINE = r"0[0-9]{2,3}-[0-9]{7,8}"
PATTERNS = {Kind.DIVISION: r"^[0-9]{12}$", Kind.PHONE: f"^(?:{MOBILE}|{LANDLINE})$"}


def _pattern(rule: Rule, column: Column, _rules: CellRules) -> Steps:
    return [
        _final(rule, rule.text, [(~rule.text.str.contains(PATTERNS[column.kind]), "bad_format")])
    ]


def _integer(rule: Rule, column: Column, rules: CellRules) -> Steps:
    """Whole numbers; ``12.0`` is 12 (a number a spreadsheet saved with its decimals).

    Plain integers are cast at once; only the others are looked at more closely."""
    if column.kind == Kind.YEAR:
        low, high = column.minimum or YEAR_MINIMUM, column.maximum or rules.year
    else:
        low = column.minimum if column.minimum is not None else -(10**INTEGER_DIGITS)
        high = column.maximum if column.maximum is not None else 10**INTEGER_DIGITS
    fast, other = rule.col("fast"), rule.col("other")
    parts = other.str.split_exact(".", 1)
    whole, fraction = rule.col("whole"), rule.col("fraction")
    well_formed = whole.str.contains(r"^[+-]?[0-9]+$") & (
        fraction.is_null() | fraction.str.contains(r"^0*$")
    )
    short = whole.str.len_chars() <= INTEGER_DIGITS + 1
    number = rule.col("number")
    ok = fast.is_not_null() | rule.col("ok")
    return [
        [rule.text.cast(pl.Int64, strict=False).alias(rule.part("fast"))],
        [pl.when(fast.is_null()).then(rule.text).alias(rule.part("other"))],
        [
            parts.struct.field("field_0").alias(rule.part("whole")),
            parts.struct.field("field_1").alias(rule.part("fraction")),
        ],
        [
            pl.coalesce(
                fast, pl.when(short & well_formed).then(whole.cast(pl.Int64, strict=False))
            ).alias(rule.part("number")),
            well_formed.fill_null(False).alias(rule.part("ok")),
        ],
        _final(
            rule,
            pl.when(ok).then(number),
            [
                (~ok, "bad_format"),
                (number.is_null() | (number < low) | (number > high), "out_of_range"),
            ],
        ),
    ]


def _amount(rule: Rule, column: Column, _rules: CellRules) -> Steps:
    """Yuan (or mu) ≥ 0 with at most 2 decimals (more only when they are zeros), in fen.
    Thousands separators (``1,234.50``) are accepted as Excel writes them.

    The usual ``1013.5`` is converted at once (exact: at most 15 digits, rounded to the fen);
    only the others are taken apart."""
    text = rule.text
    fast = rule.col("fast")
    other = rule.col("other")
    grouped = other.str.contains(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")
    plain = pl.when(grouped).then(other.str.replace_all(",", "", literal=True)).otherwise(other)
    sign, unsigned = rule.col("sign"), rule.col("unsigned")
    whole, fraction = rule.col("whole"), rule.col("fraction")
    fen = rule.col("fen")
    limit = MONEY_MAX_FEN if column.kind == Kind.MONEY else DECIMAL_MAX_FEN
    exact = fast.is_not_null() | rule.col("exact")
    too_big = rule.col("long").fill_null(False) | (fen > limit)
    return [
        [
            pl.when(text.str.contains(r"^[0-9]{1,13}(\.[0-9]{1,2})?$"))
            .then((text.cast(pl.Float64, strict=False) * 100).round().cast(pl.Int64))
            .alias(rule.part("fast"))
        ],
        [pl.when(fast.is_null()).then(text).alias(rule.part("other"))],
        [
            plain.str.slice(0, 1).alias(rule.part("sign")),
            pl.when(plain.str.contains("^[+-]"))
            .then(plain.str.slice(1))
            .otherwise(plain)
            .alias(rule.part("unsigned")),
        ],
        [
            (unsigned.str.contains(r"^[0-9]*\.?[0-9]*$") & (unsigned != ".")).alias(
                rule.part("ok")
            ),
            unsigned.str.split_exact(".", 1).struct.field("field_0").alias(rule.part("whole")),
            unsigned.str.split_exact(".", 1)
            .struct.field("field_1")
            .fill_null("")
            .alias(rule.part("fraction")),
        ],
        [
            (rule.col("ok") & fraction.str.slice(2).str.contains(r"^0*$"))
            .fill_null(False)
            .alias(rule.part("exact")),
            (whole.str.strip_chars_start("0").str.len_chars() > 13).alias(rule.part("long")),
            pl.coalesce(
                fast,
                pl.when(whole == "").then(pl.lit("0")).otherwise(whole).cast(pl.Int64, strict=False)
                * 100
                + fraction.str.pad_end(2, "0").str.slice(0, 2).cast(pl.Int64, strict=False),
            ).alias(rule.part("fen")),
        ],
        _final(
            rule,
            pl.when(exact & ~too_big).then(fen),
            [
                (~exact, "bad_format"),
                (too_big | ((sign == "-") & (fen != 0)).fill_null(False), "out_of_range"),
            ],
        ),
    ]


# YYYY-MM-DD, YYYY/M/D, YYYY.M.D (with an optional midnight time, as some programs write
# dates), YYYYMMDD and YYYY年M月D日; the month and day in groups 2–3, 4–5 or 6–7.
DATE_PATTERN = (
    r"^([0-9]{4})(?:[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})(?:[ T]0{1,2}:00(?::00(?:\.0+)?)?)?"
    r"|([0-9]{2})([0-9]{2})|年([0-9]{1,2})月([0-9]{1,2})日)$"
)
SERIAL_PATTERN = r"^[0-9]{1,7}(?:\.[0-9]+)?$"


def excel_serial_date(serial: pl.Expr, *, date1904: bool = False) -> pl.Expr:
    """An Excel date serial (a number of days; the time of day dropped) as a date; null for 0,
    Excel's non-existent 1900-02-29 (60) and serials past 9999-12-31."""
    days = serial.floor().cast(pl.Int64, strict=False)
    if date1904:
        return pl.when(days.is_between(0, EXCEL_MAX_SERIAL - 1462)).then(
            pl.lit(EXCEL_EPOCH_1904) + pl.duration(days=days)
        )
    return (
        pl.when(days.is_between(61, EXCEL_MAX_SERIAL))
        .then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days))
        .when(days.is_between(1, 59))
        .then(pl.lit(EXCEL_EPOCH) + pl.duration(days=days + 1))
    )


def _date(rule: Rule, _column: Column, rules: CellRules) -> Steps:
    """YYYY-MM-DD, YYYY/M/D, YYYYMMDD (also YYYY.M.D and YYYY年M月D日), or an Excel date serial
    (a date cell the reader could not see as one, e.g. in a CSV file saved from Excel).

    YYYY-MM-DD is parsed at once; only the other cells go through the patterns."""
    text = rule.text
    fast, other = rule.col("fast"), rule.col("other")
    groups = rule.col("groups")
    field = groups.struct.field
    iso = pl.concat_str(
        field("1"),
        pl.lit("-"),
        pl.coalesce(field("2"), field("4"), field("6")),
        pl.lit("-"),
        pl.coalesce(field("3"), field("5"), field("7")),
    )
    found = rule.col("date")
    matched = field("1").is_not_null()
    serial = other.str.contains(SERIAL_PATTERN)
    in_range = found.is_between(pl.lit(dt.date(1900, 1, 1)), pl.lit(rules.today))
    return [
        [
            pl.when(text.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
            .then(text.str.to_date("%Y-%m-%d", strict=False))
            .alias(rule.part("fast"))
        ],
        [pl.when(fast.is_null()).then(text).alias(rule.part("other"))],
        [other.str.extract_groups(DATE_PATTERN).alias(rule.part("groups"))],
        [
            pl.coalesce(
                fast,
                pl.when(matched)
                .then(iso.str.to_date("%Y-%m-%d", strict=False))
                .when(serial)
                .then(excel_serial_date(other.cast(pl.Float64, strict=False))),
            ).alias(rule.part("date"))
        ],
        _final(
            rule,
            pl.when(in_range).then(found),
            [(found.is_null(), "bad_format"), (~in_range, "out_of_range")],
        ),
    ]


def lookup_code(text: pl.Expr, texts: Mapping[str, str], *, fold: bool = False) -> pl.Expr:
    """The internal code a text stands for, null when none; with ``fold`` in any case."""
    if fold:
        text = text.str.to_lowercase()
    return text.replace_strict(dict(texts), default=None, return_dtype=pl.String)


def _code(rule: Rule, column: Column, rules: CellRules) -> Steps:
    code = rule.col("code")
    fold = column.code_list in rules.folded
    return [
        [lookup_code(rule.text, rules.codes[column.code_list], fold=fold).alias(rule.part("code"))],
        _final(rule, code, [(code.is_null(), "bad_code")]),
    ]


def _codes(rule: Rule, column: Column, rules: CellRules) -> Steps:
    """Up to two values separated by 、 , ; (or their full-width forms); empty pieces (a trailing
    separator) are dropped and repeats count once."""
    texts = rules.codes[column.code_list]
    piece = pl.element().str.strip_chars(_SPACES)
    items = (
        rule.text.str.replace_all(CODES_SEPARATORS, "、")
        .str.split("、")
        .list.eval(piece.filter(piece != ""))
    )
    # An unknown piece becomes NUL, which no code is.
    fold = column.code_list in rules.folded
    codes = items.list.eval(lookup_code(pl.element(), texts, fold=fold).fill_null("\x00"))
    unique = rule.col("unique")
    bad = rule.col("bad")
    return [
        [codes.alias(rule.part("codes"))],
        [
            rule.col("codes").list.contains("\x00").alias(rule.part("bad")),
            rule.col("codes").list.unique(maintain_order=True).alias(rule.part("unique")),
        ],
        _final(
            rule,
            pl.when(~bad & (unique.list.len() <= MAX_OTHER_CODES)).then(unique),
            [(bad, "bad_code"), (unique.list.len() > MAX_OTHER_CODES, "bad_format")],
        ),
    ]


def _yes_no(rule: Rule, _column: Column, _rules: CellRules) -> Steps:
    value = rule.col("yes")
    return [
        [
            rule.text.replace_strict(YES_NO, default=None, return_dtype=pl.Boolean).alias(
                rule.part("yes")
            )
        ],
        _final(rule, value, [(value.is_null(), "bad_code")]),
    ]


ID_SHAPE = r"^[0-9]{17}[0-9X](?:[1-7][1-4])?$"


def person_column(column: Column) -> str:
    """The name of the 18-character person key column of an id number column (parsed.py)."""
    return "person_key" if column.key == "id_number" else f"{column.key}_person"


def _id_number(rule: Rule, column: Column, rules: CellRules) -> Steps:
    """Exchange-format §4 as ``fupin.registry.idnumbers.parse_id_number`` checks it: shape,
    birth date (1900 to today), then the ISO 7064 MOD 11-2 check character. Adds the person key
    and, for the member checks, the birth date and sex the number encodes."""
    upper = rule.col("upper")
    shaped = rule.col("shaped")
    birth = rule.col("birth")
    total = pl.sum_horizontal(
        upper.str.slice(i, 1).cast(pl.Int64, strict=False) * weight
        for i, weight in enumerate(ID_WEIGHTS)
    )
    check = (total % 11).replace_strict(
        dict(enumerate(ID_CHECK)), default=None, return_dtype=pl.String
    )
    invalid = (
        ~shaped
        | birth.is_null()
        | ~birth.is_between(pl.lit(dt.date(1900, 1, 1)), pl.lit(rules.today))
    )
    error = rule.col("error")
    good = error.is_null()
    return [
        [rule.text.str.to_uppercase().alias(rule.part("upper"))],
        [upper.str.contains(ID_SHAPE).alias(rule.part("shaped"))],
        [
            pl.when(shaped)
            .then(upper.str.slice(6, 8).str.to_date("%Y%m%d", strict=False))
            .alias(rule.part("birth")),
            pl.when(shaped).then(check == upper.str.slice(17, 1)).alias(rule.part("check")),
        ],
        [
            _first_error([(invalid, "id_invalid"), (~rule.col("check"), "id_checksum")]).alias(
                rule.part("error")
            )
        ],
        [
            upper.alias(rule.value_name),
            error.alias(rule.error_name),
            pl.when(good).then(upper.str.slice(0, 18)).alias(person_column(column)),
            pl.when(good).then(birth).alias(f"_birth_{column.key}"),
            pl.when(good)
            .then(
                pl.when(upper.str.slice(16, 1).cast(pl.Int64, strict=False) % 2 == 1)
                .then(pl.lit("male"))
                .otherwise(pl.lit("female"))
            )
            .alias(f"_sex_{column.key}"),
        ],
    ]


_RULES: dict[Kind, Callable[[Rule, Column, CellRules], Steps]] = {
    Kind.TEXT: _text,
    Kind.HOUSEHOLD_NO: _household_no,
    Kind.DIVISION: _pattern,
    Kind.PHONE: _pattern,
    Kind.INTEGER: _integer,
    Kind.YEAR: _integer,
    Kind.MONEY: _amount,
    Kind.DECIMAL: _amount,
    Kind.DATE: _date,
    Kind.CODE: _code,
    Kind.CODES: _codes,
    Kind.YES_NO: _yes_no,
    Kind.ID_NUMBER: _id_number,
}


def column_steps(column: Column, rules: CellRules) -> Steps:
    """The steps typing one column (see above)."""
    return _RULES[column.kind](Rule(column.key), column, rules)


def type_values(column: Column, texts: Sequence[str | None], rules: CellRules) -> pl.DataFrame:
    """``value`` and ``error`` of each text for ``column``, as ``type_sheet`` finds them
    (for tests and single values: texts are normalised first, nothing is dropped)."""
    frame = pl.DataFrame(
        {ROW: range(2, len(texts) + 2), column.key: pl.Series(texts, dtype=pl.String)}
    )
    typed = _type_frame(frame, [column], rules, keep_empty=True)
    return typed.select(
        pl.col(f"_val_{column.key}").alias("value"), pl.col(f"_err_{column.key}").alias("error")
    )


def dtype_of(column: Column) -> pl.DataType:
    kind = column.kind
    if kind == Kind.CODES:
        return pl.List(pl.String)
    if kind == Kind.YES_NO:
        return pl.Boolean()
    if kind in (Kind.INTEGER, Kind.YEAR, Kind.MONEY, Kind.DECIMAL):
        return pl.Int64()
    if kind == Kind.DATE:
        return pl.Date()
    return pl.String()


# --- A whole sheet -----------------------------------------------------------------------------


@dataclass
class TypedSheet:
    rows: pl.DataFrame  # as parsed.ParsedSheet.rows
    errors: list[Issue]


def type_sheet(
    raw: pl.DataFrame,
    *,
    sheet: str,
    columns: Sequence[Column],
    rules: CellRules,
    max_errors: int | None = None,
) -> TypedSheet:
    """Type the cells of one sheet (see the module docstring).

    ``raw`` holds ``_row`` and a ``pl.String`` column per column key the file has (cells as
    the container gave them; ``FLAGGED`` for a cell already reported). The result has every
    column of ``columns`` (null where absent), ``_row`` and the person key columns.
    """
    present = [c for c in columns if c.key in raw.columns]
    values = [pl.col(ROW)]
    for column in columns:
        if column in present:
            values.append(pl.col(f"_val_{column.key}").alias(column.key))
        elif column.kind == Kind.CODES:
            values.append(pl.lit([], dtype=pl.List(pl.String)).alias(column.key))
        else:
            values.append(pl.lit(None, dtype=dtype_of(column)).alias(column.key))
        if column.kind == Kind.ID_NUMBER:
            name = person_column(column)
            values.append(
                pl.col(name) if column in present else pl.lit(None, dtype=pl.String).alias(name)
            )
    # In slices, so that the helper columns of only one slice are in memory at a time.
    typed: list[pl.DataFrame] = []
    found: list[pl.DataFrame] = []
    for offset in range(0, max(raw.height, 1), SLICE_ROWS):
        frame = _type_frame(raw.slice(offset, SLICE_ROWS), present, rules)
        found.append(_error_frame(frame, columns=columns, present=present))
        typed.append(frame.select(values))
        del frame
    limit = MAX_ERRORS_PER_SHEET if max_errors is None else max_errors
    errors = _issues(pl.concat(found), sheet=sheet, max_errors=limit)
    return TypedSheet(pl.concat(typed), errors)


def _type_frame(
    raw: pl.DataFrame, present: Sequence[Column], rules: CellRules, *, keep_empty: bool = False
) -> pl.DataFrame:
    """``_row``, the normalised text of each present column under its key, and its
    ``_val_<key>`` and ``_err_<key>`` (plus the id numbers' extra columns)."""
    plain = plain_columns(raw, [c.key for c in present])
    texts = raw.select(
        pl.col(ROW).cast(pl.Int64),
        *(
            pl.when(pl.col(c.key) == FLAGGED)
            .then(pl.lit(FLAGGED))
            .otherwise(
                normalise(pl.col(c.key), punctuation=c.kind != Kind.TEXT, plain=c.key in plain)
            )
            .alias(c.key)
            for c in present
        ),
    )
    if present and not keep_empty:
        texts = texts.filter(pl.any_horizontal(pl.col(c.key).is_not_null() for c in present))
    frame = texts
    steps = [column_steps(c, rules) for c in present]
    for depth in range(max((len(s) for s in steps), default=0)):
        frame = frame.with_columns(e for s in steps if depth < len(s) for e in s[depth])
    kept = {ROW, *(c.key for c in present)}
    kept |= {f"_{part}_{c.key}" for c in present for part in ("val", "err", "birth", "sex")}
    kept |= {person_column(c) for c in present if c.kind == Kind.ID_NUMBER}
    frame = frame.select(c for c in frame.columns if c in kept)
    shared: list[pl.Expr] = []
    for column in present:
        cell = pl.col(column.key)
        flagged = cell == FLAGGED
        error = (
            pl.when(flagged)
            .then(pl.lit(None, dtype=pl.String))
            .when(cell.is_null())
            .then(pl.lit("required" if column.required else None, dtype=pl.String))
            .when(
                pl.when(cell.str.len_bytes() > EXCEL_MAX_CHARS).then(cell).str.len_chars()
                > EXCEL_MAX_CHARS
            )
            .then(pl.lit("too_long"))
            .otherwise(pl.col(f"_err_{column.key}"))
        )
        shared.append(error.alias(f"_err_{column.key}"))
    frame = frame.with_columns(shared)
    finals: list[pl.Expr] = []
    for column in present:
        cell = pl.col(column.key)
        value: pl.Expr = pl.when(pl.col(f"_err_{column.key}").is_null() & (cell != FLAGGED)).then(
            pl.col(f"_val_{column.key}")
        )
        if column.kind == Kind.CODES:
            value = (
                pl.when(cell.is_null()).then(pl.lit([], dtype=pl.List(pl.String))).otherwise(value)
            )
        finals.append(value.cast(dtype_of(column)).alias(f"_val_{column.key}"))
    frame = frame.with_columns(finals)
    return frame.with_columns(_member_mismatches(present))


def _member_mismatches(present: Sequence[Column]) -> list[pl.Expr]:
    """性别 and 出生日期 against the id number (when all three are right): cell errors of 性别 and
    出生日期, the values kept (which of the two is wrong is for the person to say)."""
    keys = {c.key for c in present}
    out = []
    if {"id_number", "sex"} <= keys:
        wrong = (pl.col("_sex_id_number") != pl.col("_val_sex")).fill_null(False)
        out.append(
            pl.when(wrong)
            .then(pl.lit("id_sex_mismatch"))
            .otherwise(pl.col("_err_sex"))
            .alias("_err_sex")
        )
    if {"id_number", "birth_date"} <= keys:
        wrong = (pl.col("_birth_id_number") != pl.col("_val_birth_date")).fill_null(False)
        out.append(
            pl.when(wrong)
            .then(pl.lit("id_birth_mismatch"))
            .otherwise(pl.col("_err_birth_date"))
            .alias("_err_birth_date")
        )
    return out


def issue_value(text: pl.Expr, column: Column) -> pl.Expr:
    """The offending value as an issue shows it: cut short, never personal data."""
    if column.kind in PERSONAL_KINDS:
        return pl.lit("")
    return (
        pl.when(text == FLAGGED).then(pl.lit("")).otherwise(text.str.slice(0, VALUE_MAX_CHARS))
    ).fill_null("")


def _error_frame(
    frame: pl.DataFrame, *, columns: Sequence[Column], present: Sequence[Column]
) -> pl.DataFrame:
    """One row per wrong cell: row, column order, column, code, value, household number."""
    order = {c.key: i for i, c in enumerate(columns)}
    keys = {c.key for c in present}
    household_no = (
        pl.col("household_no").str.slice(0, 64).fill_null("")
        if "household_no" in keys
        else pl.lit("")
    )
    parts = [
        pl.DataFrame(
            schema={
                ROW: pl.Int64,
                "_col": pl.Int64,
                "column": pl.String,
                "code": pl.String,
                "value": pl.String,
                "household_no": pl.String,
            }
        )
    ]
    parts += [
        frame.filter(pl.col(f"_err_{c.key}").is_not_null()).select(
            pl.col(ROW),
            pl.lit(order[c.key], dtype=pl.Int64).alias("_col"),
            pl.lit(c.zh).alias("column"),
            pl.col(f"_err_{c.key}").alias("code"),
            issue_value(pl.col(c.key), c).alias("value"),
            household_no.alias("household_no"),
        )
        for c in present
    ]
    return pl.concat(parts)


def _issues(found: pl.DataFrame, *, sheet: str, max_errors: int) -> list[Issue]:
    """The cell errors in row and column order, at most ``max_errors`` of them, then one
    ``too_many_errors`` saying how many there were."""
    found = found.sort(ROW, "_col")
    issues = [
        Issue(sheet, row, column, code, value, household_no=hh)
        for row, _col, column, code, value, hh in found.head(max_errors).iter_rows()
    ]
    if found.height > max_errors:
        last = issues[-1].row if issues else 0
        issues.append(Issue(sheet, last, "", "too_many_errors", detail=f"{found.height:,}"))
    return issues
